/*
 * contagion.c: the cascade of contagion.h.
 *
 * Exactness of the sparse side. After round 0 a survivor k is known only to
 * satisfy eps_k >= t_k = (c_k / scale - a.z) / b. Given that, and nothing
 * else, eps_k is a standard normal truncated to [t_k, inf). A spill-over
 * pass moves a segment's systematic term down by some d > 0 (it only ever
 * falls); a survivor that the network has not touched then defaults with
 * probability q = P(eps < t + d / b | eps >= t), which grows with the
 * threshold (the normal has an increasing hazard rate), so the bucket's
 * largest and smallest q bound all of its loans and the same
 * geometric-gap-and-thinning pass as the sparse kernel's draws exactly the
 * untouched survivors that default; those that survive are known to
 * satisfy eps >= t + d / b. When the network first touches a survivor, its
 * eps is drawn from its law given the bound known at that moment (the
 * spill-over epoch, kept with it in the touched lists): eps =
 * -Phi^-1(u Phi(-t)), u uniform on (0, 1) keyed by (seed, path, loan). From
 * then on eps is fixed, and the survivor defaults below t2 iff
 * u Phi(-t) > Phi(-t2), in network rounds and spill-over passes alike (the
 * geometric pass skips touched survivors; they are tested directly). Since
 * Phi(-t) - Phi(-t2) <= (t2 - t) / sqrt(2 pi), most touched survivors are
 * cleared without evaluating Phi at all.
 */
#include "contagion.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gaps.h"
#include "memory.h"
#include "normal.h"

enum { SPILL_BATCH = 64 };

/* A round's hits are added up a block of 2^BLOCK_SHIFT positions at a
 * time: the block's sums (32 KB) stay in L1, and a book of 10^6 loans has
 * 245 blocks, few enough for the counting sort's scatter to write to lines
 * in cache (2,048 blocks of 512 positions were 5% slower on the contagion
 * book). */
enum { BLOCK_SHIFT = 12 };

void cas_network_guaranteed(const cas_network *net, double *guaranteed) {
  for (size_t i = 0; i < net->nloans; i++) {
    double g = 0.0;
    for (uint64_t e = net->offset[i]; e < net->offset[i + 1]; e++)
      if (net->type[e] == CAS_LINK_GUARANTEE) g += net->amount[e];
    guaranteed[i] = g;
  }
}

/* The links' distinct weights, and each link's index among them: an
 * open-addressing table on the weights' bit patterns (0 marks an empty
 * slot: a link of weight 0 is left out), grown to stay at most half full. */
typedef struct weight_map {
  uint64_t *bits;
  uint32_t *id;
  size_t cap;        /* slots, a power of 2 */
  double *weight;    /* [n] by index */
  size_t n, weight_cap;
} weight_map;

static int weight_map_grow(weight_map *m) {
  size_t cap = m->cap ? 2 * m->cap : 64;
  uint64_t *bits = calloc(cap, sizeof *bits);
  uint32_t *id = malloc(cap * sizeof *id);
  if (!bits || !id) {
    free(bits);
    free(id);
    return 0;
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->bits[i]) continue;
    size_t h = cas_rng_mix64(m->bits[i]) & (cap - 1);
    while (bits[h]) h = (h + 1) & (cap - 1);
    bits[h] = m->bits[i];
    id[h] = m->id[i];
  }
  free(m->bits);
  free(m->id);
  m->bits = bits;
  m->id = id;
  m->cap = cap;
  return 1;
}

/* The index of weight w (not 0), added if new; UINT32_MAX: out of memory. */
static uint32_t weight_id(weight_map *m, double w) {
  uint64_t b;
  memcpy(&b, &w, sizeof b);
  if (2 * (m->n + 1) > m->cap && !weight_map_grow(m)) return UINT32_MAX;
  size_t h = cas_rng_mix64(b) & (m->cap - 1);
  while (m->bits[h]) {
    if (m->bits[h] == b) return m->id[h];
    h = (h + 1) & (m->cap - 1);
  }
  if (m->n == m->weight_cap) {
    size_t cap = m->weight_cap ? 2 * m->weight_cap : 16;
    double *v = realloc(m->weight, cap * sizeof *v);
    if (!v) return UINT32_MAX;
    m->weight = v;
    m->weight_cap = cap;
  }
  m->weight[m->n] = w;
  m->bits[h] = b;
  m->id[h] = (uint32_t)m->n;
  return (uint32_t)m->n++;
}

cas_status cas_contagion_create(const cas_scenario *sc, const cas_plan *plan,
                                const cas_portfolio *pf, const cas_network *net,
                                cas_contagion **out, cas_error *err) {
  *out = NULL;
  size_t n = pf->n;
  if (net->nloans != n || plan->n != n)
    return cas_error_set(err, CAS_ERR_INTERNAL, "network of %zu loans for a portfolio of %zu",
                         net->nloans, n);
  /* link and call indices are 4 bytes (offset, call_start) */
  if (net->nlinks > UINT32_MAX)
    return cas_error_set(err, CAS_ERR_INPUT, "%llu links: at most %u are supported",
                         (unsigned long long)net->nlinks, (unsigned)UINT32_MAX);
  cas_contagion *c = calloc(1, sizeof *c);
  uint32_t *pos = malloc((n ? n : 1) * sizeof *pos);
  if (!c || !pos) {
    free(c);
    free(pos);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for the network model");
  }
  const cas_contagion_model *model = cas_contagion_model_lookup(sc->contagion.model);
  if (!model) {
    free(c);
    free(pos);
    return cas_error_set(err, CAS_ERR_INTERNAL, "unknown contagion model '%s'", sc->contagion.model);
  }
  c->model = model;
  int on = model->spreads;
  double scale[CAS_NLINK_TYPES];
  scale[CAS_LINK_SUPPLY_CHAIN] = on ? sc->contagion.supply_chain_scale : 0.0;
  scale[CAS_LINK_GUARANTEE] = on ? sc->contagion.guarantee_scale : 0.0;
  c->max_rounds = on ? sc->contagion.max_rounds : 0;
  for (size_t k = 0; k < n; k++) pos[plan->loan_index[k]] = (uint32_t)k;

  /* Count the weighted links and the guarantees, by source position. */
  c->offset = cas_alloc_large((n + 1) * sizeof *c->offset, 1);
  c->call_start = calloc(n + 1, sizeof *c->call_start);
  c->segment = malloc((n ? n : 1) * sizeof *c->segment);
  c->nsegments = plan->nsegments;
  c->seg_first = malloc(((size_t)plan->nsegments + 1) * sizeof *c->seg_first);
  c->seg_bucket = malloc(((size_t)plan->nsegments + 1) * sizeof *c->seg_bucket);
  if (on && sc->contagion.nspillover) c->spill = calloc(sc->contagion.nspillover, sizeof *c->spill);
  int ok = c->offset && c->call_start && c->segment && c->seg_first && c->seg_bucket &&
           (!on || !sc->contagion.nspillover || c->spill);
  if (ok) {
    for (size_t i = 0; i < n; i++) {
      c->segment[pos[i]] = (uint16_t)cas_plan_segment_of(plan, pf, i);
      for (uint64_t e = net->offset[i]; e < net->offset[i + 1]; e++) {
        int t = net->type[e];
        if (net->weight[e] * scale[t] != 0.0) c->offset[pos[i] + 1]++;
        if (t == CAS_LINK_GUARANTEE) c->call_start[pos[i] + 1]++;
      }
    }
    for (size_t k = 0; k < n; k++) {
      c->offset[k + 1] += c->offset[k];
      c->call_start[k + 1] += c->call_start[k];
    }
    c->nedges = c->offset[n];
    c->ncalls = c->call_start[n];
    c->edge = cas_alloc_large((c->nedges ? c->nedges : 1) * sizeof *c->edge, 0);
    c->call = malloc((c->ncalls ? c->ncalls : 1) * sizeof *c->call);
    c->has_calls = calloc(n / 64 + 1, sizeof *c->has_calls);
    c->has_links = calloc(n / 64 + 1, sizeof *c->has_links);
    ok = c->edge && c->call && c->has_calls && c->has_links;
  }
  for (size_t k = 0; ok && k < n; k++) {
    if (c->call_start[k + 1] > c->call_start[k]) c->has_calls[k >> 6] |= (uint64_t)1 << (k & 63);
    if (c->offset[k + 1] > c->offset[k]) c->has_links[k >> 6] |= (uint64_t)1 << (k & 63);
  }
  if (!ok) {
    free(pos);
    cas_contagion_destroy(c);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for the network model (%zu links)",
                         net->nlinks);
  }
  /* Fill, keeping each source's links in network order. A borrower's
   * guarantees cover at most its stressed EAD: if their amounts add up to
   * more, each is scaled down in proportion (the plan books the same
   * min(sum, EAD) as covered). */
  double guaranteed_ead = 0.0;
  weight_map wm = {0};
  for (size_t i = 0; ok && i < n; i++) {
    uint32_t at = c->offset[pos[i]];
    uint32_t at_call = c->call_start[pos[i]];
    long double total = 0.0L;   /* amounts near DBL_MAX must not add up to infinity */
    for (uint64_t e = net->offset[i]; e < net->offset[i + 1]; e++)
      if (net->type[e] == CAS_LINK_GUARANTEE) total += net->amount[e];
    double ead = cas_plan_stressed_ead(plan, pf, i);
    double cut = total > ead ? (double)(ead / total) : 1.0;
    guaranteed_ead += total > ead ? ead : (double)total;
    for (uint64_t e = net->offset[i]; e < net->offset[i + 1]; e++) {
      int t = net->type[e];
      uint32_t v = net->target[e];
      double w = net->weight[e] * scale[t];
      if (w != 0.0) {
        uint32_t id = weight_id(&wm, w);
        if (id == UINT32_MAX) {
          ok = 0;
          break;
        }
        c->edge[at++] = (cas_cascade_edge){pos[v], id};
      }
      if (t == CAS_LINK_GUARANTEE)
        c->call[at_call++] =
            (cas_cascade_item){pos[v], (uint32_t)cas_plan_segment_of(plan, pf, v),
                               net->amount[e] * cut * cas_plan_stressed_lgd(plan, pf, v)};
    }
  }
  c->guaranteed_ead = guaranteed_ead;
  free(pos);
  free(wm.bits);
  free(wm.id);
  c->weight = wm.weight;
  c->nweights = wm.n;
  if (!ok) {
    cas_contagion_destroy(c);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for the network model (%zu links)",
                         net->nlinks);
  }
  if (c->ncalls) {
    c->guarantor = malloc(c->ncalls * sizeof *c->guarantor);
    if (!c->guarantor) {
      cas_contagion_destroy(c);
      return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for the network model (%zu links)",
                           net->nlinks);
    }
    for (size_t i = 0; i < c->ncalls; i++) c->guarantor[i] = c->call[i].pos;
  }
  for (size_t i = 0; on && i < sc->contagion.nspillover; i++) {
    const cas_spillover *sp = &sc->contagion.spillover[i];
    if (sp->beta == 0.0) continue;
    c->spill[c->nspill++] = (cas_spill_term){sp->segment, sp->factor, sp->beta};
  }
  /* Buckets are segment-major: each segment is one range of positions
   * (empty for a segment without loans: it starts where the next one does). */
  size_t b = 0;
  int nseg = plan->nsegments;
  for (int s = 0; s < nseg; s++) {
    while (b < plan->nbuckets && plan->buckets[b].segment < s) b++;
    c->seg_bucket[s] = (uint32_t)b;
    c->seg_first[s] = b < plan->nbuckets ? plan->buckets[b].first : (uint32_t)n;
  }
  c->seg_bucket[nseg] = (uint32_t)plan->nbuckets;
  c->seg_first[nseg] = (uint32_t)n;
  *out = c;
  return CAS_OK;
}

