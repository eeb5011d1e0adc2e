/* distribute.c: a run's paths over ranks, and back to rank 0 (distribute.h). */
#include "distribute.h"

#include <stdlib.h>
#include <string.h>

void cas_split_paths(uint64_t paths, uint64_t unit, int size, uint64_t *first) {
  uint64_t units = (paths + unit - 1) / unit, each = units / (uint64_t)size,
           extra = units % (uint64_t)size;
  /* the lower ranks take one unit more: rank 0 always has paths to run */
  uint64_t u = 0;
  for (int k = 0; k < size; k++) {
    first[k] = u * unit < paths ? u * unit : paths;
    u += each + ((uint64_t)k < extra);
  }
  first[size] = paths;
}

typedef struct gather_ctx {
  const cas_comm *c;
  const uint64_t *first;
} gather_ctx;

static void gather_rows(void *ctx, void *array, size_t row_bytes) {
  const gather_ctx *g = ctx;
  cas_comm_gather(g->c, array, row_bytes, g->first);
}

/* One row per rank of an exact integer sum by segment: the ranks' own
 * threads folded into row 0 first. */
static cas_status gather_sums(cas_segment_sums *sm, const cas_comm *c, size_t nseg, cas_error *err) {
  int size = cas_comm_size(c);
  uint64_t *d = calloc((size_t)size * (nseg ? nseg : 1), sizeof *d);
  unsigned __int128 *q = calloc((size_t)size * (nseg ? nseg : 1), sizeof *q);
  if (!d || !q) {
    free(d);
    free(q);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (sums by segment)");
  }
  for (int t = 0; sm->defaults && t < sm->threads; t++)
    for (size_t s = 0; s < nseg; s++) {
      d[s] += sm->defaults[(size_t)t * nseg + s];
      q[s] += sm->defaults_sq[(size_t)t * nseg + s];
    }
  uint64_t *by_rank = malloc(((size_t)size + 1) * sizeof *by_rank);
  if (!by_rank) {
    free(d);
    free(q);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (sums by segment)");
  }
  for (int k = 0; k <= size; k++) by_rank[k] = (uint64_t)k;
  /* on a rank k > 0 its row is row 0 of its buffer, as cas_comm_gather wants */
  cas_comm_gather(c, d, nseg * sizeof *d, by_rank);
  cas_comm_gather(c, q, nseg * sizeof *q, by_rank);
  free(by_rank);
  free(sm->defaults);
  free(sm->defaults_sq);
  sm->defaults = d;
  sm->defaults_sq = q;
  sm->threads = cas_comm_rank(c) == 0 ? size : 1;
  return CAS_OK;
}

cas_status cas_results_gather(cas_results *res, const cas_comm *c, const uint64_t *first,
                              cas_error *err) {
  int size = cas_comm_size(c);
  if (size <= 1) return CAS_OK;
  gather_ctx g = {c, first};
  cas_results_each_row_array(res, gather_rows, &g);
  if (!res->store_segments) {
    cas_segment_sums *sm = &res->sums;
    size_t nseg = (size_t)res->nsegments;
    uint64_t *chunk_first = malloc(((size_t)size + 1) * sizeof *chunk_first);
    if (!chunk_first) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (sums by segment)");
    /* slices start on chunk boundaries; the last chunk may be partial */
    for (int k = 0; k <= size; k++)
      chunk_first[k] = (first[k] + sm->chunk_paths - 1) / sm->chunk_paths;
    double *chunked[] = {sm->loss_chunk, sm->contagion_chunk, sm->wrate_chunk, sm->wrate2_chunk};
    for (size_t i = 0; i < sizeof chunked / sizeof *chunked; i++)
      if (chunked[i] && nseg) cas_comm_gather(c, chunked[i], nseg * sizeof(double), chunk_first);
    free(chunk_first);
    if (nseg) {
      cas_status st = gather_sums(sm, c, nseg, err);
      if (st != CAS_OK) return st;
    }
  }
  if (cas_comm_rank(c) == 0) res->rows_run = first[size];
  return CAS_OK;
}

cas_status cas_plan_fingerprint(const cas_plan *plan, char hex[CAS_SHA256_HEX], cas_error *err) {
  cas_sha256 s;
  cas_sha256_init(&s);
  uint64_t head[4] = {plan->n, plan->seed, plan->paths, (uint64_t)plan->years};
  cas_sha256_update(&s, head, sizeof head);
  size_t nf = (size_t)plan->nfactors, nseg = (size_t)plan->nsegments;
  for (int t = 0; t < plan->years; t++) {
    const cas_plan *py = cas_plan_year(plan, t);
    cas_sha256_update(&s, py->loans, py->n * sizeof *py->loans);
    cas_sha256_update(&s, py->loan_index, py->n * sizeof *py->loan_index);
    cas_sha256_update(&s, py->chol, nf * nf * sizeof *py->chol);
    cas_sha256_update(&s, py->shift, nf * sizeof *py->shift);
    cas_sha256_update(&s, py->loading, nseg * nf * sizeof *py->loading);
    cas_sha256_update(&s, py->idio, nseg * sizeof *py->idio);
  }
  uint8_t d[CAS_SHA256_BYTES];
  if (cas_sha256_final(&s, d) != CAS_OK)
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (the plan's SHA-256)");
  cas_sha256_to_hex(d, hex);
  return CAS_OK;
}
