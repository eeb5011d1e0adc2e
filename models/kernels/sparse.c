/*
 * sparse.c (models/kernels): a kernel whose cost follows the defaults, not the loans.
 *
 * Given the systematic factors z of a path, loans are independent, and loan
 * k of bucket B defaults with probability
 *     p_k(z) = Phi((c_k / scale - a_s . z) / b_s)
 * (the copula of plan.h, solved for the idiosyncratic term). The loans of a
 * bucket share a_s and b_s and have thresholds in [c_min, c_max], so
 * p_k(z) <= p_max(z) = Phi((c_max / scale - a_s . z) / b_s).
 *
 * Per bucket, candidates are Bernoulli(p_max) trials drawn without
 * visiting the others: their number K ~ Binomial(count, p_max) first (by
 * inversion, monotone in p_max, so that scenarios keep common random
 * numbers; BTRD for loans alike, below), then which K loans, a uniform
 * K-subset
 * (candidates_next below). Each candidate is then kept with probability
 * p_k / p_max (thinning, Lewis and Shedler 1979), which makes every loan's
 * default an independent Bernoulli(p_k(z)) exactly, whatever the spread of
 * PDs in the bucket. A squeeze saves the evaluation of p_k: with V uniform,
 * V p_max < p_min accepts at once, since p_k >= p_min, and two lines that
 * bracket the normal CDF over the bucket decide most of the others
 * (cas_thin, gaps.h), exactly as evaluating p_k would. (Until 2026-12 the
 * candidates came from geometric gaps, G = floor(log U / log(1 - p_max)),
 * the "geometric shortcut" of Sak and Hoermann, "Fast simulations in credit
 * risk", Quantitative Finance 12(10), 2012: a logarithm per candidate,
 * where the count and the subset need one multiply per candidate.)
 *
 * Loans alike: a bucket whose loans share one threshold and one loss (a
 * homogeneous book is one such bucket) keeps every candidate, so its
 * defaults are the count K and its loss K x the loss. When nothing on the
 * path needs to know which loans defaulted (rows->counts_only: no network,
 * no pools, ...; the loans' ES contributions take the bucket's loss and
 * share it among its loans) the kernel stops there: O(1) per bucket (the
 * binomial's BTRD, or its inversion below a mean of 10), whatever the
 * defaults. The price: BTRD's count is not monotone in p_max, so two
 * scenarios that shock such a bucket pair its draws loosely (the other
 * buckets keep their draws exactly). A
 * replay of the path that asks which loans defaulted draws the same K and
 * books the same K x loss, bit for bit.
 *
 * Work per path: O(factors + buckets + candidates), and candidates are
 * defaults / (acceptance rate), the acceptance rate being close to 1 when
 * buckets are narrow PD grades. Random numbers come from the stream
 * (seed, SPARSE, path), in which each bucket has its own region
 * (plan->bucket_jump: bucket b starts 4 first_b + 128 b draws in, 4
 * count + 128 draws). They give one draw per run of the binomial (at most
 * count / 865 + 1; BTRD about 1.2 per draw), then one per candidate
 * position (plus redraws of a position drawn twice, each with probability
 * below 1/4) or one per position passed (selection, plus one per
 * candidate chosen without a draw): overrunning them would take more than
 * 2 count redraws at odds of 1/4 each. The thinning uniform of a candidate
 * is what is left of the draw that chose it (candidates_next), so a
 * candidate's position and thinning travel together: a scenario that
 * changes the count keeps the first candidates and their thinning (their
 * positions are a prefix of the same draws). (Until 2026-12-01 the
 * thinning uniforms were draws of their own, from the region's second
 * half: one draw more per candidate, 7% of the kernel.) So
 * results do not depend on threads, and a shock to one bucket (its
 * thresholds) does not move the draws of any other (common random numbers
 * between scenarios); they differ path by path from the dense kernel's
 * (another stream), not in distribution.
 */
#include "kernel.h"

#include <math.h>
#include <string.h>

#include "gaps.h"
#include "normal.h"
#include "rng.h"
#include "vecmath.h"