void cas_contagion_expected_double_default(const cas_contagion *c, const cas_plan *plan,
                                           double *el) {
  /* latent covariances and mean shifts by segment: C = L L'; ca[s] = C a_s.
   * The correlation of two segments' latent variables, a_s' C a_t, is
   * formed for the pairs that guarantees join (rho below). */
  int NF = plan->nfactors, NS = plan->nsegments;
  double *ca = malloc((size_t)NS * (size_t)NF * sizeof *ca);
  double *mean = malloc((size_t)NS * sizeof *mean), *la = malloc((size_t)NF * sizeof *la);
  if (!ca || !mean || !la) {
    /* No memory for the analytic term: leave it out (the simulated loss
     * holds it all the same). */
    free(ca);
    free(mean);
    free(la);
    return;
  }
  for (int s = 0; s < NS; s++) {
    const double *a = cas_plan_loading(plan, s);
    for (int g = 0; g < NF; g++) {   /* la = L' a_s */
      la[g] = 0.0;
      for (int f = g; f < NF; f++) la[g] += plan->chol[f * NF + g] * a[f];
    }
    double *cs = &ca[(size_t)s * NF];
    for (int f = 0; f < NF; f++) {
      cs[f] = 0.0;
      for (int g = 0; g <= f; g++) cs[f] += plan->chol[f * NF + g] * la[g];
    }
    mean[s] = 0.0;
    for (int f = 0; f < NF; f++) mean[s] += a[f] * plan->shift[f];
  }
  free(la);
  /* by borrower position, in blocks of BLOCK positions summed into their
   * own rows (in parallel), then the rows in order: the total does not
   * depend on the thread count. Out of memory for the rows: one row. */
  enum { BLOCK = 4096 };
  size_t n = plan->n, nblocks = (n + BLOCK - 1) / BLOCK, block = BLOCK;
  double *part = calloc((nblocks ? nblocks : 1) * (size_t)NS, sizeof *part);
  double *one = calloc((size_t)NS, sizeof *one);
  if (!one) {
    free(part);
    free(ca);
    free(mean);
    return;
  }
  if (!part) {
    nblocks = 1;
    block = n;
  }
  double *rows = part ? part : one;
  /* With a costly copula (the t copula's joint PD is a mixture of
   * bivariate normal CDFs), each thread keeps the joint PDs it has
   * computed, by the pair's thresholds and segments (a direct-mapped
   * table): a book whose PDs come from a rating scale repeats the same
   * pairs many times. A value is a function of its key alone, so the
   * sums are the same bits whichever thread computed it, or whether it
   * came from the table. */
  enum { JCACHE_BITS = 13 };
  typedef struct { double tb, tg, pd; int sb, sg; } joint_entry;
  int costly = plan->copula->costly_pd;
  #pragma omp parallel if (part)
  {
    joint_entry *jc = costly ? malloc(((size_t)1 << JCACHE_BITS) * sizeof *jc) : NULL;
    for (size_t j = 0; jc && j < (size_t)1 << JCACHE_BITS; j++) jc[j].sb = -1;
    #pragma omp for schedule(dynamic, 1)
    for (size_t blk = 0; blk < nblocks; blk++) {
      double *mine = &rows[blk * (size_t)NS];
      size_t end = (blk + 1) * block < n ? (blk + 1) * block : n;
      for (size_t b = blk * block; b < end; b++)
        for (uint32_t k = c->call_start[b]; k < c->call_start[b + 1]; k++) {
          uint32_t g = c->call[k].pos;
          int sb = c->segment[b], sg = c->segment[g];
          double tb = plan->loans[b].threshold, tg = plan->loans[g].threshold;
          joint_entry *e = NULL;
          if (jc) {
            uint64_t x, y;
            memcpy(&x, &tb, sizeof x);
            memcpy(&y, &tg, sizeof y);
            uint64_t h = cas_rng_mix64(x ^ cas_rng_mix64(y ^ ((uint64_t)(uint32_t)sb << 32 | (uint32_t)sg)));
            e = &jc[h >> (64 - JCACHE_BITS)];
            if (e->sb == sb && e->sg == sg && memcmp(&e->tb, &tb, sizeof tb) == 0 &&
                memcmp(&e->tg, &tg, sizeof tg) == 0) {
              mine[sg] += c->call[k].value * e->pd;
              continue;
            }
          }
          const double *ab = cas_plan_loading(plan, sb), *cg = &ca[(size_t)sg * NF];
          double v = 0.0;
          for (int f = 0; f < NF; f++) v += ab[f] * cg[f];
          double rho = fmax(-1.0, fmin(1.0, v));   /* |v| < 1 (a'Ca < 1 for both), whatever rounding does */
          double pd = plan->copula->shifted_joint_pd(plan->copula, tb, mean[sb], tg, mean[sg], rho);
          if (e) *e = (joint_entry){tb, tg, pd, sb, sg};
          mine[sg] += c->call[k].value * pd;
        }
    }
    free(jc);
  }
  for (size_t blk = 0; blk < nblocks; blk++)
    for (int s = 0; s < NS; s++) el[s] += rows[blk * (size_t)NS + s];
  free(part);
  free(one);
  free(ca);
  free(mean);
}

void cas_contagion_destroy(cas_contagion *c) {
  if (!c) return;
  free(c->offset);
  free(c->edge);
  free(c->weight);
  free(c->call_start);
  free(c->call);
  free(c->has_calls);
  free(c->has_links);
  free(c->guarantor);
  free(c->segment);
  free(c->seg_first);
  free(c->seg_bucket);
  free(c->spill);
  free(c);
}

/* The normal's two tails at a bucket's largest bound t, from one
 * evaluation (the smaller one directly, the other as 1 minus it), for the
 * path, and the spill-over move, they were computed at; or, when a pass
 * needed no value (known), only the bound, to evaluate at when one does. */
typedef struct cas_bucket_tail {
  uint64_t path_serial;
  double dsys;
  double low, surv;   /* Phi(t), Phi(-t) */
  double t;
  int known;
} cas_bucket_tail;

