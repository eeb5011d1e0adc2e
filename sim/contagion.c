/*
 * contagion.c: the cascade of contagion.h.
 *
 * Exactness of the sparse side. After round 0 a survivor k is known only to
 * satisfy eps_k >= t_k = (c_k / scale - a.z) / b. Given that, and nothing
 * else, eps_k is a standard normal truncated to [t_k, inf), drawn by
 * inversion: eps = -Phi^-1(u Phi(-t)), u uniform on (0, 1). The spill-over
 * moves a segment's systematic term by dsys <= 0; a survivor then defaults
 * with probability q = P(eps < t' | eps >= t), t' = t - dsys / b, which grows
 * with the threshold (the normal has an increasing hazard rate), so the
 * bucket's largest and smallest q bound all of its loans and the same
 * geometric-gap-and-thinning pass as the sparse kernel's draws exactly the
 * survivors that default, skipping loans already defaulted. A survivor of
 * that pass is known to satisfy eps >= t'. In the network rounds a touched
 * survivor with bound t has eps = -Phi^-1(u Phi(-t)) for its keyed uniform
 * u, so it defaults below t2 iff u Phi(-t) > Phi(-t2); since
 * Phi(-t) - Phi(-t2) <= (t2 - t) / sqrt(2 pi), most survivors are cleared
 * without evaluating Phi at all.
 */
#include "contagion.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gaps.h"
#include "memory.h"
#include "normal.h"

enum { SPILL_BATCH = 64 };
#define INV_SQRT_2PI 0.39894228040143267794
enum { BLOCK_BITS = 11 };

cas_status cas_contagion_create(const cas_scenario *sc, const cas_plan *plan,
                                const cas_portfolio *pf, const cas_network *net,
                                cas_contagion **out, cas_error *err) {
  *out = NULL;
  size_t n = pf->n;
  if (net->nloans != n || plan->n != n)
    return cas_error_set(err, CAS_ERR_INTERNAL, "network of %zu loans for a portfolio of %zu",
                         net->nloans, n);
  cas_contagion *c = calloc(1, sizeof *c);
  uint32_t *pos = malloc((n ? n : 1) * sizeof *pos);
  if (!c || !pos) {
    free(c);
    free(pos);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for the contagion model");
  }
  double scale[CAS_NLINK_TYPES];
  scale[CAS_LINK_SUPPLY_CHAIN] = sc->contagion.supply_chain_scale;
  scale[CAS_LINK_GUARANTEE] = sc->contagion.guarantee_scale;
  double amount_scale = sc->contagion.guarantee_scale;
  c->max_rounds = sc->contagion.max_rounds;
  for (size_t k = 0; k < n; k++) pos[plan->loan_index[k]] = (uint32_t)k;

  /* Count the links that pass something on, by source position. */
  c->offset = cas_alloc_large((n + 1) * sizeof *c->offset, 1);
  c->segment = malloc((n ? n : 1) * sizeof *c->segment);
  if (sc->contagion.nspillover) c->spill = calloc(sc->contagion.nspillover, sizeof *c->spill);
  int ok = c->offset && c->segment && (!sc->contagion.nspillover || c->spill);
  if (ok) {
    for (size_t i = 0; i < n; i++) {
      c->segment[pos[i]] = (uint8_t)cas_segment(pf->region[i], pf->sector[i]);
      for (uint64_t e = net->offset[i]; e < net->offset[i + 1]; e++) {
        int t = net->type[e];
        double amount = t == CAS_LINK_GUARANTEE ? net->amount[e] * amount_scale : 0.0;
        if (net->weight[e] * scale[t] != 0.0 || amount != 0.0) c->offset[pos[i] + 1]++;
      }
    }
    for (size_t k = 0; k < n; k++) c->offset[k + 1] += c->offset[k];
    c->nedges = c->offset[n];
    c->edge = cas_alloc_large(c->nedges * sizeof *c->edge, 0);
    c->amount_loss = cas_alloc_large(c->nedges * sizeof *c->amount_loss, 0);
    ok = c->edge && c->amount_loss;
  }
  if (!ok) {
    free(pos);
    cas_contagion_destroy(c);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for the contagion model (%zu links)",
                         net->nlinks);
  }
  /* Fill, keeping each source's links in network order. */
  for (size_t i = 0; i < n; i++) {
    uint64_t at = c->offset[pos[i]];
    for (uint64_t e = net->offset[i]; e < net->offset[i + 1]; e++) {
      int t = net->type[e];
      double w = net->weight[e] * scale[t];
      double amount = t == CAS_LINK_GUARANTEE ? net->amount[e] * amount_scale : 0.0;
      if (w == 0.0 && amount == 0.0) continue;
      uint32_t v = net->target[e];
      int s = cas_segment(pf->region[v], pf->sector[v]);
      double lgd = fmin(fmax(pf->lgd[v] + plan->seg_lgd_add[s], 0.0), 1.0);
      c->edge[at] = (cas_cascade_edge){pos[v], (uint32_t)(t == CAS_LINK_GUARANTEE), w};
      c->amount_loss[at] = amount * lgd;
      at++;
    }
  }
  free(pos);
  for (size_t i = 0; i < sc->contagion.nspillover; i++) {
    const cas_spillover *sp = &sc->contagion.spillover[i];
    if (sp->beta == 0.0) continue;
    c->spill[c->nspill++] = (cas_spill_term){sp->segment, sp->factor, sp->beta};
  }
  *out = c;
  return CAS_OK;
}

