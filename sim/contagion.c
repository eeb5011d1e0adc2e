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

#include "memory.h"
#include "normal.h"

enum { SPILL_BATCH = 64, EDGE_BATCH = 32, EDGES_AHEAD = 8, OFFSET_AHEAD = 16 };
#define INV_SQRT_2PI 0.39894228040143267794

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
  c->offset = calloc(n + 1, sizeof *c->offset);
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
    ok = c->edge != NULL;
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
      c->edge[at] = (cas_cascade_edge){pos[v], (uint16_t)s, (uint16_t)(t == CAS_LINK_GUARANTEE), w,
                                       plan->loans[pos[v]].threshold, amount * lgd};
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
  ws->loan = cas_alloc_large(m * sizeof *ws->loan, 1);
  ws->defaulted = malloc(m * sizeof *ws->defaulted);
  ws->callees = malloc(m * sizeof *ws->callees);
  if (!ws->loan || !ws->defaulted || !ws->callees) {
    cas_cascade_ws_destroy(ws);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory: a cascade workspace of %zu loans", n);
  }
  *out = ws;
  return CAS_OK;
}

void cas_cascade_ws_destroy(cas_cascade_ws *ws) {
  if (!ws) return;
  free(ws->loan);
  free(ws->defaulted);
  free(ws->callees);
  free(ws);
}

void cas_cascade_begin(cas_cascade_ws *ws) {
  ws->now++;
  if (ws->now == 0) { /* the stamp wrapped: clear once every 2^32 paths */
    for (size_t k = 0; k < ws->n; k++) ws->loan[k].stamp = 0;
    ws->now = 1;
  }
  ws->ndefaulted = ws->ncallees = 0;
}

static inline cas_cascade_loan *touch(cas_cascade_ws *ws, uint32_t k, int segment) {
  cas_cascade_loan *l = &ws->loan[k];
  if (l->stamp != ws->now) {
    l->stamp = ws->now;
    l->state = 0;
    l->segment = (uint16_t)segment;
    l->shift = 0.0;
    l->called = 0.0;
  }
  return l;
}

static inline int is_defaulted(const cas_cascade_ws *ws, uint32_t k) {
  return ws->loan[k].stamp == ws->now && (ws->loan[k].state & CAS_CASCADE_DEFAULTED);
}

static inline void mark_default(cas_cascade_ws *ws, uint32_t k, int segment) {
  touch(ws, k, segment)->state |= CAS_CASCADE_DEFAULTED;
  ws->defaulted[ws->ndefaulted++] = k;
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
  double inv_log_q = 1.0 / log1p(-q_max);
  const cas_plan_loan *ln = &plan->loans[bk->first];
  double remaining = (double)bk->count;
  uint32_t k = 0;
  int more = 1;
  while (more) {
    uint32_t pos[SPILL_BATCH];
    int m = 0;
    while (m < SPILL_BATCH) {
      double gap = floor(log(cas_rng_uniform_open(rng)) * inv_log_q);
      if (gap >= remaining) {
        more = 0;
        break;
      }
      k += (uint32_t)gap;
      remaining -= gap + 1.0;
      pos[m++] = k++;
    }
    for (int j = 0; j < m; j++) {
      double v = cas_rng_uniform(rng) * q_max;
      uint32_t at = bk->first + pos[j];
      if (is_defaulted(ws, at)) continue;
      double t = (ln[pos[j]].threshold * inv_scale - a) * inv_w;
      if (v < q_min || v < conditional_pd(t, t + move)) mark_default(ws, at, s);
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
        if (!is_defaulted(ws, k) && scale * (a + w * ws->loan[k].eps) < plan->loans[k].threshold)
          mark_default(ws, k, s);
    } else {
      spill_bucket_sparse(plan, ws, bk, sys[s], dsys[s], inv_scale, rng);
    }
  }
  return ws->ndefaulted - before;
}

/* Does touched survivor k (segment s, shift in l) default now? */
static int survivor_defaults(const cas_plan *plan, const cas_cascade_ws *ws,
                             const cas_cascade_loan *l, uint32_t k, double th, double scale,
                             double sys_eval, double sys_bound, uint64_t path) {
  double w = plan->idio[l->segment];
  if (ws->eps_all_known) return scale * (sys_eval + w * l->eps) - l->shift < th;
  double inv_scale = 1.0 / scale;
  double t = (th * inv_scale - sys_bound) / w;               /* known: eps >= t */
  double t2 = ((th + l->shift) * inv_scale - sys_eval) / w;  /* defaults iff eps < t2 */
  if (!(t2 > t)) return 0;
  double u = cas_rng_keyed_uniform(plan->seed, CAS_RNG_CONTAGION, path, k);
  /* defaults iff u Phi(-t) > Phi(-t2); Phi(-t) - Phi(-t2) <= (t2 - t) / sqrt(2 pi)
   * and, for t <= 0, Phi(-t) >= 1/2: a cheap sufficient test for survival */
  if (t <= 0.0 && 0.5 * (1.0 - u) >= INV_SQRT_2PI * (t2 - t)) return 0;
  return u * cas_norm_cdf(-t) > cas_norm_cdf(-t2);
}