cas_status cas_cascade_ws_create(const cas_plan *plan, int eps_all_known, uint32_t max_rounds,
                                 cas_cascade_ws **out, cas_error *err) {
  *out = NULL;
  size_t n = plan->n;
  cas_cascade_ws *ws = calloc(1, sizeof *ws);
  if (!ws) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for a cascade workspace");
  size_t m = n ? n : 1;
  ws->n = n;
  ws->eps_all_known = eps_all_known;
  ws->dbits = calloc((m + 63) / 64, sizeof *ws->dbits);
  ws->tbits = calloc((m + 63) / 64, sizeof *ws->tbits);
  ws->defaulted = malloc(m * sizeof *ws->defaulted);
  if (eps_all_known) ws->eps = cas_alloc_large(m * sizeof *ws->eps, 1);
  /* blocks of 2^BLOCK_SHIFT positions, or of the book rounded up to a
   * power of 2 (at least 64) when it is smaller */
  unsigned bits = 6;
  while (bits < BLOCK_SHIFT && ((size_t)1 << bits) < m) bits++;
  ws->block_shift = bits;
  ws->nblocks = ((m - 1) >> ws->block_shift) + 1;
  size_t bsize = (size_t)1 << ws->block_shift;
  ws->block_start = malloc((ws->nblocks + 1) * sizeof *ws->block_start);
  ws->sum = malloc(bsize * sizeof *ws->sum);
  ws->hit = calloc(bsize / 64, sizeof *ws->hit);
  /* one spill-over pass at most per round, plus the state of round 0 */
  /* epochs are packed in 14 bits of a round's target flags (below) */
  if (max_rounds >= (1u << 14) - 1) {
    cas_cascade_ws_destroy(ws);
    return cas_error_set(err, CAS_ERR_INTERNAL, "cascade: %u rounds, at most %u supported",
                         max_rounds, (1u << 14) - 2);
  }
  ws->max_epochs = max_rounds + 1;
  ws->nsegments = plan->nsegments;
  ws->nfactors = plan->nfactors;
  ws->dsys_hist = malloc((size_t)ws->max_epochs * (size_t)ws->nsegments * sizeof *ws->dsys_hist);
  ws->seg_scratch = malloc((4 * (size_t)ws->nsegments + (size_t)ws->nfactors) * sizeof(double));
  ws->nbuckets = plan->nbuckets;
  ws->tail = calloc(plan->nbuckets ? plan->nbuckets : 1, sizeof *ws->tail);
  if (!ws->dbits || !ws->tbits || !ws->defaulted || (eps_all_known && !ws->eps) ||
      !ws->block_start || !ws->sum || !ws->hit || !ws->dsys_hist || !ws->tail ||
      !ws->seg_scratch) {
    cas_cascade_ws_destroy(ws);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory: a cascade workspace of %zu loans", n);
  }
  *out = ws;
  return CAS_OK;
}

cas_status cas_cascade_watch_calls(cas_cascade_ws *ws, const cas_contagion *c, cas_error *err) {
  /* room for the calls of one default in 16 loans (beyond, the path finds
   * them from defaulted) */
  ws->called_cap = ws->n / 16 + 1024;
  ws->called = malloc((ws->called_cap + 1) * sizeof *ws->called);   /* + 1: default0's spare */
  if (!ws->called) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory: a cascade workspace");
  ws->has_calls = c->has_calls;
  return CAS_OK;
}

void cas_cascade_ws_destroy(cas_cascade_ws *ws) {
  if (!ws) return;
  free(ws->called);
  free(ws->dbits);
  free(ws->tbits);
  free(ws->defaulted);
  free(ws->eps);
  free(ws->block_start);
  free(ws->sum);
  free(ws->hit);
  free(ws->dsys_hist);
  free(ws->seg_scratch);
  free(ws->tail);
  free(ws->phi);
  free(ws->exact);
  free(ws->span);
  free(ws->dloss);
  free(ws->dseg);
  free(ws->items.v);
  free(ws->hits);
  free(ws->sorted);
  free(ws->pending.v);
  cas_touched_list *touched[] = {&ws->touched, &ws->recent, &ws->fresh, &ws->merged};
  for (size_t i = 0; i < sizeof touched / sizeof touched[0]; i++) {
    free(touched[i]->pos);
    free(touched[i]->epoch);
    free(touched[i]->shift);
    free(touched[i]->slack);
  }
  free(ws);
}

void cas_cascade_begin(cas_cascade_ws *ws) {
  /* The last path's defaults: word by word where they are few, else the
   * whole bitmap at once (sequential: cheaper than a random store per
   * default once there is one default in 8 words; at 10^6 loans the
   * default book has about 11,000 a path against 15,625 words). */
  size_t words = (ws->n + 63) / 64;
  if (ws->ndefaulted > words / 8) {
    memset(ws->dbits, 0, words * sizeof *ws->dbits);
  } else {
    for (size_t d = 0; d < ws->ndefaulted; d++) {
      uint32_t k = ws->defaulted[d];
      ws->dbits[k >> 6] = 0;   /* whole words: other bits in it are defaults too, or 0 */
    }
  }
  cas_cascade_begin_year(ws);
}

void cas_cascade_begin_year(cas_cascade_ws *ws) {
  /* fresh too: a round stopped by a failed allocation leaves its entries
   * there only */
  const cas_touched_list *lists[] = {&ws->touched, &ws->recent, &ws->fresh};
  size_t words = (ws->n + 63) / 64;
  if (ws->touched.n + ws->recent.n + ws->fresh.n > words / 8)   /* as dbits in cas_cascade_begin */
    memset(ws->tbits, 0, words * sizeof *ws->tbits);
  else
    for (size_t i = 0; i < 3; i++)
      for (size_t j = 0; j < lists[i]->n; j++) ws->tbits[lists[i]->pos[j] >> 6] = 0;
  ws->ndefaulted = 0;
  ws->ncalled = 0;
  ws->n0 = 0;
  ws->path_serial++;   /* the cached bucket tails of earlier paths are stale */
  ws->items.n = ws->touched.n = ws->recent.n = ws->fresh.n = ws->pending.n = 0;
}

static inline int is_touched(const cas_cascade_ws *ws, uint32_t k) {
  return (int)((ws->tbits[k >> 6] >> (k & 63)) & 1u);
}

/* Room for the cascade's defaults' losses and segments, doubled; 0 (and
 * ws->oom) when memory runs out. */
static int grow_cascade_defaults(cas_cascade_ws *ws) {
  size_t cap = ws->dloss_cap ? 2 * ws->dloss_cap : 1024;
  double *loss = realloc(ws->dloss, cap * sizeof *loss);
  if (loss) ws->dloss = loss;
  uint16_t *seg = loss ? realloc(ws->dseg, cap * sizeof *seg) : NULL;
  if (!seg) {
    ws->oom = 1;
    return 0;
  }
  ws->dseg = seg;
  ws->dloss_cap = cap;
  return 1;
}

/* A default of the cascade: loan k of segment s, with its loss at mean LGD
 * (loans[k].loss), kept beside it while its record is in cache, for the
 * end of the path. Out of memory: not marked (the run fails: ws->oom). */
static inline void mark_default(cas_cascade_ws *ws, uint32_t k, int s, double loss) {
  size_t i = ws->ndefaulted - ws->n0;
  if (i >= ws->dloss_cap && !grow_cascade_defaults(ws)) return;
  ws->dloss[i] = loss;
  ws->dseg[i] = (uint16_t)s;
  ws->dbits[k >> 6] |= (uint64_t)1 << (k & 63);
  ws->defaulted[ws->ndefaulted++] = k;
}

/* Room for `more` elements of `size` bytes after the n used of *v (cap
 * allocated); 0 (and ws->oom) when memory runs out. */
static int grow(cas_cascade_ws *ws, void **v, size_t *cap, size_t n, size_t more, size_t size) {
  if (n + more <= *cap) return 1;
  size_t c = *cap ? *cap : 1024;
  while (c < n + more) c *= 2;
  void *p = realloc(*v, c * size);
  if (!p) {
    ws->oom = 1;
    return 0;
  }
  *v = p;
  *cap = c;
  return 1;
}

static int reserve(cas_cascade_ws *ws, cas_cascade_list *l, size_t more) {
  return grow(ws, (void **)&l->v, &l->cap, l->n, more, sizeof *l->v);
}

static int reserve_touched(cas_cascade_ws *ws, cas_touched_list *l, size_t more) {
  if (l->n + more <= l->cap) return 1;
  size_t cap = l->cap;   /* each array grows to the same capacity, or the list keeps its own */
  int ok = grow(ws, (void **)&l->pos, &cap, l->n, more, sizeof *l->pos);
  cap = l->cap;
  ok = ok && grow(ws, (void **)&l->epoch, &cap, l->n, more, sizeof *l->epoch);
  cap = l->cap;
  ok = ok && grow(ws, (void **)&l->shift, &cap, l->n, more, sizeof *l->shift);
  cap = l->cap;
  ok = ok && grow(ws, (void **)&l->slack, &cap, l->n, more, sizeof *l->slack);
  if (ok) l->cap = cap;
  return ok;
}

static void swap_lists(cas_touched_list *a, cas_touched_list *b) {
  cas_touched_list t = *a;
  *a = *b;
  *b = t;
}

/* First index >= from of the sorted list l with pos >= k (galloping: cheap
 * when the answer is near, as it is for a walk in sorted order). */
static size_t gallop(const cas_touched_list *l, size_t from, uint32_t k) {
  size_t n = l->n;
  const uint32_t *pos = l->pos;
  if (from >= n || pos[from] >= k) return from;
  size_t lo = from, step = 1, hi = from + 1;   /* pos[lo] < k */
  while (hi < n && pos[hi] < k) {
    lo = hi;
    step *= 2;
    hi = lo + step;
  }
  if (hi > n) hi = n;
  while (hi - lo > 1) {                        /* pos[lo] < k <= pos[hi] (or hi == n) */
    size_t mid = lo + (hi - lo) / 2;
    if (pos[mid] < k) lo = mid;
    else hi = mid;
  }
  return hi;
}

/* A touched survivor: entry i of list l. */
typedef struct touched_ref {
  cas_touched_list *l;
  size_t i;
} touched_ref;