void cas_contagion_destroy(cas_contagion *c) {
  if (!c) return;
  free(c->offset);
  free(c->edge);
  free(c->amount_loss);
  free(c->segment);
  free(c->spill);
  free(c);
}

cas_status cas_cascade_ws_create(size_t n, int eps_all_known, cas_cascade_ws **out,
                                 cas_error *err) {
  *out = NULL;
  cas_cascade_ws *ws = calloc(1, sizeof *ws);
  if (!ws) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for a cascade workspace");
  size_t m = n ? n : 1;
  ws->n = n;
  ws->eps_all_known = eps_all_known;
  ws->dbits = calloc((m + 63) / 64, sizeof *ws->dbits);
  ws->defaulted = malloc(m * sizeof *ws->defaulted);
  if (eps_all_known) ws->eps = cas_alloc_large(m * sizeof *ws->eps, 1);
  /* blocks: at most 2^BLOCK_BITS of them, of at least 64 positions */
  unsigned bits = 6;
  while (bits < 40 && ((size_t)1 << bits) < m) bits++;
  ws->block_shift = bits > BLOCK_BITS + 6 ? bits - BLOCK_BITS : 6;
  ws->nblocks = ((m - 1) >> ws->block_shift) + 1;
  size_t bsize = (size_t)1 << ws->block_shift;
  ws->block_start = malloc((ws->nblocks + 1) * sizeof *ws->block_start);
  ws->sum = malloc(bsize * sizeof *ws->sum);
  ws->hit = calloc(bsize / 64, sizeof *ws->hit);
  if (!ws->dbits || !ws->defaulted || (eps_all_known && !ws->eps) || !ws->block_start ||
      !ws->sum || !ws->hit) {
    cas_cascade_ws_destroy(ws);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory: a cascade workspace of %zu loans", n);
  }
  *out = ws;
  return CAS_OK;
}

void cas_cascade_ws_destroy(cas_cascade_ws *ws) {
  if (!ws) return;
  free(ws->dbits);
  free(ws->defaulted);
  free(ws->eps);
  free(ws->block_start);
  free(ws->sum);
  free(ws->hit);
  cas_cascade_list *lists[] = {&ws->items, &ws->sorted, &ws->touched, &ws->recent,
                               &ws->fresh, &ws->merged, &ws->calls};
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) free(lists[i]->v);
  free(ws);
}

