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
 * Per bucket, candidates are drawn as Bernoulli(p_max) trials without
 * visiting the others: the gap to the next candidate is geometric,
 * G = floor(log U / log(1 - p_max)) (the "geometric shortcut" of Sak and
 * Hoermann, "Fast simulations in credit risk", Quantitative Finance 12(10),
 * 2012). Each candidate is then kept with probability p_k / p_max (thinning,
 * Lewis and Shedler 1979), which makes every loan's default an independent
 * Bernoulli(p_k(z)) exactly, whatever the spread of PDs in the bucket. A
 * squeeze saves the evaluation of p_k: with V uniform, V p_max < p_min
 * accepts at once, since p_k >= p_min.
 *
 * Work per path: O(factors + buckets + candidates), and candidates are
 * defaults / (acceptance rate), the acceptance rate being close to 1 when
 * buckets are narrow PD grades. Random numbers come from the stream
 * (seed, SPARSE, path), in which each bucket has its own region
 * (plan->bucket_jump: bucket b starts 2 first_b + 64 b draws in, and uses
 * at most 2 per loan plus one: a gap and an acceptance draw per candidate,
 * and the gap that runs past its end); within a bucket the gaps of up to
 * BATCH candidates, then their acceptance draws. So results do not depend
 * on threads, and a shock to one bucket (its thresholds) does not move the
 * draws of any other (common random numbers between scenarios); they differ
 * path by path from the dense kernel's (another stream), not in
 * distribution.
 */
#include "kernel.h"

#include <math.h>

#include "gaps.h"
#include "normal.h"
#include "rng.h"

/* Candidates drawn ahead, so that their records can be prefetched. */
enum { BATCH = 64 };

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

  for (size_t b = 0; b < plan->nbuckets; b++) {
    const cas_bucket *bk = &plan->buckets[b];
    int s = bk->segment;
    double a = sys[s], inv_w = 1.0 / plan->idio[s];
    double p_max = cas_norm_cdf((bk->threshold_max * inv_scale - a) * inv_w);
    /* No loan of the bucket can default: also when all have matured (the
     * plan of a later year), their thresholds -INFINITY giving p_max 0. */
    if (!(p_max > 0.0)) continue;
    double p_min = cas_norm_cdf((bk->threshold_min * inv_scale - a) * inv_w);
    const cas_plan_loan *ln = &plan->loans[bk->first];
    double loss = 0.0;
    int32_t hits = 0;
    cas_rng_jump_from(&rng, &base, &plan->bucket_jump[b]);   /* the bucket's own draws */
    cas_gaps gaps;
    cas_gaps_init(&gaps, p_max, bk->count);
    uint32_t pos[BATCH];
    int m;
    /* Positions of the next candidates first, prefetching their records,
     * then the thinning: the cache misses of a batch overlap instead of
     * stalling one by one. */
    const double *ead = plan->ead_of ? &plan->ead_of[bk->first] : NULL;
    while ((m = cas_gaps_next(&gaps, &rng, pos, BATCH, ln, sizeof *ln)) > 0) {
      if (ead)   /* the defaults' EADs too (output.realised_lgd) */
        for (int j = 0; j < m; j++) __builtin_prefetch(&ead[pos[j]]);
      for (int j = 0; j < m; j++) {
        const cas_plan_loan *c = &ln[pos[j]];
        double v = cas_rng_uniform(&rng) * p_max;
        if (v < p_min || v < cas_norm_cdf((c->threshold * inv_scale - a) * inv_w)) {
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
    }
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