/* The entry of position k in the sorted list l (l NULL if none); *at walks
 * forward. */
static touched_ref find_touched(cas_touched_list *l, size_t *at, uint32_t k) {
  *at = gallop(l, *at, k);
  return (touched_ref){*at < l->n && l->pos[*at] == k ? l : NULL, *at};
}

/* The entry of touched survivor k (ws->tbits says it is one): in recent,
 * else in touched. */
static touched_ref find_prior(cas_cascade_ws *ws, size_t *at_r, size_t *at_t, uint32_t k) {
  touched_ref r = find_touched(&ws->recent, at_r, k);
  return r.l ? r : find_touched(&ws->touched, at_t, k);
}

static inline void copy_entry(cas_touched_list *out, size_t o, const cas_touched_list *in,
                              size_t i) {
  out->pos[o] = in->pos[i];
  out->epoch[o] = in->epoch[i];
  out->shift[o] = in->shift[i];
  out->slack[o] = in->slack[i];
}

/* out = a merged with b, both sorted, no position in both. */
static int merge_lists(cas_cascade_ws *ws, const cas_touched_list *a, const cas_touched_list *b,
                       cas_touched_list *out) {
  if (!reserve_touched(ws, out, a->n + b->n)) return 0;
  size_t i = 0, j = 0, o = 0;
  while (i < a->n && j < b->n) {
    if (a->pos[i] < b->pos[j]) copy_entry(out, o++, a, i++);
    else copy_entry(out, o++, b, j++);
  }
  for (; i < a->n; i++) copy_entry(out, o++, a, i);
  for (; j < b->n; j++) copy_entry(out, o++, b, j);
  out->n = o;
  return 1;
}

/* P(eps < t2 | eps >= t1) for t2 >= t1, without cancellation on either side. */
static double conditional_pd(double t1, double t2) {
  double surv = cas_norm_cdf(-t1);
  if (!(surv > 0.0)) return 1.0;
  double p = t2 < 0.0 ? (cas_norm_cdf(t2) - cas_norm_cdf(t1)) / surv
                      : (surv - cas_norm_cdf(-t2)) / surv;
  return p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
}

/* What a cascade knows of the path while it runs. */
typedef struct path_state {
  const cas_contagion *c;
  const cas_plan *plan;
  cas_cascade_ws *ws;
  const double *sys;         /* [nsegments] a.z of the path */
  double scale, inv_scale;
  double *inv_w;             /* [nsegments] */
  double *dsys;              /* [nsegments] spill-over move of each segment's systematic term so far (<= 0) */
  uint32_t epoch;            /* spill-over passes so far; ws->dsys_hist[e] is dsys after pass e */
  uint64_t key;              /* prefix of the keyed draws of this path */
  cas_rng *rng;              /* the path's sparse stream, for spill-over passes */
} path_state;

static const double *dsys_at(const path_state *ps, uint32_t epoch) {
  return &ps->ws->dsys_hist[(size_t)epoch * (size_t)ps->ws->nsegments];
}

/* The dense kernel's test: does survivor k of segment s with network
 * shift `shift` default now? */
static inline int dense_defaults(const path_state *ps, uint32_t k, int s, double shift) {
  return ps->scale * (ps->sys[s] + ps->dsys[s] + ps->plan->idio[s] * ps->ws->eps[k]) - shift <
         ps->plan->loans[k].threshold;
}

/* The sparse kernel's exact test, as a slack. Survivor k (segment s,
 * network shift `shift`) had its eps drawn in spill-over epoch `epoch`,
 * knowing eps >= t: eps = -Phi^-1(u Phi(-t)) for its keyed uniform u. It
 * defaults below t2, i.e. iff u Phi(-t) > Phi(-t2): the slack
 * Phi(-t2) - u Phi(-t) is negative exactly when it defaults. */
static inline double sparse_slack(const path_state *ps, uint32_t k, int s, double shift,
                                  uint32_t epoch, double u) {
  double th = ps->plan->loans[k].threshold;
  double t = (th * ps->inv_scale - ps->sys[s] - dsys_at(ps, epoch)[s]) * ps->inv_w[s];
  double t2 = ((th + shift) * ps->inv_scale - ps->sys[s] - ps->dsys[s]) * ps->inv_w[s];
  return cas_norm_cdf(-t2) - u * cas_norm_cdf(-t);
}

/* Lower bounds on the slack, so that most survivors are cleared without
 * evaluating Phi. When t2 grows by d (a hit of weight h: d = h / (scale w);
 * a spill-over move m: d = m / w), Phi(-t2) falls by at most d / sqrt(2 pi):
 * the slack by at most that much (slack_after). A survivor first touched,
 * whose bucket's largest bound t_hi is <= 0, has Phi(-t) >= 1/2, so its
 * slack is at least (1 - u) / 2 - (t2 - t) / sqrt(2 pi) (first_slack, -1
 * when t_hi > 0: unknown). The factor and the margin cover rounding, so a
 * survivor is cleared only when the exact test would clear it too. */
#define SLACK_MARGIN 1e-14
#define DEFAULTED_SLACK INFINITY   /* the slack of an entry whose loan has defaulted */
static inline double slack_after(double slack, double d) {
  return slack - CAS_INV_SQRT_2PI * d * (1.0 + 1e-9);
}

/* Whether first_slack applies to the loans of bucket bk now (t_hi <= 0),
 * and, per unit of shift, the move of their bound (1 / (scale w)). */
static inline int first_slack_applies(const path_state *ps, const cas_bucket *bk) {
  int s = bk->segment;
  double t_hi = (bk->threshold_max * ps->inv_scale - ps->sys[s] - ps->dsys[s]) * ps->inv_w[s];
  return t_hi <= 0.0;
}

static inline double first_slack(double per_shift, double shift, double u) {
  return slack_after(0.5 * (1.0 - u), shift * per_shift) - SLACK_MARGIN;
}

/* ------------------------------------------------------------------------ */
/* Regional spill-over                                                       */
/* ------------------------------------------------------------------------ */

/* Phi(t) and Phi(-t) from one evaluation, each accurate where it is small. */
static cas_bucket_tail tails(double t) {
  cas_bucket_tail x = {.t = t, .known = 1};
  if (t < 0.0) {
    x.low = cas_norm_cdf(t);
    x.surv = 1.0 - x.low;
  } else {
    x.surv = cas_norm_cdf(-t);
    x.low = 1.0 - x.surv;
  }
  return x;
}

/* P(eps < t2 | eps >= t1) from the tails at t1 <= t2. */
static double conditional_from(const cas_bucket_tail *a, const cas_bucket_tail *b, double t2) {
  if (!(a->surv > 0.0)) return 1.0;
  double p = t2 < 0.0 ? (b->low - a->low) / a->surv : (a->surv - b->surv) / a->surv;
  return p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
}

/* Sparse kernel, one bucket of a segment whose systematic term moved from
 * old to ps->dsys: every survivor that has not been touched by the network
 * is only known to satisfy eps >= t(old), and defaults now with probability
 * P(eps < t(new) | eps >= t(old)), which grows with the threshold (the
 * normal has an increasing hazard rate), so the bucket's extremes bound it
 * and the geometric-gap-and-thinning pass of the sparse kernel draws
 * exactly those that default. Candidates already defaulted, or touched
 * (their eps is fixed; spill_touched tests them), are passed over. The
 * tails at the bucket's largest bound are kept from one pass to the next,
 * so a pass costs at most one evaluation of Phi per bucket, plus the
 * candidates.
 *
 * Most passes draw no candidate in most buckets, and need no Phi to tell:
 * the first gap runs past the bucket's count trials iff its uniform
 * U <= (1 - q_max)^count, and with an upper bound q_up >= q_max,
 * U <= 1 - count r, r = q_up / (1 - q_up), implies it (Bernoulli's
 * inequality, and -log(1 - q) <= q / (1 - q)), with the computed gap too
 * (the factor 1 + 1e-6 and the absolute terms cover rounding, of the
 * tails and of a cached bound a few ulps away alike). The bound: q_max is
 * at most move times the normal's hazard rate at x = t_hi + move (it
 * grows), which is below its value at 0, sqrt(2 / pi) < 0.8, for x <= 0,
 * and below (x + sqrt(x^2 + 4)) / 2 for x > 0 (Birnbaum, "An inequality
 * for Mills' ratio", Ann. Math. Statist. 13, 1942). When that leaves the
 * pass undecided and t2 <= 0 (most buckets, whose bounds lie in the lower
 * tail), a tighter bound is tried: phi grows up to 0 and Phi(-t_hi) >= 1/2,
 * so q_max = (Phi(t2) - Phi(t_hi)) / Phi(-t_hi) <= 2 move phi(t2) (one exp,
 * not the tails' erfc; about 7 times tighter at t2 = -2). That uniform is the
 * one the gaps draw first, so the stream and the candidates are those of
 * the full pass. The bounds keep q_max > 0 (the full pass draws nothing
 * otherwise): |t| <= 30, move >= 1e-10. The bucket's tails are then kept
 * as the bound alone, evaluated when a pass needs them. */
