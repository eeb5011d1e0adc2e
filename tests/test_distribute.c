/*
 * test_distribute.c: a run's paths split over ranks (distribute.h), in one
 * process.
 *
 * The split covers the paths once, in order, at multiples of the driver's
 * unit, and rank 0 always has paths to run. A rank's slice of results
 * (cas_results_set_slice, limit_rows) holds, bit for bit, the rows and the
 * sums by chunk that the one-process run holds for the same paths: that is
 * what makes the gathered file identical to one process's (tests/mpi
 * checks the whole file under mpirun). Exact comparisons, no statistics.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "distribute.h"
#include "kernel.h"
#include "plan.h"
#include "portfolio.h"
#include "scenario.h"

Test(distribute, split_covers_the_paths_in_whole_units) {
  const uint64_t paths[] = {1, 7, 8, 100, 1001, 4096, 100003};
  const uint64_t units[] = {1, 8, 64, 1000};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
    for (size_t j = 0; j < sizeof units / sizeof *units; j++)
      for (int size = 1; size <= 9; size++) {
        uint64_t first[10];
        cas_split_paths(paths[i], units[j], size, first);
        uint64_t p = paths[i], u = units[j];
        cr_assert_eq(first[0], 0);
        cr_assert_eq(first[size], p);
        cr_assert_gt(first[1], 0, "rank 0 without paths (%llu paths, unit %llu, %d ranks)",
                     (unsigned long long)p, (unsigned long long)u, size);
        uint64_t lo = UINT64_MAX, hi = 0;
        for (int k = 0; k < size; k++) {
          cr_assert_leq(first[k], first[k + 1]);
          cr_assert(first[k] % u == 0 || first[k] == p, "rank %d starts at %llu, unit %llu", k,
                    (unsigned long long)first[k], (unsigned long long)u);
          /* whole units per rank, the last one perhaps short */
          uint64_t n = (first[k + 1] - first[k] + u - 1) / u;
          if (first[k + 1] < p || first[k] == p) {
            lo = n < lo ? n : lo;
          }
          hi = n > hi ? n : hi;
        }
        cr_assert_leq(hi - (lo == UINT64_MAX ? hi : lo), 1, "ranks' units differ by more than one");
      }
}

enum { LOANS = 3000, PATHS = 1003 };

static cas_plan *make_plan(const char *extra) {
  char dir[] = "/tmp/cascade-distribute-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof path, "%s/s.yaml", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "name: t\nseed: 7\npaths: %d\nportfolio: {builtin: yrd, loans: %d, seed: 3}\n%s", PATHS,
          LOANS, extra);
  fclose(f);
  cas_error err = {0};
  cas_scenario *sc = NULL;
  cas_portfolio *pf = NULL;
  cas_plan *plan = NULL;
  cr_assert_eq(cas_scenario_load(path, &sc, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_portfolio_generate(sc->portfolio.loans, sc->portfolio.seed, &pf, &err), CAS_OK,
               "%s", err.msg);
  cr_assert_eq(cas_plan_build(sc, pf, NULL, &plan, &err), CAS_OK, "%s", err.msg);
  cas_portfolio_destroy(pf);
  cas_scenario_destroy(sc);
  unlink(path);
  rmdir(dir);
  return plan;
}

typedef struct arrays {
  void *a[64];
  size_t row[64];
  int n;
} arrays;

static void collect(void *ctx, void *array, size_t row_bytes) {
  arrays *l = ctx;
  cr_assert_lt(l->n, 64);
  l->a[l->n] = array;
  l->row[l->n++] = row_bytes;
}