void cas_cascade_begin(cas_cascade_ws *ws) {
  for (size_t d = 0; d < ws->ndefaulted; d++) {
    uint32_t k = ws->defaulted[d];
    ws->dbits[k >> 6] = 0;   /* whole words: other bits in it are defaults too, or 0 */
  }
  ws->ndefaulted = 0;
  ws->items.n = ws->sorted.n = ws->touched.n = ws->recent.n = ws->fresh.n = ws->calls.n = 0;
}

static inline void mark_default(cas_cascade_ws *ws, uint32_t k) {
  ws->dbits[k >> 6] |= (uint64_t)1 << (k & 63);
  ws->defaulted[ws->ndefaulted++] = k;
}

/* Room for `more` items; 0 (and ws->oom) when memory runs out. */
static int reserve(cas_cascade_ws *ws, cas_cascade_list *l, size_t more) {
  if (l->n + more <= l->cap) return 1;
  size_t cap = l->cap ? l->cap : 1024;
  while (cap < l->n + more) cap *= 2;
  cas_cascade_item *v = realloc(l->v, cap * sizeof *v);
  if (!v) {
    ws->oom = 1;
    return 0;
  }
  l->v = v;
  l->cap = cap;
  return 1;
}

static void swap_lists(cas_cascade_list *a, cas_cascade_list *b) {
  cas_cascade_list t = *a;
  *a = *b;
  *b = t;
}

/* P(eps < t2 | eps >= t1) for t2 >= t1, without cancellation on either side. */
static double conditional_pd(double t1, double t2) {
  double surv = cas_norm_cdf(-t1);
  if (!(surv > 0.0)) return 1.0;
  double p = t2 < 0.0 ? (cas_norm_cdf(t2) - cas_norm_cdf(t1)) / surv
                      : (surv - cas_norm_cdf(-t2)) / surv;
  return p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
}

/* Spill-over pass of one bucket for the sparse kernel: survivors default
 * with probability conditional_pd(t, t - dsys / b). */
static void spill_bucket_sparse(const cas_plan *plan, cas_cascade_ws *ws, const cas_bucket *bk,
                                double a, double dsys, double inv_scale, cas_rng *rng) {
  int s = bk->segment;
  double inv_w = 1.0 / plan->idio[s], move = -dsys * inv_w;
  double t_hi = (bk->threshold_max * inv_scale - a) * inv_w;
  double t_lo = (bk->threshold_min * inv_scale - a) * inv_w;
  double q_max = conditional_pd(t_hi, t_hi + move);
  if (!(q_max > 0.0)) return;
  double q_min = conditional_pd(t_lo, t_lo + move);
  const cas_plan_loan *ln = &plan->loans[bk->first];
  cas_gaps gaps;
  cas_gaps_init(&gaps, q_max, bk->count);
  uint32_t pos[SPILL_BATCH];
  int m;
  while ((m = cas_gaps_next(&gaps, rng, pos, SPILL_BATCH, ln, sizeof *ln)) > 0) {
    for (int j = 0; j < m; j++) {
      double v = cas_rng_uniform(rng) * q_max;
      uint32_t at = bk->first + pos[j];
      if (cas_cascade_is_defaulted(ws, at)) continue;
      double t = (ln[pos[j]].threshold * inv_scale - a) * inv_w;
      if (v < q_min || v < conditional_pd(t, t + move)) mark_default(ws, at);
    }
  }
}

/* Spill-over after round 0; writes each segment's move of the systematic
 * term into dsys. Returns the number of loans it made default. */