static void spill_bucket_sparse(path_state *ps, size_t b, double old) {
  cas_cascade_ws *ws = ps->ws;
  const cas_bucket *bk = &ps->plan->buckets[b];
  int s = bk->segment;
  double a = ps->sys[s], inv_w = ps->inv_w[s], move = (old - ps->dsys[s]) * inv_w;
  double t_hi = (bk->threshold_max * ps->inv_scale - a - old) * inv_w, t2 = t_hi + move;
  cas_bucket_tail *cache = &ws->tail[b];
  int cached = cache->path_serial == ws->path_serial && cache->dsys == old;
  double first_u = 0.0;
  if (move >= 1e-10 && t_hi >= -30.0 && t2 <= 30.0 && !ws->full_spill) {
    double hazard = t2 <= 0.0 ? 0.8 : 0.5 * (t2 + sqrt(t2 * t2 + 4.0));
    for (int tight = 0;; tight = 1) {
      double q_up = (move + 1e-12) * hazard * (1.0 + 1e-6) + 1e-11;
      double r = q_up / (1.0 - q_up) * (1.0 + 1e-6), all = (double)bk->count * r;
      if (q_up < 0.5 && all < 1.0) {
        if (first_u == 0.0) first_u = cas_rng_uniform_open(ps->rng);
        if (first_u <= 1.0 - all - 1e-15) {
          *cache = (cas_bucket_tail){.path_serial = ws->path_serial, .dsys = ps->dsys[s], .t = t2};
          ws->spill_decided++;
          return;
        }
      }
      if (tight || !(t2 <= 0.0)) break;
      hazard = 2.0 * CAS_INV_SQRT_2PI * exp(-0.5 * t2 * t2) * (1.0 + 1e-6);
    }
  }
  cas_bucket_tail before = !cached ? tails(t_hi) : cache->known ? *cache : tails(cache->t);
  cas_bucket_tail after = tails(t2);
  after.path_serial = ws->path_serial;
  after.dsys = ps->dsys[s];
  *cache = after;
  double q_max = conditional_from(&before, &after, t2);
  if (!(q_max > 0.0)) return;
  double q_min = -1.0;   /* the squeeze, computed when a candidate needs it */
  const cas_plan_loan *ln = &ps->plan->loans[bk->first];
  cas_gaps gaps;
  cas_gaps_init(&gaps, q_max, bk->count);
  if (first_u > 0.0) cas_gaps_first(&gaps, first_u);
  uint32_t pos[SPILL_BATCH];
  int m;
  while ((m = cas_gaps_next(&gaps, ps->rng, pos, SPILL_BATCH, ln, sizeof *ln)) > 0) {
    for (int j = 0; j < m; j++) {
      double v = cas_rng_uniform(ps->rng) * q_max;
      uint32_t k = bk->first + pos[j];
      if (cas_cascade_is_defaulted(ws, k) || is_touched(ws, k)) continue;
      if (q_min < 0.0) {
        double t_lo = (bk->threshold_min * ps->inv_scale - a - old) * inv_w;
        q_min = conditional_pd(t_lo, t_lo + move);
      }
      double t = (ln[pos[j]].threshold * ps->inv_scale - a - old) * inv_w;
      if (v < q_min || v < conditional_pd(t, t + move)) mark_default(ws, k, s, ln[pos[j]].loss);
    }
  }
}

/* The touched survivors of segment s in the sorted list l (sparse kernel),
 * after its systematic term fell by `moved`: their eps are fixed, so the
 * new term decides directly, most of them by their slack. */
/* The slacks of a segment's entries are lowered a chunk at a time, in a
 * loop the compiler vectorises, counting the chunk's entries whose bound no
 * longer clears them (most chunks have none); those then take the exact
 * test in order. An entry whose loan has defaulted is never read again for
 * a decision: its slack is set to +infinity (DEFAULTED_SLACK) when the loan
 * defaults, so that it never counts as unclear (else every chunk holding a
 * cascade default would be searched entry by entry in every pass). */
enum { SLACK_CHUNK = 64 };

static void spill_touched(path_state *ps, cas_touched_list *l, int s, double moved) {
  cas_cascade_ws *ws = ps->ws;
  const cas_contagion *c = ps->c;
  double d = moved * ps->inv_w[s];
  size_t i0 = gallop(l, 0, c->seg_first[s]), i1 = gallop(l, i0, c->seg_first[s + 1]);
  double *slack = l->slack;
  for (size_t from = i0; from < i1; from += SLACK_CHUNK) {
    size_t to = from + SLACK_CHUNK < i1 ? from + SLACK_CHUNK : i1;
    /* the new bound is below the old one: it clears the survivor iff both
     * did */
    double unclear = 0.0;   /* a count; a double so that the loop vectorises */
    for (size_t i = from; i < to; i++) {
      double now = slack_after(slack[i], d);
      unclear += now >= 0.0 ? 0.0 : 1.0;
      slack[i] = now;
    }
    for (size_t i = from; unclear > 0.0 && i < to; i++) {
      if (slack[i] >= 0.0) continue;
      unclear -= 1.0;
      uint32_t k = l->pos[i];
      if (cas_cascade_is_defaulted(ws, k)) {
        slack[i] = DEFAULTED_SLACK;
        continue;
      }
      double exact = sparse_slack(ps, k, s, l->shift[i], l->epoch[i],
                                  cas_rng_keyed_next(ps->key, k));
      if (exact < 0.0) {
        mark_default(ws, k, s, ps->plan->loans[k].loss);
        slack[i] = DEFAULTED_SLACK;
      } else {
        slack[i] = exact - SLACK_MARGIN;
      }
    }
  }
}

/* Dense kernel: every survivor of segment s, with its network shift. */
static void spill_segment_dense(path_state *ps, int s) {
  cas_cascade_ws *ws = ps->ws;
  const cas_contagion *c = ps->c;
  size_t at_t = 0, at_r = 0;
  for (uint32_t k = c->seg_first[s]; k < c->seg_first[s + 1]; k++) {
    if (cas_cascade_is_defaulted(ws, k)) continue;
    double shift = 0.0;
    if (is_touched(ws, k)) {
      touched_ref r = find_prior(ws, &at_r, &at_t, k);
      shift = r.l->shift[r.i];
    }
    if (dense_defaults(ps, k, s, shift)) mark_default(ws, k, s, ps->plan->loans[k].loss);
  }
}

/* Spill-over at the start of a round: factors move by -beta x the default
 * rate of each term's segment so far; each segment's systematic term by
 * its loadings on them, only ever down (a move up, through a negative
 * loading, is ignored: spill-over is adverse). The survivors of the
 * segments that moved are then tested again. */
static void spill_over(path_state *ps, const double *count) {
  const cas_contagion *c = ps->c;
  const cas_plan *plan = ps->plan;
  if (c->nspill == 0) return;
  int nseg = plan->nsegments, nf = plan->nfactors;
  double *old = ps->ws->seg_scratch + 3 * (size_t)nseg, *dz = old + nseg;
  for (int f = 0; f < nf; f++) dz[f] = 0.0;
  for (size_t t = 0; t < c->nspill; t++) {
    const cas_spill_term *term = &c->spill[t];
    double loans = (double)plan->unstressed.loans[term->segment];
    if (loans > 0) dz[term->factor] -= term->beta * count[term->segment] / loans;
  }
  int any = 0;
  for (int s = 0; s < nseg; s++) {
    double v = 0.0;
    const double *a = cas_plan_loading(plan, s);
    for (int f = 0; f < nf; f++) v += a[f] * dz[f];
    old[s] = ps->dsys[s];
    if (v < ps->dsys[s]) {
      ps->dsys[s] = v;
      any = 1;
    }
  }
  if (!any) return;
  ps->epoch++;
  memcpy(&ps->ws->dsys_hist[(size_t)ps->epoch * (size_t)nseg], ps->dsys,
         (size_t)nseg * sizeof *ps->dsys);
  for (int s = 0; s < nseg; s++) {
    if (!(ps->dsys[s] < old[s])) continue;
    if (ps->ws->eps_all_known) {
      spill_segment_dense(ps, s);
      continue;
    }
    for (uint32_t b = c->seg_bucket[s]; b < c->seg_bucket[s + 1]; b++)
      spill_bucket_sparse(ps, b, old[s]);
    spill_touched(ps, &ps->ws->touched, s, old[s] - ps->dsys[s]);
    spill_touched(ps, &ps->ws->recent, s, old[s] - ps->dsys[s]);
  }
}

/* ------------------------------------------------------------------------ */
/* Network rounds                                                            */
/* ------------------------------------------------------------------------ */

/* A round's hits: the weighted links of defaulted[d0, d1), in that order.
 * Three passes, so that no prefetch's address waits on a load: the sources
 * that have links (a bitmap), their link ranges (offsets read OFFSET_AHEAD
 * sources after their prefetch, into ws->span), then the links, each
 * source's prefetched EDGES_AHEAD sources ahead from its range. A defaulted loan has two links
 * at the median, so prefetching within one would hide nothing. */
enum { OFFSET_AHEAD = 32, EDGES_AHEAD = 16 };