/* Walks the links of defaulted[d .. d_end) in order. */
typedef struct link_cursor {
  size_t d, d_end;
  uint64_t e, end;
} link_cursor;

/* The next EDGE_BATCH links (fewer at the end), prefetching their targets'
 * records and, further ahead, the offsets and link lists of the sources to
 * come: a defaulted loan has two links at the median, so prefetching within
 * one source would hide nothing. */
static int gather(const cas_contagion *c, const cas_cascade_ws *ws, link_cursor *cur,
                  uint64_t *batch) {
  int m = 0;
  while (m < EDGE_BATCH && cur->d < cur->d_end) {
    if (cur->e == cur->end) {
      if (++cur->d >= cur->d_end) break;
      if (cur->d + OFFSET_AHEAD < cur->d_end)
        __builtin_prefetch(&c->offset[ws->defaulted[cur->d + OFFSET_AHEAD]]);
      if (cur->d + EDGES_AHEAD < cur->d_end)
        __builtin_prefetch(&c->edge[c->offset[ws->defaulted[cur->d + EDGES_AHEAD]]]);
      uint32_t u = ws->defaulted[cur->d];
      cur->e = c->offset[u];
      cur->end = c->offset[u + 1];
      continue;
    }
    __builtin_prefetch(&ws->loan[c->edge[cur->e].target], 1);
    batch[m++] = cur->e++;
  }
  return m;
}

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
  size_t nspill = spill_over(c, plan, ws, sys, scale, rng, dsys);
  for (int s = 0; s < CAS_NSEGMENTS; s++) {
    sys_eval[s] = sys[s] + dsys[s];
    /* what a survivor is known to satisfy: round 0 and, if its segment was
     * pushed down, the spill-over pass */
    sys_bound[s] = sys[s] + fmin(dsys[s], 0.0);
  }

  /* Each round spreads the defaults of the previous one. A survivor is
   * checked right after each shift it receives: shifts only grow, so one
   * that crosses its threshold part-way through the round defaults in this
   * round either way, and it spreads only in the next (the frontier of a
   * round is fixed when it starts). One visit to its record per link. */
  size_t frontier = 0, frontier_end = n0;   /* defaulted[frontier, frontier_end) spread next */
  const cas_cascade_edge *edge = c->edge;
  for (uint32_t round = 1; round <= c->max_rounds; round++) {
    size_t new_start = ws->ndefaulted;   /* spill-over defaults (round 1) are already there */
    link_cursor cur = {frontier, frontier_end, 0, 0};
    if (cur.d < cur.d_end) {
      cur.e = c->offset[ws->defaulted[cur.d]];
      cur.end = c->offset[ws->defaulted[cur.d] + 1];
    }
    uint64_t batch[2][EDGE_BATCH];
    int m = gather(c, ws, &cur, batch[0]), which = 0;
    while (m > 0) {
      /* the next batch's records are on their way while this one is read */
      int next = gather(c, ws, &cur, batch[!which]);
      for (int j = 0; j < m; j++) {
        uint64_t e = batch[which][j];
        const cas_cascade_edge *ed = &edge[e];
        uint32_t v = ed->target;
        cas_cascade_loan *l = touch(ws, v, ed->segment);
        if (ed->guarantee) {
          if (!(l->state & CAS_CASCADE_CALLED)) {
            l->state |= CAS_CASCADE_CALLED;
            ws->callees[ws->ncallees++] = v;
          }
          l->called += ed->amount_loss;
        }
        if ((l->state & CAS_CASCADE_DEFAULTED) || ed->weight == 0.0) continue;
        l->shift += ed->weight;
        int s = ed->segment;
        if (survivor_defaults(plan, ws, l, v, ed->threshold, scale, sys_eval[s], sys_bound[s], path))
          mark_default(ws, v, s);
      }
      m = next;
      which = !which;
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
   * called on defaulted guarantors (amounts already times their LGD). */
  for (size_t d = n0; d < ws->ndefaulted; d++) {
    uint32_t v = ws->defaulted[d];
    out->seg_loss[c->segment[v]] += plan->loans[v].loss;
  }
  for (size_t k = 0; k < ws->ncallees; k++) {
    const cas_cascade_loan *l = &ws->loan[ws->callees[k]];
    if (l->state & CAS_CASCADE_DEFAULTED) out->seg_loss[l->segment] += l->called;
  }
}