/* Runs the plan in one piece and in `ranks` slices, and compares. */
static void slices_match(const cas_plan *plan, int store_segments, const double *shift, int ranks) {
  cas_error err = {0};
  uint16_t group_of[64] = {0};
  for (int s = 0; s < plan->nsegments; s++) group_of[s] = (uint16_t)(s % 3);
  cas_kernel_options opt = {.threads = 2, .is_shift = shift};
  cas_results *full = NULL;
  cr_assert_eq(cas_results_create(plan->paths, 0, 0, &full, &err), CAS_OK);
  cas_results_store_segments(full, store_segments);
  cr_assert_eq(cas_results_add_grouping(full, "g", 3, group_of, plan->nsegments, &err), CAS_OK);
  cr_assert_eq(cas_kernel_run(&cas_kernel_sparse, plan, NULL, full, &opt, &err), CAS_OK, "%s", err.msg);
  arrays want = {0};
  cas_results_each_row_array(full, collect, &want);
  cr_assert_geq(want.n, 4, "the per-path arrays are not all listed");

  uint64_t first[9];
  cas_split_paths(plan->paths, cas_results_unit(plan->paths, plan->nsegments, store_segments), ranks,
                  first);
  for (int k = 0; k < ranks; k++) {
    uint64_t m = first[k + 1] - first[k];
    /* rank 0 holds rows for every path and runs its own; the others a slice */
    cas_results *part = NULL;
    cr_assert_eq(cas_results_create(k == 0 ? plan->paths : (m ? m : 1), 0, 0, &part, &err), CAS_OK);
    if (k > 0) cas_results_set_slice(part, m ? first[k] : 0, plan->paths);
    cas_results_store_segments(part, store_segments);
    cr_assert_eq(cas_results_add_grouping(part, "g", 3, group_of, plan->nsegments, &err), CAS_OK);
    cas_kernel_options o = opt;
    o.threads = 1 + k % 2;
    o.limit_rows = 1;
    o.rows = m;
    cr_assert_eq(cas_kernel_run(&cas_kernel_sparse, plan, NULL, part, &o, &err), CAS_OK, "%s", err.msg);
    arrays got = {0};
    cas_results_each_row_array(part, collect, &got);
    cr_assert_eq(got.n, want.n);
    for (int i = 0; i < want.n; i++) {
      cr_assert_eq(got.row[i], want.row[i]);
      cr_assert(memcmp(got.a[i], (char *)want.a[i] + first[k] * want.row[i],
                       m * want.row[i]) == 0,
                "rank %d of %d: per-path array %d differs from one process's rows", k, ranks, i);
    }
    if (!store_segments && m) {
      const cas_segment_sums *a = &full->sums, *b = &part->sums;
      cr_assert_eq(a->chunk_paths, b->chunk_paths);
      size_t nseg = (size_t)plan->nsegments, c0 = first[k] / a->chunk_paths;
      size_t nc = (m + a->chunk_paths - 1) / a->chunk_paths;
      cr_assert(memcmp(b->loss_chunk, a->loss_chunk + c0 * nseg,
                       nc * nseg * sizeof(double)) == 0,
                "rank %d: sums by chunk differ", k);
      if (shift)
        cr_assert(memcmp(b->wrate_chunk, a->wrate_chunk + c0 * nseg, nc * nseg * sizeof(double)) == 0);
    }
    cas_results_destroy(part);
  }
  cas_results_destroy(full);
}

Test(distribute, slices_hold_one_process_rows) {
  cas_plan *plan = make_plan("");
  for (int ranks = 2; ranks <= 5; ranks += 3) slices_match(plan, 1, NULL, ranks);
  cas_plan_destroy(plan);
}

Test(distribute, slices_hold_one_process_sums_by_chunk) {
  cas_plan *plan = make_plan("");
  slices_match(plan, 0, NULL, 3);
  cas_plan_destroy(plan);
}

Test(distribute, slices_hold_one_process_weights_and_years) {
  cas_plan *plan = make_plan("model: {horizon_years: 3}\n");
  double *shift = calloc((size_t)plan->years * (size_t)plan->nfactors, sizeof *shift);
  cr_assert_not_null(shift);
  for (int t = 0; t < plan->years; t++) shift[(size_t)t * (size_t)plan->nfactors] = 0.7;
  slices_match(plan, 0, shift, 2);
  slices_match(plan, 1, shift, 4);
  free(shift);
  cas_plan_destroy(plan);
}

Test(distribute, the_plan_fingerprint_sees_one_loan) {
  cas_plan *plan = make_plan("");
  char a[CAS_SHA256_HEX], b[CAS_SHA256_HEX];
  cas_error err = {0};
  cr_assert_eq(cas_plan_fingerprint(plan, a, &err), CAS_OK);
  cr_assert_eq(cas_plan_fingerprint(plan, b, &err), CAS_OK);
  cr_assert_str_eq(a, b);
  plan->loans[plan->n / 2].threshold = nextafter(plan->loans[plan->n / 2].threshold, 0.0);
  cr_assert_eq(cas_plan_fingerprint(plan, b, &err), CAS_OK);
  cr_assert_str_neq(a, b, "a threshold one ulp off is not seen");
  cas_plan_destroy(plan);
}