static int gather(const cas_contagion *c, cas_cascade_ws *ws, size_t d0, size_t d1, size_t *m) {
  size_t *count = ws->block_start + 1;
  unsigned shift = ws->block_shift;
  memset(ws->block_start, 0, (ws->nblocks + 1) * sizeof *ws->block_start);
  size_t n = d1 - d0, nd = 0;
  if (!grow(ws, (void **)&ws->span, &ws->span_cap, 0, n, 3 * sizeof *ws->span)) return 0;
  /* the sources that have links (on the default book, a third of the
   * loans), without a branch on the bit: the others' offsets are not read */
  uint32_t *src = ws->span + 2 * n, *span = ws->span;
  const uint64_t *has = c->has_links;
  for (size_t j = d0; j < d1; j++) {
    uint32_t u = ws->defaulted[j];
    src[nd] = u;
    nd += (size_t)((has[u >> 6] >> (u & 63)) & 1u);
  }
  const uint32_t *off = c->offset;
  size_t total = 0;
  for (size_t j = 0; j < nd && j < OFFSET_AHEAD; j++) __builtin_prefetch(&off[src[j]]);
  for (size_t j = 0; j < nd; j++) {
    if (j + OFFSET_AHEAD < nd) __builtin_prefetch(&off[src[j + OFFSET_AHEAD]]);
    uint32_t e0 = off[src[j]], e1 = off[src[j] + 1];
    span[2 * j] = e0;
    span[2 * j + 1] = e1;
    total += e1 - e0;
  }
  if (!grow(ws, (void **)&ws->hits, &ws->hits_cap, 0, total, sizeof *ws->hits)) return 0;
  cas_cascade_hit *out = ws->hits;
  const cas_cascade_edge *edge = c->edge;
  for (size_t j = 0; j < nd && j < EDGES_AHEAD; j++) __builtin_prefetch(&edge[span[2 * j]]);
  for (size_t j = 0; j < nd; j++) {
    if (j + EDGES_AHEAD < nd) __builtin_prefetch(&edge[span[2 * (j + EDGES_AHEAD)]]);
    for (uint32_t e = span[2 * j]; e < span[2 * j + 1]; e++) {
      uint32_t t = edge[e].target;
      *out++ = (cas_cascade_hit){t, edge[e].weight};
      count[t >> shift]++;
    }
  }
  *m = total;
  return 1;
}

/* Flags in the pad of a round's targets that take the exact test: the
 * segment (16 bits: up to CAS_SEGMENTS_MAX segments), whether it was
 * touched before; the epoch above (14 bits: at most max_rounds + 1 <= 1001
 * epochs). */
enum { T_SEGMENT = 0xffff, T_PRIOR = 0x10000, T_EPOCH_SHIFT = 18, DECIDE_AHEAD = 16 };
_Static_assert(CAS_SEGMENTS_MAX - 1 <= T_SEGMENT, "a segment must fit the target flags");

/* One target of a round (pass 1 below): position v, not defaulted, hit
 * for `hit` in all this round; tw: whether it has a touched entry; st: the
 * walks' cursors (bucket, touched lists) and fresh. Returns 1 when v takes the exact test, written at *x with
 * its flags (at_fresh: its entry's index in fresh, or UINT32_MAX). */
typedef struct pass1_state {
  cas_touched_list *f;
  size_t at_t, at_r, b;
  /* of bucket b: its end, segment, whether first_slack applies, and the
   * bound's move per unit of shift (the round's dsys is fixed) */
  uint32_t end;
  int s, first_applies;
  double per_shift;
} pass1_state;

/* Moves st to the bucket that holds position v (at or after st->b). */
static void pass1_bucket(const path_state *ps, pass1_state *st, uint32_t v) {
  const cas_bucket *bk = ps->plan->buckets;
  while (v >= bk[st->b].first + bk[st->b].count) st->b++;
  st->end = bk[st->b].first + bk[st->b].count;
  st->s = bk[st->b].segment;
  st->first_applies = first_slack_applies(ps, &bk[st->b]);
  st->per_shift = ps->inv_scale * ps->inv_w[st->s];
}

static inline int pass1_target(path_state *ps, pass1_state *st, uint32_t v, double hit, int tw,
                               cas_cascade_item *x, uint32_t *at_fresh_out) {
  cas_cascade_ws *ws = ps->ws;
  const cas_plan *plan = ps->plan;
  int sparse = !ws->eps_all_known;
  if (v >= st->end) pass1_bucket(ps, st, v);
  int s = st->s;
  uint32_t flags = (uint32_t)s, epoch = ps->epoch, at_fresh = UINT32_MAX;
  double shift = hit;
  if (tw) {
    touched_ref prior = find_prior(ws, &st->at_r, &st->at_t, v);
    cas_touched_list *l = prior.l;
    size_t i = prior.i;
    shift = l->shift[i] + hit;
    l->shift[i] = shift;
    epoch = l->epoch[i];
    flags |= T_PRIOR;
    if (sparse) {
      double slack = slack_after(l->slack[i], hit * st->per_shift);
      int clears = l->slack[i] >= 0.0 && slack >= 0.0;
      l->slack[i] = slack;   /* a lower bound, or negative: unknown */
      if (clears) return 0;
    }
  } else {
    cas_touched_list *f = st->f;
    double first = -1.0;
    if (sparse && st->first_applies)
      first = first_slack(st->per_shift, shift, cas_rng_keyed_next(ps->key, v));
    at_fresh = (uint32_t)f->n;
    f->pos[f->n] = v;
    f->epoch[f->n] = epoch;
    f->shift[f->n] = shift;
    f->slack[f->n++] = first;
    if (first >= 0.0) return 0;
  }
  /* the exact test (pass 1b) reads the loan's threshold: its line is
   * fetched now, a round's pass ahead (a round's exact tests touch
   * about 1,000 lines) */
  if (sparse) __builtin_prefetch(&plan->loans[v]);
  *x = (cas_cascade_item){v, flags | epoch << T_EPOCH_SHIFT, shift};
  *at_fresh_out = at_fresh;
  return 1;
}

/* Pass 1 of a round (network_round): the blocks' hits, by_block (block b
 * ends at start[b]), added up by target, and the targets not yet
 * defaulted through pass1_target; returns the number of exact tests,
 * listed in ws->items.v and ws->exact. Out of line, as network_round is:
 * inlined into path_network, their loops reloaded pointers from the stack
 * (7.19M instructions a path on the on_top book, 7.05M out of line). */
__attribute__((noinline)) static size_t pass1(path_state *ps, const cas_cascade_hit *by_block,
                                              const size_t *start) {
  cas_cascade_ws *ws = ps->ws;
  size_t nb = ws->nblocks;
  unsigned bshift = ws->block_shift;
  const double *weight = ps->c->weight;
  cas_cascade_item *tg = ws->items.v;   /* the exact tests */
  uint32_t *ex = ws->exact;
  size_t q = 0, from = 0;
  pass1_state st = {.f = &ws->fresh};
  pass1_bucket(ps, &st, 0);
  double *sum = ws->sum;
  uint64_t *hit = ws->hit;
  size_t words = ((size_t)1 << bshift) / 64;
  for (size_t b = 0; b < nb; b++) {
    size_t to = start[b];
    if (to == from) continue;
    uint32_t base = (uint32_t)(b << bshift);
    for (size_t i = from; i < to; i++) {
      uint32_t off = by_block[i].pos - base;
      uint64_t bit = (uint64_t)1 << (off & 63);
      if (hit[off >> 6] & bit) {
        sum[off] += weight[by_block[i].weight];
      } else {
        hit[off >> 6] |= bit;
        sum[off] = weight[by_block[i].weight];
      }
    }
    for (size_t wi = 0; wi < words; wi++) {
      uint64_t word = hit[wi];
      if (!word) continue;
      hit[wi] = 0;
      size_t w = (base >> 6) + wi;   /* blocks are whole words of dbits and tbits */
      word &= ~ws->dbits[w];
      uint64_t touched = ws->tbits[w];
      ws->tbits[w] = touched | word;   /* the first touched join fresh in pass1_target */
      while (word) {
        unsigned bit = (unsigned)__builtin_ctzll(word);
        word &= word - 1;
        uint32_t off = (uint32_t)(wi * 64 + bit);
        q += (size_t)pass1_target(ps, &st, base + off, sum[off], (int)((touched >> bit) & 1u),
                                  &tg[q], &ex[q]);
      }
    }
    from = to;
  }

  return q;
}

/* One round of network hits from defaulted[d0, d1).
 *
 * The hits (ws->hits, in frontier order, counted by block as gathered)
 * are added up by target, at their links' weights: one stable
 * counting-sort pass by block into ws->sorted, then, block by block, the
 * sums in a block-sized array, each target's hits in frontier order. The
 * block's targets not yet defaulted then take pass 1 in increasing
 * position, a word of 64 positions at a time (the default and touched
 * bits read once a word).
 *
 * Pass 1: the total shift, with the earlier rounds' from the touched lists
 * (updated in place, with the slack), its segment from the bucket it lies
 * in, the epoch of its eps, and whether its slack (or, when first touched,
 * the bound from its bucket's largest threshold) clears it without reading
 * its own threshold. A target first touched joins fresh now, in increasing
 * position, with its bound as its slack (pass 2 replaces it if it takes
 * the exact test); the others, and every target of the dense kernel, are
 * listed for the exact test (in ws->items, with their index in fresh in
 * ws->exact). A target that then defaults keeps its entry, its slack set
 * to +infinity: the entries of defaulted loans are never read again for a
 * decision (every search is for a survivor, every scan passes them over). */