static size_t spill_over(const cas_contagion *c, const cas_plan *plan, cas_cascade_ws *ws,
                         const double *sys, double scale, cas_rng *rng, double *dsys) {
  for (int s = 0; s < CAS_NSEGMENTS; s++) dsys[s] = 0.0;
  if (c->nspill == 0) return 0;
  double count[CAS_NSEGMENTS] = {0}, dz[CAS_NFACTORS] = {0};
  for (size_t d = 0; d < ws->ndefaulted; d++) count[c->segment[ws->defaulted[d]]] += 1.0;
  for (size_t t = 0; t < c->nspill; t++) {
    const cas_spill_term *term = &c->spill[t];
    double loans = (double)plan->unstressed.loans[term->segment];
    if (loans > 0) dz[term->factor] -= term->beta * count[term->segment] / loans;
  }
  int any = 0;
  for (int s = 0; s < CAS_NSEGMENTS; s++) {
    double v = 0.0;
    for (int f = 0; f < CAS_NFACTORS; f++) v += plan->loading[s][f] * dz[f];
    dsys[s] = v;
    any |= v < 0.0;
  }
  if (!any) return 0;
  size_t before = ws->ndefaulted;
  double inv_scale = 1.0 / scale;
  for (size_t b = 0; b < plan->nbuckets; b++) {
    const cas_bucket *bk = &plan->buckets[b];
    int s = bk->segment;
    if (!(dsys[s] < 0.0)) continue;
    if (ws->eps_all_known) {
      double a = sys[s] + dsys[s], w = plan->idio[s];
      for (uint32_t k = bk->first; k < bk->first + bk->count; k++)
        if (!cas_cascade_is_defaulted(ws, k) && scale * (a + w * ws->eps[k]) < plan->loans[k].threshold)
          mark_default(ws, k);
    } else {
      spill_bucket_sparse(plan, ws, bk, sys[s], dsys[s], inv_scale, rng);
    }
  }
  return ws->ndefaulted - before;
}



/* The exact test: does survivor k (segment s, threshold th, accumulated
 * shift) default? */
static inline int survivor_defaults(const cas_plan *plan, const cas_cascade_ws *ws, uint32_t k,
                                    int s, double th, double shift, double scale,
                                    double inv_scale, double sys_eval, double sys_bound,
                                    double u) {
  double w = plan->idio[s];
  if (ws->eps_all_known) return scale * (sys_eval + w * ws->eps[k]) - shift < th;
  double t = (th * inv_scale - sys_bound) / w;               /* known: eps >= t */
  double t2 = ((th + shift) * inv_scale - sys_eval) / w;     /* defaults iff eps < t2 */
  if (!(t2 > t)) return 0;
  /* defaults iff u Phi(-t) > Phi(-t2); Phi(-t) - Phi(-t2) <= (t2 - t) / sqrt(2 pi)
   * and, for t <= 0, Phi(-t) >= 1/2: a cheap sufficient test for survival */
  if (t <= 0.0 && 0.5 * (1.0 - u) >= INV_SQRT_2PI * (t2 - t)) return 0;
  return u * cas_norm_cdf(-t) > cas_norm_cdf(-t2);
}

/* The round's hits (ws->items, in frontier order) added up by target: one
 * stable counting-sort pass by block into ws->sorted, then, block by block,
 * the sums in a block-sized array. Writes (target, sum) for every target not
 * yet defaulted, in increasing order, back into ws->items. Each target's
 * hits are added in frontier order. */