/* Candidates handed out at a time, so that their records can be prefetched
 * before they are thinned; a bucket's drawn positions are kept (to clear
 * the bitmap after it) up to CLEAR_CAP of them. */
enum { BATCH = 64, CLEAR_CAP = 1024 };

/* A bucket's candidates: K ~ Binomial(count, p_max) of its positions,
 * uniform among the K-subsets. K <= count / 4: K distinct uniform
 * positions, a position drawn twice being drawn again (the probability is
 * below 1/4 per draw), marked in a bitmap of the bucket, handed out in the
 * order drawn. K > count / 4: selection sampling (Knuth, TAOCP vol. 2,
 * 3.4.2, Algorithm S), one uniform per position passed, in increasing
 * order. The method depends on K alone, so the law of the subset is the
 * same either way. */
typedef struct candidates {
  int select;
  uint32_t count, k;
  uint32_t done;          /* candidates handed out */
  uint32_t next;          /* selection: the next position to decide */
} candidates;

/* A uniform position below n (Lemire's multiply-and-reject, as
 * cas_rng_below: the same draws give the same position), and in *u the
 * fraction the multiply leaves, (low 64 bits of r n) / 2^64: given the
 * position it is uniform on a grid of step n / 2^64 (at most 2^-32), so
 * P(u < a) is a within n / 2^64. */
static inline uint32_t below_with_fraction(cas_rng *rng, uint32_t n, double *u) {
  cas_u128 m = (cas_u128)cas_pcg64_next(rng) * n;
  uint64_t low = (uint64_t)m;
  if (low < n) {
    uint64_t threshold = (0u - (uint64_t)n) % n;
    while (low < threshold) {
      m = (cas_u128)cas_pcg64_next(rng) * n;
      low = (uint64_t)m;
    }
  }
  *u = (double)(low >> 11) * 0x1.0p-53;
  return (uint32_t)(m >> 64);
}

/* The next candidates' positions into pos and their thinning uniforms
 * into u (the randomness left in the draw that chose the position, so one
 * draw per candidate). */
static int candidates_next(candidates *cd, cas_rng *rng, uint32_t *pos, double *u,
                           const cas_plan_loan *ln, uint64_t *bits, uint32_t *drawn) {
  int m = 0;
  if (!cd->select) {
    while (m < BATCH && cd->done < cd->k) {
      uint32_t x;
      do x = below_with_fraction(rng, cd->count, &u[m]);
      while ((bits[x >> 6] >> (x & 63)) & 1u);
      bits[x >> 6] |= (uint64_t)1 << (x & 63);
      __builtin_prefetch(&ln[x]);
      if (cd->done < CLEAR_CAP) drawn[cd->done] = x;
      cd->done++;
      pos[m++] = x;
    }
    return m;
  }
  /* Position i is chosen with probability need / left (need = k - chosen,
   * left = count - i): when V left < need, V uniform, and then V left /
   * need is uniform on [0, 1) and independent of the choices, the
   * candidate's thinning uniform. Once need == left every position left is
   * chosen without a draw, and the uniform is drawn on its own. */
  while (m < BATCH && cd->done < cd->k) {
    uint32_t i = cd->next++;
    uint32_t need = cd->k - cd->done, left = cd->count - i;
    double v;
    if (need == left) {
      u[m] = cas_rng_uniform(rng);
    } else if ((v = cas_rng_uniform(rng) * (double)left) < (double)need) {
      u[m] = v / (double)need;
    } else {
      continue;
    }
    __builtin_prefetch(&ln[i]);
    pos[m++] = i;
    cd->done++;
  }
  return m;
}

/* The bitmap zero again after a bucket. */
static void candidates_clear(const candidates *cd, uint64_t *bits, const uint32_t *drawn) {
  if (cd->select) return;
  if (cd->k <= CLEAR_CAP)
    for (uint32_t i = 0; i < cd->k; i++) bits[drawn[i] >> 6] = 0;
  else
    memset(bits, 0, ((size_t)cd->count / 64 + 1) * sizeof *bits);
}