__attribute__((noinline)) static int network_round(path_state *ps, size_t d0, size_t d1) {
  cas_cascade_ws *ws = ps->ws;
  const cas_plan *plan = ps->plan;
  int sparse = !ws->eps_all_known;
  size_t m = 0, nb = ws->nblocks;
  if (!gather(ps->c, ws, d0, d1, &m)) return 0;
  unsigned bshift = ws->block_shift;
  size_t *start = ws->block_start;
  if (!grow(ws, (void **)&ws->sorted, &ws->sorted_cap, 0, m, sizeof *ws->sorted)) return 0;
  ws->items.n = 0;
  if (!reserve(ws, &ws->items, m)) return 0;
  ws->fresh.n = 0;
  if (!reserve_touched(ws, &ws->fresh, m)) return 0;
  if (!grow(ws, (void **)&ws->exact, &ws->exact_cap, 0, m, sizeof *ws->exact)) return 0;
  const cas_cascade_hit *in = ws->hits;
  for (size_t b = 0; b < nb; b++) start[b + 1] += start[b];
  cas_cascade_hit *by_block = ws->sorted;
  for (size_t i = 0; i < m; i++) by_block[start[in[i].pos >> bshift]++] = in[i];
  /* now block b holds by_block[b ? start[b - 1] : 0, start[b]) */
  cas_cascade_item *tg = ws->items.v;   /* the exact tests */
  uint32_t *ex = ws->exact;
  size_t q = pass1(ps, by_block, start);

  /* Pass 1b (sparse kernel): the exact tests' two values of Phi,
   * Phi(-t2) and Phi(-t), four at a time (cas_norm_cdf_many), reading the
   * loans' thresholds (prefetched in pass 1). */
  const double *phi = NULL;
  if (sparse) {
    if (q && !grow(ws, (void **)&ws->phi, &ws->phi_cap, 0, 4 * q, sizeof *ws->phi)) return 0;
    double *x = ws->phi, *p = ws->phi + 2 * q;
    for (size_t j = 0; j < q; j++) {
      const cas_cascade_item *t = &tg[j];
      uint32_t flags = t->aux;
      int s = (int)(flags & T_SEGMENT);
      double th = plan->loans[t->pos].threshold;
      x[2 * j] = -((th + t->value) * ps->inv_scale - ps->sys[s] - ps->dsys[s]) * ps->inv_w[s];
      x[2 * j + 1] = -(th * ps->inv_scale - ps->sys[s] - dsys_at(ps, flags >> T_EPOCH_SHIFT)[s]) *
                     ps->inv_w[s];
    }
    cas_norm_cdf_many(x, p, 2 * q);
    phi = p;
  }

  /* Pass 2, in order: the exact test (the dense kernel's reads the loan's
   * threshold, prefetched ahead; the sparse kernel's takes pass 1b's
   * values, and cas_norm_cdf's where they are too close to call); defaults
   * join the frontier in increasing position, survivors keep their new
   * slack. */
  size_t at_t = 0, at_r = 0;
  cas_touched_list *f = &ws->fresh;
  for (size_t j = 0; j < q; j++) {
    if (!sparse && j + DECIDE_AHEAD < q) {
      uint32_t ahead = tg[j + DECIDE_AHEAD].pos;
      __builtin_prefetch(&plan->loans[ahead]);
      __builtin_prefetch(&ws->eps[ahead]);
    }
    const cas_cascade_item *t = &tg[j];
    uint32_t v = t->pos, flags = t->aux, epoch = flags >> T_EPOCH_SHIFT;
    int s = (int)(flags & T_SEGMENT);
    double shift = t->value;
    if (!sparse) {
      if (dense_defaults(ps, v, s, shift)) mark_default(ws, v, s, plan->loans[v].loss);
      continue;
    }
    double u = cas_rng_keyed_next(ps->key, v);
    /* Each of pass 1b's values is within a relative CAS_NORM_CDF_MANY_TOL
     * of cas_norm_cdf's, so the slack from them within err of
     * sparse_slack's: beyond that the sign is sparse_slack's, and
     * slack - err a lower bound on it. */
    double p2 = phi[2 * j], p1 = phi[2 * j + 1];
    double exact = p2 - u * p1, err = 4.0 * CAS_NORM_CDF_MANY_TOL * (p2 + u * p1);
    if (!(fabs(exact) > err) || ws->scalar_exact) exact = sparse_slack(ps, v, s, shift, epoch, u);
    else if (exact > 0.0) exact -= err;
    double slack = exact - SLACK_MARGIN;
    if (exact < 0.0) {
      mark_default(ws, v, s, plan->loans[v].loss);
      slack = DEFAULTED_SLACK;
    }
    if (flags & T_PRIOR) {
      touched_ref prior = find_prior(ws, &at_r, &at_t, v);
      prior.l->slack[prior.i] = slack;
    } else {
      f->slack[ex[j]] = slack;
    }
  }

  /* Survivors first touched now join recent; recent joins touched once it
   * is a quarter of its size, so that both walks stay short. A merge into
   * an empty list is a swap (round 1's, the largest). */
  if (ws->fresh.n) {
    if (ws->recent.n == 0) {
      swap_lists(&ws->recent, &ws->fresh);
      ws->fresh.n = 0;
    } else {
      if (!merge_lists(ws, &ws->recent, &ws->fresh, &ws->merged)) return 0;
      swap_lists(&ws->recent, &ws->merged);
    }
    if (ws->recent.n * 4 > ws->touched.n) {
      if (ws->touched.n == 0) {
        swap_lists(&ws->touched, &ws->recent);
      } else {
        if (!merge_lists(ws, &ws->touched, &ws->recent, &ws->merged)) return 0;
        swap_lists(&ws->touched, &ws->merged);
      }
      ws->recent.n = 0;
    }
  }
  return 1;
}

/* ------------------------------------------------------------------------ */
/* The path                                                                  */
/* ------------------------------------------------------------------------ */

/* With a stochastic LGD model: what the path draws for each loan (the
 * kernels draw the same, plan.c), so that an amount booked at a loan's mean
 * LGD is lost at the loan's draw instead. */
typedef struct lgd_draws {
  const cas_plan *plan;
  const cas_contagion *c;
  uint64_t key;
  const double *sys;
} lgd_draws;

static lgd_draws draws_of(const cas_contagion *c, const cas_plan *plan, const cas_cascade_ws *ws,
                          uint64_t path, const double *sys) {
  lgd_draws ld = {.plan = plan, .c = c, .sys = sys};
  if (plan->lgd_mean)
    ld.key = cas_rng_keyed_prefix(plan->seed, cas_rng_purpose_year(CAS_RNG_LGD, ws->year),
                                  plan->first_stream + path);
  return ld;
}

/* value: an amount lost at loan k's mean LGD [CNY]; the same at its draw. */
static double at_draw(const lgd_draws *ld, uint32_t k, double value) {
  const cas_plan *plan = ld->plan;
  if (!plan->lgd_mean) return value;
  double mean = plan->lgd_mean[k];
  if (!(mean > 0.0)) return 0.0;
  int s = ld->c->segment[k];
  return value / mean * cas_plan_loss_fraction(plan, ld->key, k, s, ld->sys[s]);
}

/* Lost calls found but not yet booked (book_listed): call k of borrower b. */
enum { LOST_CHUNK = 256 };
typedef struct lost_calls {
  uint32_t k[LOST_CHUNK], b[LOST_CHUNK];
  int n;
} lost_calls;

/* Books the lost calls found so far, in the order found, their lines
 * prefetched first so that their misses overlap. */
static void book_lost(const cas_contagion *c, const lgd_draws *ld, lost_calls *l, double *seg,
                      double *dd, const cas_loan_sink *sink) {
  for (int i = 0; i < l->n; i++) __builtin_prefetch(&c->call[l->k[i]]);
  for (int i = 0; i < l->n; i++) {
    const cas_cascade_item *call = &c->call[l->k[i]];
    /* the covered part is the borrower's, lost at the borrower's LGD */
    double value = at_draw(ld, l->b[i], call->value);
    seg[call->aux] += value;
    *dd += value;
    cas_loan_sink_book(sink, call->pos, value);
  }
  l->n = 0;
}

/* The calls of borrowers with[0, m), in that order: a covered part is lost
 * if the guarantor has defaulted, to seg; else it waits in pending (NULL:
 * it is not lost). Software-pipelined: each borrower's first guarantor is
 * prefetched AHEAD borrowers ahead, and its call_start twice as far ahead,
 * so that no load waits on another. */
enum { AHEAD = 32 };

static void book_listed(const cas_contagion *c, const lgd_draws *ld, cas_cascade_ws *ws,
                        const uint32_t *with, size_t m, double *seg, cas_pending_list *pending,
                        double *dd, const cas_loan_sink *sink) {
  const uint32_t *cs = c->call_start;
  size_t lead = 2 * AHEAD;
  for (size_t j = 0; j < m && j < lead; j++) __builtin_prefetch(&cs[with[j]]);
  /* Only the lost calls are read: the guarantors' positions tell which
   * (about 1 call in 40 on the default book), and those are booked a chunk
   * at a time, in the order of the calls. The others wait in pending, if
   * there is one, as (call, borrower), in the same order. */
  const uint32_t *gp = c->guarantor;
  lost_calls l;
  l.n = 0;
  for (size_t j = 0; j < m && j < AHEAD; j++) __builtin_prefetch(&gp[cs[with[j]]]);
  for (size_t j = 0; j < m; j++) {
    if (j + lead < m) __builtin_prefetch(&cs[with[j + lead]]);
    if (j + AHEAD < m) __builtin_prefetch(&gp[cs[with[j + AHEAD]]]);
    for (uint32_t k = cs[with[j]]; k < cs[with[j] + 1]; k++) {
      if (!cas_cascade_is_defaulted(ws, gp[k])) {
        if (pending && grow(ws, (void **)&pending->v, &pending->cap, pending->n, 1,
                            sizeof *pending->v))
          pending->v[pending->n++] = (cas_pending_call){gp[k], k, with[j]};
        continue;
      }
      if (l.n == LOST_CHUNK) book_lost(c, ld, &l, seg, dd, sink);
      l.k[l.n] = k;
      l.b[l.n++] = with[j];
    }
  }
  book_lost(c, ld, &l, seg, dd, sink);
}