static int group_hits(cas_cascade_ws *ws) {
  size_t m = ws->items.n, nb = ws->nblocks;
  unsigned shift = ws->block_shift;
  size_t *start = ws->block_start;
  if (!reserve(ws, &ws->sorted, m)) return 0;
  memset(start, 0, (nb + 1) * sizeof *start);
  const cas_cascade_item *in = ws->items.v;
  for (size_t i = 0; i < m; i++) start[(in[i].pos >> shift) + 1]++;
  for (size_t b = 0; b < nb; b++) start[b + 1] += start[b];
  cas_cascade_item *by_block = ws->sorted.v;
  for (size_t i = 0; i < m; i++) by_block[start[in[i].pos >> shift]++] = in[i];
  /* now block b holds by_block[b ? start[b - 1] : 0, start[b]) */
  cas_cascade_item *out = ws->items.v;   /* written behind what was read */
  size_t n_out = 0, from = 0;
  double *sum = ws->sum;
  uint64_t *hit = ws->hit;
  size_t words = ((size_t)1 << shift) / 64;
  for (size_t b = 0; b < nb; b++) {
    size_t to = start[b];
    if (to == from) continue;
    uint32_t base = (uint32_t)(b << shift);
    for (size_t i = from; i < to; i++) {
      uint32_t off = by_block[i].pos - base;
      uint64_t bit = (uint64_t)1 << (off & 63);
      if (hit[off >> 6] & bit) {
        sum[off] += by_block[i].value;
      } else {
        hit[off >> 6] |= bit;
        sum[off] = by_block[i].value;
      }
    }
    for (size_t wi = 0; wi < words; wi++) {
      uint64_t word = hit[wi];
      if (!word) continue;
      hit[wi] = 0;
      uint64_t dead = ws->dbits[(base >> 6) + wi];   /* blocks are whole words of dbits */
      word &= ~dead;
      while (word) {
        unsigned bit = (unsigned)__builtin_ctzll(word);
        word &= word - 1;
        uint32_t off = (uint32_t)(wi * 64 + bit);
        out[n_out++] = (cas_cascade_item){base + off, 0, sum[off]};
      }
    }
    from = to;
  }
  ws->items.n = n_out;
  return 1;
}

/* First index >= from of the sorted list l with pos >= k (galloping: cheap
 * when the answer is near, as it is for a walk in sorted order). */
static size_t gallop(const cas_cascade_list *l, size_t from, uint32_t k) {
  size_t n = l->n;
  if (from >= n || l->v[from].pos >= k) return from;
  size_t lo = from, step = 1, hi = from + 1;   /* v[lo].pos < k */
  while (hi < n && l->v[hi].pos < k) {
    lo = hi;
    step *= 2;
    hi = lo + step;
  }
  if (hi > n) hi = n;
  while (hi - lo > 1) {                        /* v[lo] < k <= v[hi] (or hi == n) */
    size_t mid = lo + (hi - lo) / 2;
    if (l->v[mid].pos < k) lo = mid;
    else hi = mid;
  }
  return hi;
}

/* out = a merged with b, both sorted, no position in both. */
static int merge_lists(cas_cascade_ws *ws, const cas_cascade_list *a, const cas_cascade_list *b,
                       cas_cascade_list *out) {
  if (!reserve(ws, out, a->n + b->n)) return 0;
  size_t i = 0, j = 0, o = 0;
  while (i < a->n && j < b->n) out->v[o++] = a->v[i].pos < b->v[j].pos ? a->v[i++] : b->v[j++];
  while (i < a->n) out->v[o++] = a->v[i++];
  while (j < b->n) out->v[o++] = b->v[j++];
  out->n = o;
  return 1;
}

/* A round's hits: the links of defaulted[d0, d1), in that order. Weights go
 * to items, called guarantees to calls. The offsets and link lists of
 * sources further on are prefetched: a defaulted loan has two links at the
 * median, so prefetching within one would hide nothing. */
enum { OFFSET_AHEAD = 32, EDGES_AHEAD = 16 };

static int gather(const cas_contagion *c, cas_cascade_ws *ws, size_t d0, size_t d1) {
  ws->items.n = 0;
  for (size_t d = d0; d < d1; d++) {
    if (d + OFFSET_AHEAD < d1) __builtin_prefetch(&c->offset[ws->defaulted[d + OFFSET_AHEAD]]);
    if (d + EDGES_AHEAD < d1) __builtin_prefetch(&c->edge[c->offset[ws->defaulted[d + EDGES_AHEAD]]]);
    uint32_t u = ws->defaulted[d];
    uint64_t e0 = c->offset[u], e1 = c->offset[u + 1];
    if (e1 == e0) continue;
    if (!reserve(ws, &ws->items, e1 - e0) || !reserve(ws, &ws->calls, e1 - e0)) return 0;
    for (uint64_t e = e0; e < e1; e++) {
      const cas_cascade_edge *ed = &c->edge[e];
      if (ed->guarantee) {
        ws->calls.v[ws->calls.n++] = (cas_cascade_item){ed->target, 0, c->amount_loss[e]};
      }
      if (ed->weight != 0.0) ws->items.v[ws->items.n++] = (cas_cascade_item){ed->target, 0, ed->weight};
    }
  }
  return 1;
}