static void simulate_path(const cas_plan *plan, const cas_contagion *contagion, cas_results *res,
                          cas_cascade_ws *ws, cas_path_rows *rows) {
  uint64_t p = rows->path;
  double scale = cas_kernel_path_begin(plan, res, rows);
  const double *sys = rows->sys;
  /* a stochastic LGD draws each default's loss fraction from its own stream */
  uint64_t lgd_key =
      plan->lgd_mean ? cas_rng_keyed_prefix(plan->seed, cas_rng_purpose_year(CAS_RNG_LGD, rows->year),
                                          plan->first_stream + p) : 0;
  double inv_scale = 1.0 / scale;
  double *seg_loss = rows->seg_loss;
  int32_t *seg_defaults = rows->seg_defaults;
  cas_rng base, rng;
  cas_rng_init(&base, plan->seed, cas_rng_purpose_year(CAS_RNG_SPARSE, rows->year),
               plan->first_stream + p);
  if (ws) cas_kernel_cascade_begin(ws, rows);
  int64_t defaults = 0;
  double *claims = rows->pool_claims;
  int leaves = rows->dead != NULL;       /* multi-year: defaulted loans leave the book */
  double ead_sum = 0.0;
  uint64_t *bits = rows->bits;
  uint32_t drawn[CLEAR_CAP];

  /* Every bucket's latent bounds x_max and x_min first, and Phi of them
   * four at a time (cas_norm_cdf_many), widened into bounds that hold
   * whatever its rounding: p_max above Phi(x_max) and p_min below
   * Phi(x_min), as cas_norm_cdf evaluates them (which the thinning uses),
   * by twice the tolerance. Thinning to Phi(x_k) / p_max keeps every
   * loan's law exact; loans alike, which are not thinned, take
   * cas_norm_cdf itself. */
  size_t nb = plan->nbuckets;
  double *xb = rows->bucket_p, *pb = rows->bucket_p + 2 * nb;   /* [2 b]: max, [2 b + 1]: min */
  int seg = -1;
  double inv_w = 0.0;
  for (size_t b = 0; b < nb; b++) {
    const cas_bucket *bk = &plan->buckets[b];
    int s = bk->segment;
    if (s != seg) {   /* buckets are segment-major: one division per segment */
      seg = s;
      inv_w = 1.0 / plan->idio[s];
    }
    xb[2 * b] = (bk->threshold_max * inv_scale - sys[s]) * inv_w;
    xb[2 * b + 1] = (bk->threshold_min * inv_scale - sys[s]) * inv_w;
  }
  cas_norm_cdf_many(xb, pb, 2 * nb);
  const double widen_up = 1.0 + 2.0 * CAS_NORM_CDF_MANY_TOL, widen_down = 1.0 - 2.0 * CAS_NORM_CDF_MANY_TOL;
  /* Where each inversion starts, (1 - p_max)^count, four at a time too
   * (cas_log1p_many, cas_exp_many): the draws check it and take the exact
   * value near a boundary (cas_rng_binomial_inverse_hinted), so the counts
   * are those of cas_rng_binomial_inverse, bit for bit. (Scalar, these and
   * the exp of each bucket's tangent slope were about a tenth of the kernel
   * on the default book.) */
  double *f0 = rows->bucket_p + 4 * nb;
  for (size_t b = 0; b < nb; b++) {
    double p_max = fmin(1.0, pb[2 * b] * widen_up);
    f0[b] = p_max > 0.0 && p_max <= 0.5 ? -p_max : 0.0;
  }
  cas_log1p_many(f0, nb);
  for (size_t b = 0; b < nb; b++) f0[b] *= (double)plan->buckets[b].count;
  cas_exp_many(f0, nb);
  double *phi = rows->bucket_p + 5 * nb;   /* the thinning's tangent slopes */
  cas_thin_slopes(xb, phi, nb);

  seg = -1;
  for (size_t b = 0; b < nb; b++) {
    const cas_bucket *bk = &plan->buckets[b];
    int s = bk->segment;
    if (s != seg) {
      seg = s;
      inv_w = 1.0 / plan->idio[s];
    }
    double a = sys[s];
    double x_max = xb[2 * b];
    int alike = bk->threshold_min == bk->threshold_max && !isnan(bk->same_loss);
    double p_max = alike ? cas_norm_cdf(x_max) : fmin(1.0, pb[2 * b] * widen_up);
    /* No loan of the bucket can default: also when all have matured (the
     * plan of a later year), their thresholds -INFINITY giving p_max 0. */
    if (!(p_max > 0.0)) continue;
    cas_rng_jump_from(&rng, &base, &plan->bucket_jump[b]);   /* the bucket's own draws */
    /* Loans alike (one threshold, one loss): every candidate defaults, and
     * when nothing asks which, the count is the bucket's draw, in O(1)
     * (BTRD). Other buckets draw it by inversion, which is monotone in
     * p_max: a scenario that moves a bucket's PDs a little moves its count
     * a little (common random numbers), at O(mean) arithmetic. */
    uint32_t k = alike ? cas_rng_binomial(&rng, bk->count, p_max)
                       : cas_rng_binomial_inverse_hinted(&rng, bk->count, p_max, f0[b]);
    if (k == 0) continue;
    if (alike && rows->counts_only) {
      if (rows->bucket_loss)
        rows->bucket_loss(rows->sink.ctx, rows->thread, rows->row, (uint32_t)b,
                          (double)k * bk->same_loss);
      seg_loss[s] += (double)k * bk->same_loss;
      seg_defaults[s] += (int32_t)k;
      defaults += k;
      continue;
    }
    const cas_plan_loan *ln = &plan->loans[bk->first];
    double x_min = xb[2 * b + 1];
    cas_thin thin;
    cas_thin_init(&thin, x_min, x_max, alike ? p_max : pb[2 * b + 1] * widen_down, p_max, phi[b]);
    candidates cd = {.select = k > bk->count / 4, .count = bk->count, .k = k};
    uint32_t pos[BATCH];
    double u[BATCH];   /* the candidates' thinning uniforms */
    double loss = 0.0;
    int32_t hits = 0;
    int m;
    /* Positions of the next candidates first, prefetching their records,
     * then the thinning: the cache misses of a batch overlap instead of
     * stalling one by one. */
    const double *ead = plan->ead_of ? &plan->ead_of[bk->first] : NULL;
    while ((m = candidates_next(&cd, &rng, pos, u, ln, bits, drawn)) > 0) {
      if (ead)   /* the defaults' EADs too (output.realised_lgd) */
        for (int j = 0; j < m; j++) __builtin_prefetch(&ead[pos[j]]);
      for (int j = 0; j < m; j++) {
        const cas_plan_loan *c = &ln[pos[j]];
        /* loans alike all default: no thinning draw */
        if (!alike && !cas_thin_keep(&thin, u[j] * p_max,
                                     (c->threshold * inv_scale - a) * inv_w))
          continue;
        if (leaves && cas_path_left_book(rows, bk->first + pos[j])) continue;
        hits++;
        if (ead) ead_sum += ead[pos[j]];
        double l = plan->lgd_mean ? cas_plan_random_loss(plan, lgd_key, bk->first + pos[j], s, a)
                                  : c->loss;
        loss += l;
        if (claims) cas_plan_pool_claim(plan, claims, bk->first + pos[j], l);
        cas_loan_sink_book(&rows->sink, bk->first + pos[j], l);
        if (ws) cas_cascade_default0(ws, bk->first + pos[j]);
      }
    }
    candidates_clear(&cd, bits, drawn);
    /* loans alike: the same sum as a count gives (so a replay of the path
     * that asks which loans defaulted gives the same bits) */
    if (alike && !plan->lgd_mean) loss = (double)hits * bk->same_loss;
    seg_loss[s] += loss;
    seg_defaults[s] += hits;
    defaults += hits;
  }
  rows->year_ead += ead_sum;
  cas_rng_jump_from(&rng, &base, &plan->bucket_jump[plan->nbuckets]);   /* the cascade's */
  cas_kernel_path_end(plan, contagion, res, ws, rows, scale, &rng, defaults);
}

const cas_kernel cas_kernel_sparse = {
  .info = {"sparse", "defaulters only: geometric gaps within (segment, PD grade) buckets, thinning"},
  .eps_all_known = 0,
  .path = simulate_path,
};