static void book_calls(const cas_contagion *c, const lgd_draws *ld, cas_cascade_ws *ws, size_t d0,
                       size_t d1, double *seg, cas_pending_list *pending, double *dd,
                       const cas_loan_sink *sink) {
  /* Most defaulted borrowers have no guarantee, and only those that have
   * read call_start and then their calls (or guarantors), two dependent
   * cache misses at positions the defaults give. Round 0's were listed by
   * the kernel as they defaulted; other rounds' are picked out of
   * defaulted by a bitmap (n / 8 bytes, in cache), a chunk at a time.
   * Calls are booked in the order of the defaults. */
  if (d0 == 0 && d1 == ws->n0 && ws->has_calls && ws->ncalled <= ws->called_cap) {
    book_listed(c, ld, ws, ws->called, ws->ncalled, seg, pending, dd, sink);
    return;
  }
  enum { CHUNK = 512 };
  uint32_t with[CHUNK];
  for (size_t d = d0; d < d1;) {
    size_t m = 0;
    for (; d < d1 && m < CHUNK; d++) {
      uint32_t b = ws->defaulted[d];
      if ((c->has_calls[b >> 6] >> (b & 63)) & 1u) with[m++] = b;
    }
    book_listed(c, ld, ws, with, m, seg, pending, dd, sink);
  }
}

/* Adds defaulted[d0, d1) up by segment into count. Consecutive defaults
 * mostly share a segment (round 0's come bucket by bucket, a segment's
 * buckets one after the other), and a segment's loans are the positions
 * [seg_first[s], seg_first[s + 1]): a default inside the current run's
 * range is counted without reading its segment (a cache miss at a random
 * position); only a default outside it looks its segment up and starts a
 * run. One add per run, not a chain of adds to the same memory (the counts
 * are whole numbers: the same either way). */
static void count_defaults(const cas_contagion *c, const cas_cascade_ws *ws, size_t d0, size_t d1,
                           double *count) {
  if (d0 >= d1) return;
  int s = c->segment[ws->defaulted[d0]];
  uint32_t lo = c->seg_first[s], hi = c->seg_first[s + 1];
  double run = 0.0;
  for (size_t d = d0; d < d1; d++) {
    uint32_t v = ws->defaulted[d];
    if (v - lo >= hi - lo) {   /* outside [lo, hi) */
      count[s] += run;
      s = c->segment[v];
      lo = c->seg_first[s];
      hi = c->seg_first[s + 1];
      run = 0.0;
    }
    run += 1.0;
  }
  count[s] += run;
}

/* The none model: round 0's guarantees only. A covered part is lost if
 * the guarantor defaulted in round 0 too; otherwise the guarantor pays. */
static void path_none(const cas_contagion *c, const cas_plan *plan, cas_cascade_ws *ws,
                      uint64_t path, const double *sys, double scale, cas_rng *rng,
                      cas_cascade_out *out) {
  (void)plan, (void)path, (void)sys, (void)scale, (void)rng;
  ws->n0 = ws->ndefaulted;
  out->rounds = 0;
  out->truncated = 0;
  out->double_default = 0.0;
  lgd_draws ld = draws_of(c, plan, ws, path, sys);
  book_calls(c, &ld, ws, 0, ws->n0, out->factor_seg_loss, NULL, &out->double_default, out->sink);
}

/* The network model: round 0's guarantees, then the cascade. */
static void path_network(const cas_contagion *c, const cas_plan *plan, cas_cascade_ws *ws,
                         uint64_t path, const double *sys, double scale, cas_rng *rng,
                         cas_cascade_out *out) {
  size_t n0 = ws->ndefaulted;
  ws->n0 = n0;
  out->rounds = 0;
  out->truncated = 0;
  out->double_default = 0.0;

  /* Round 0's guarantees: double defaults between round-0 defaults are
   * factor loss; the rest wait for the cascade (which may break the
   * guarantor). */
  lgd_draws ld = draws_of(c, plan, ws, path, sys);
  book_calls(c, &ld, ws, 0, n0, out->factor_seg_loss, &ws->pending, &out->double_default,
             out->sink);
  int nseg = plan->nsegments;
  for (int s = 0; s < nseg; s++) out->seg_loss[s] = 0.0;
  for (uint32_t r = 0; r <= c->max_rounds; r++) out->by_round[r] = 0;
  out->by_round[0] = (int32_t)n0;

  path_state ps = {.c = c, .plan = plan, .ws = ws, .sys = sys, .scale = scale,
                   .inv_scale = 1.0 / scale, .epoch = 0, .rng = rng,
                   .key = cas_rng_keyed_prefix(plan->seed,
                                               cas_rng_purpose_year(CAS_RNG_CONTAGION, ws->year),
                                               plan->first_stream + path)};
  ps.inv_w = ws->seg_scratch;
  ps.dsys = ps.inv_w + nseg;
  double *count = ps.dsys + nseg;   /* defaults so far by segment */
  for (int s = 0; s < nseg; s++) {
    ps.inv_w[s] = 1.0 / plan->idio[s];
    ps.dsys[s] = 0.0;
    count[s] = 0.0;
  }
  memcpy(ws->dsys_hist, ps.dsys, (size_t)nseg * sizeof *ps.dsys);
  count_defaults(c, ws, 0, n0, count);

  /* Each round: spill-over from the default rates so far, then the hits of
   * the previous round's defaults (the frontier, fixed when the round
   * starts). A survivor's shift is the sum of its hits: each round's hits
   * added in frontier order, then added to the total of the earlier
   * rounds. It defaults in the round in which its latent variable first
   * falls below its threshold (shifts only grow and systematic terms only
   * fall, so deciding once per round decides as deciding after each hit
   * would). */
  size_t frontier = 0, frontier_end = n0;
  for (uint32_t round = 1; round <= c->max_rounds; round++) {
    size_t new_start = ws->ndefaulted;
    spill_over(&ps, count);
    if (frontier_end > frontier && !network_round(&ps, frontier, frontier_end)) return;
    if (ws->oom) return;
    size_t fresh = ws->ndefaulted - new_start;
    out->by_round[round] = (int32_t)fresh;
    if (fresh == 0) break;
    out->rounds = (int32_t)round;
    count_defaults(c, ws, new_start, ws->ndefaulted, count);
    frontier = new_start;
    frontier_end = ws->ndefaulted;
    if (round == c->max_rounds) out->truncated = 1;
  }

  /* Contagion loss: the uncovered part of every loan that defaulted after
   * round 0, then the covered parts lost in the cascade: guarantees of
   * round-0 defaults on guarantors the cascade broke, in the order they
   * were called, and the guarantees of the cascade's defaults. */
  for (size_t d = n0; d < ws->ndefaulted; d++) {
    uint32_t v = ws->defaulted[d];
    int s = ws->dseg[d - n0];
    double loss = at_draw(&ld, v, ws->dloss[d - n0]);
    out->seg_loss[s] += loss;
    cas_loan_sink_book(out->sink, v, loss);
    if (out->pool_claims) cas_plan_pool_claim(plan, out->pool_claims, v, loss);
    out->seg_defaults[s]++;
  }
  /* (a chunk of the broken ones at a time, their call and segment
   * prefetched first, so that those misses overlap) */
  enum { BROKEN_CHUNK = 256 };
  const cas_pending_call *broken[BROKEN_CHUNK];
  for (size_t i = 0; i < ws->pending.n;) {
    int nb = 0;
    for (; i < ws->pending.n && nb < BROKEN_CHUNK; i++) {
      const cas_pending_call *p = &ws->pending.v[i];
      if (!cas_cascade_is_defaulted(ws, p->guarantor)) continue;
      __builtin_prefetch(&c->call[p->call]);
      __builtin_prefetch(&c->segment[p->guarantor]);
      broken[nb++] = p;
    }
    for (int j = 0; j < nb; j++) {
      const cas_pending_call *p = broken[j];
      uint32_t g = p->guarantor;
      /* the covered part is the borrower's, lost at the borrower's LGD */
      double value = at_draw(&ld, p->borrower, c->call[p->call].value);
      out->seg_loss[c->segment[g]] += value;
      cas_loan_sink_book(out->sink, g, value);
      out->double_default += value;
    }
  }
  book_calls(c, &ld, ws, n0, ws->ndefaulted, out->seg_loss, NULL, &out->double_default, out->sink);
}

const cas_contagion_model cas_contagion_none = {
  .info = {"none", "defaults do not spread; guarantees are booked (double default in round 0)"},
  .spreads = 0,
  .path = path_none,
  .describe = cas_contagion_describe_none,
};

const cas_contagion_model cas_contagion_network = {
  .info = {"network", "defaults spread along supply chains and guarantees, with regional "
                      "spill-over, round by round"},
  .spreads = 1,
  .path = path_network,
  .describe = cas_contagion_describe_network,
};