/* Flags in the pad of a round's targets. */
enum { T_SEGMENT = 0xff, T_PRIOR = 0x100, T_SURVIVES = 0x200, DECIDE_AHEAD = 16 };

void cas_cascade_run(const cas_contagion *c, const cas_plan *plan, cas_cascade_ws *ws,
                     uint64_t path, const double *sys, double scale, cas_rng *rng,
                     cas_cascade_out *out) {
  for (int s = 0; s < CAS_NSEGMENTS; s++) out->seg_loss[s] = 0.0;
  for (uint32_t r = 0; r <= c->max_rounds; r++) out->by_round[r] = 0;
  out->rounds = 0;
  out->truncated = 0;

  size_t n0 = ws->ndefaulted;
  out->by_round[0] = (int32_t)n0;
  double dsys[CAS_NSEGMENTS], sys_eval[CAS_NSEGMENTS], sys_bound[CAS_NSEGMENTS];
  double inv_w[CAS_NSEGMENTS];
  size_t nspill = spill_over(c, plan, ws, sys, scale, rng, dsys);
  for (int s = 0; s < CAS_NSEGMENTS; s++) {
    sys_eval[s] = sys[s] + dsys[s];
    /* what a survivor is known to satisfy: round 0 and, if its segment was
     * pushed down, the spill-over pass */
    sys_bound[s] = sys[s] + fmin(dsys[s], 0.0);
    inv_w[s] = 1.0 / plan->idio[s];
  }
  double inv_scale = 1.0 / scale;
  uint64_t key = cas_rng_keyed_prefix(plan->seed, CAS_RNG_CONTAGION, path);

  /* Each round spreads the defaults of the previous one (the frontier is
   * fixed when the round starts). A survivor's shift is the sum of its hits:
   * each round's hits added in frontier order, then added to the total of
   * the earlier rounds. It defaults in the round in which that total first
   * takes its latent variable below its threshold (shifts only grow, so
   * deciding once per round, after all of the round's hits, decides as
   * deciding after each hit would). */
  size_t frontier = 0, frontier_end = n0;   /* defaulted[frontier, frontier_end) spread next */
  for (uint32_t round = 1; round <= c->max_rounds; round++) {
    size_t new_start = ws->ndefaulted;   /* spill-over defaults (round 1) are already there */
    if (!gather(c, ws, frontier, frontier_end) || !group_hits(ws)) return;
    cas_cascade_item *tg = ws->items.v;   /* the round's targets, increasing, with their sums */
    size_t m = ws->items.n;

    /* Pass 1, in order: the total shift, with the earlier rounds' from the
     * touched lists (updated in place: if the loan defaults now, the stale
     * value is never read again), its segment from the bucket it lies in,
     * and the sparse kernel's cheap survival test, which needs the bucket's
     * largest threshold but not the loan's own. */
    size_t at_t = 0, at_r = 0, b = 0;
    const cas_bucket *bk = plan->buckets;
    double bound_c = 0.0;   /* INV_SQRT_2PI / (scale w) when the bucket's t <= 0, else 0 */
    int have_bucket = 0;
    for (size_t i = 0; i < m; i++) {
      uint32_t v = tg[i].pos;
      while (v >= bk[b].first + bk[b].count) {
        b++;
        have_bucket = 0;
      }
      int s = bk[b].segment;
      if (!have_bucket) {
        double t_hi = (bk[b].threshold_max * inv_scale - sys_bound[s]) / plan->idio[s];
        bound_c = t_hi <= 0.0 ? INV_SQRT_2PI * inv_scale * inv_w[s] : 0.0;
        have_bucket = 1;
      }
      uint32_t flags = (uint32_t)s;
      double shift = tg[i].value;
      cas_cascade_item *prior = NULL;
      at_t = gallop(&ws->touched, at_t, v);
      if (at_t < ws->touched.n && ws->touched.v[at_t].pos == v) prior = &ws->touched.v[at_t];
      at_r = gallop(&ws->recent, at_r, v);
      if (at_r < ws->recent.n && ws->recent.v[at_r].pos == v) prior = &ws->recent.v[at_r];
      if (prior) {
        shift = prior->value + shift;
        prior->value = shift;
        flags |= T_PRIOR;
      }
      tg[i].value = shift;
      /* t2 - t <= shift / (scale w) (less when a spill-over raised the
       * segment); a margin covers rounding: the test only ever clears
       * survivors that the exact test would also clear */
      if (bound_c > 0.0 && !ws->eps_all_known) {
        double u = cas_rng_keyed_next(key, v);
        if (0.5 * (1.0 - u) >= bound_c * shift * (1.0 + 1e-9)) flags |= T_SURVIVES;
      }
      tg[i].pad = flags;
    }

    /* Pass 2, in order: the exact test for the rest, reading the loan's
     * threshold (prefetched ahead); defaults join the frontier in
     * increasing position, new survivors the fresh list. */
    ws->fresh.n = 0;
    if (!reserve(ws, &ws->fresh, m)) return;
    for (size_t i = 0; i < m; i++) {
      if (i + DECIDE_AHEAD < m && !(tg[i + DECIDE_AHEAD].pad & T_SURVIVES)) {
        __builtin_prefetch(&plan->loans[tg[i + DECIDE_AHEAD].pos]);
        if (ws->eps_all_known) __builtin_prefetch(&ws->eps[tg[i + DECIDE_AHEAD].pos]);
      }
      uint32_t v = tg[i].pos, flags = tg[i].pad;
      int s = (int)(flags & T_SEGMENT);
      int dies = 0;
      if (!(flags & T_SURVIVES)) {
        double u = ws->eps_all_known ? 0.0 : cas_rng_keyed_next(key, v);
        dies = survivor_defaults(plan, ws, v, s, plan->loans[v].threshold, tg[i].value, scale,
                                 inv_scale, sys_eval[s], sys_bound[s], u);
      }
      if (dies) mark_default(ws, v);
      else if (!(flags & T_PRIOR)) ws->fresh.v[ws->fresh.n++] = (cas_cascade_item){v, 0, tg[i].value};
    }

    /* Survivors first touched now join recent; recent joins touched once it
     * is a quarter of its size, so that both walks stay short. */
    if (ws->fresh.n) {
      if (!merge_lists(ws, &ws->recent, &ws->fresh, &ws->merged)) return;
      swap_lists(&ws->recent, &ws->merged);
      if (ws->recent.n * 4 > ws->touched.n) {
        if (!merge_lists(ws, &ws->touched, &ws->recent, &ws->merged)) return;
        swap_lists(&ws->touched, &ws->merged);
        ws->recent.n = 0;
      }
    }
    size_t fresh = ws->ndefaulted - new_start + (round == 1 ? nspill : 0);
    out->by_round[round] = (int32_t)fresh;
    if (fresh == 0) break;
    out->rounds = (int32_t)round;
    frontier = round == 1 ? n0 : frontier_end;
    frontier_end = ws->ndefaulted;
    if (round == c->max_rounds) out->truncated = 1;
  }

  /* Losses: every loan that defaulted after round 0, then the guarantees
   * called on guarantors that defaulted in any round (amounts already times
   * their LGD), in the order they were called. */
  for (size_t d = n0; d < ws->ndefaulted; d++) {
    uint32_t v = ws->defaulted[d];
    out->seg_loss[c->segment[v]] += plan->loans[v].loss;
  }
  for (size_t k = 0; k < ws->calls.n; k++) {
    uint32_t v = ws->calls.v[k].pos;
    if (cas_cascade_is_defaulted(ws, v)) out->seg_loss[c->segment[v]] += ws->calls.v[k].value;
  }
}
