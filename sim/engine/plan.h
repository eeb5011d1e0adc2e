/*
 * plan.h: a scenario applied to a portfolio, ready for a kernel.
 *
 * Building a plan is where all checking and all per-loan preparation
 * happens, before any parallel region: shocks are applied (stressed PD, LGD
 * and EAD per loan), thresholds are computed once per loan through the
 * copula, the factor model is reduced to dense per-segment loadings, a
 * Cholesky factor and the factors' mean under the scenario's shifts, and
 * the analytic expected loss under that mean is summed. A kernel then only
 * reads the plan, so it cannot fail on input.
 *
 * Buckets: loans are stored grouped by bucket, a (segment, PD grade) cell,
 * grades being slices of log10(portfolio PD) of width 1/grades_per_decade
 * (PD at most 10^(1/g) apart within a grade; grade 12g collects every PD
 * below 1e-12). Grades too thin to expect 2 defaults per path at their PD
 * are merged with the safer grades after them, up to a decade of PD
 * (build_buckets): a bucket's cost per path does not depend on its
 * candidates, and half the grades of the built-in book were that thin.
 * A PD stress multiplies a segment's odds alike, which keeps that bound
 * for multipliers >= 1 (it narrows the ratio of two PDs) and can widen it
 * for multipliers < 1 near PD 1; the sparse kernel is exact whatever the
 * spread, only slower. Within a bucket loans keep their grade's and then
 * their portfolio order, so the plan order is a function of the portfolio
 * only. Given the systematic factors, the loans of a bucket are independent with nearly the
 * same conditional PD: the sparse kernel samples a bucket's defaulters with
 * its largest conditional PD and thins (plan.c, models/kernels/sparse.c).
 *
 * Memory: 16 (loan record) + 4 (portfolio index) = 20 bytes per loan (28 with
 * the realised LGD's EADs), plus
 * 4 bytes per loan while building; with the portfolio's 34, 58 at the peak.
 * Shocks that name a city add 4 bytes per loan (loan_class).
 */
#ifndef CASCADE_PLAN_H
#define CASCADE_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "copula/copula.h"
#include "error.h"
#include "lgd/lgd.h"
#include "portfolio.h"
#include "scenario.h"
#include "taxonomy.h"

/* What a kernel reads for a loan, in one cache line's sixteenth. */
typedef struct cas_plan_loan {
  double threshold;   /* latent default threshold c = copula threshold(stressed PD) */
  double loss;        /* loss if it defaults: stressed EAD x stressed LGD [CNY] */
} cas_plan_loan;

typedef struct cas_bucket {
  uint32_t first, count;   /* loans[first .. first + count - 1] */
  uint16_t segment;        /* region * nsectors + sector */
  uint16_t grade;          /* 0: PD >= 10^(-1/g); larger is safer */
  double threshold_min, threshold_max;
  double same_loss;        /* the loss every loan of the bucket has, or NAN if they differ */
} cas_bucket;

typedef struct cas_plan_options {
  int grades_per_decade;   /* PD grades per factor of 10; 0: one bucket per segment */
  /* Guarantees (may be NULL: none): guaranteed[i] is the amount guaranteed
   * on portfolio loan i [CNY] (cas_network_guaranteed). The loan's record
   * then holds the loss of its uncovered part, (EAD - min(guaranteed, EAD))
   * x LGD; the covered part is booked by the guarantee accounting
   * (contagion.h). */
  const double *guaranteed;
  /* Threshold offsets (both NULL: none): loan i's threshold is lowered by
   * threshold_offset[threshold_group[i]] [SD of the latent variable], e.g.
   * the PD-preserving calibration of contagion (calibrate.h). */
  const uint32_t *threshold_group;
  const double *threshold_offset;
} cas_plan_options;

enum { CAS_PLAN_DEFAULT_GRADES = 16, CAS_PLAN_MAX_GRADES = 100, CAS_PLAN_MIN_PD_DECADE = 12 };

typedef struct cas_plan {
  size_t n;                  /* loans */
  uint64_t seed;             /* simulation seed */
  uint64_t paths;
  uint64_t first_stream;     /* path p draws from the streams of index first_stream + p: 0 for a
                                run, CAS_PLAN_PILOT_STREAMS for the calibration's pilot paths */

  cas_plan_loan *loans;      /* [n], bucket order */
  uint32_t *loan_index;      /* [n]: portfolio index of loans[k] */
  cas_bucket *buckets;       /* non-empty buckets, segment-major, then grade */
  size_t nbuckets;
  uint32_t max_bucket;       /* loans of the largest bucket */
  /* Where each bucket's draws start in a path's stream (the sparse kernel,
   * models/kernels/sparse.c): bucket b owns 4 first_b + 128 b onwards, 4
   * draws per loan and 128, so a shock to one bucket never moves another's
   * draws (common random numbers); entry nbuckets is past every bucket (the
   * cascade's draws). [nbuckets + 1] */
  cas_rng_jump *bucket_jump;
  int grades_per_decade;

  const cas_copula_model *copula;   /* &copula_model */
  cas_copula_model copula_model;     /* the scenario's copula, its parameter set */
  const cas_lgd_model *lgd_model;

  /* The classification (the scenario's, borrowed: the scenario outlives
   * the plan) and the sizes of the arrays below. */
  const cas_taxonomy *tax;
  int nsegments, nfactors, nsectors;

  /* Factor model: z = chol u + shift with u ~ N(0, I); the systematic part
   * of a loan of segment s is sum_f loading[s * nfactors + f] z[f], its
   * idiosyncratic weight idio[s] = sqrt(1 - a_s' C a_s). shift is the
   * factors' mean under the scenario: the shifts as given (shift_given,
   * summed by factor) and, in the conditional mode, their propagation to
   * correlated factors (plan.c, factor_means). One allocation holds them
   * all (factor_mem). */
  double *chol;          /* [nfactors * nfactors] */
  double *shift;         /* [nfactors] [SD] mean applied */
  double *shift_given;   /* [nfactors] [SD] as the shocks give them; 0: not shifted */
  double *loading;       /* [nsegments * nfactors] */
  /* The same loadings without their zeros, by segment, in increasing
   * factor order (each segment loads one factor of each family): segment
   * s's are nz_factor/nz_loading[nz_start[s] .. nz_start[s + 1] - 1]. */
  uint32_t *nz_start;    /* [nsegments + 1] */
  uint32_t *nz_factor;
  double *nz_loading;
  double *idio;          /* [nsegments] */

  /* The scenario's shocks folded by segment: the product of the PD (odds)
   * multipliers, the sum of the LGD additions, the product of the EAD
   * multipliers, the sum of the ccf additions, the compounded collateral
   * haircut 1 - prod(1 - h). [nsegments] each. */
  double *seg_pd_mult, *seg_lgd_add, *seg_ead_mult, *seg_ccf_add, *seg_haircut;
  double *factor_mem;

  /* With a stochastic LGD model (models/lgd), else NULL: the mean LGD of
   * the loan at each plan position (its stressed LGD), the standard
   * deviation and the standard deviation of the systematic term by
   * segment, and the downturn link (cas_plan_random_loss). */
  double *lgd_mean;       /* [n] */
  double *seg_lgd_sd;     /* [nsegments] */
  double *seg_sys_sd;     /* [nsegments] sqrt(a'Ca) */
  double lgd_downturn;

  /* Mitigants (the scenario's, borrowed), else npools 0: the pool that
   * covers the loan at each plan position (CAS_NONE: none). 2 bytes per
   * loan. */
  uint16_t *pool_of;      /* [n] or NULL */

  /* With output.realised_lgd (scenario.h), else NULL: the stressed EAD at
   * each plan position, guaranteed parts included: what a default exposes
   * (the realised LGD's denominator). 8 bytes per loan. */
  double *ead_of;         /* [n] [CNY] or NULL */
  int npools;
  const cas_mitigant *pools;

  /* With shocks that name a city: loan i's shocks are folded in class
   * loan_class[i] (classes 0 .. nsegments - 1 are the segments' folds
   * without the city shocks; one more class per (segment, named city) that
   * has loans), else NULL and a loan's fold is its segment's. */
  uint32_t *loan_class;     /* [n] in portfolio order, or NULL */
  size_t nclasses;
  double *cls_pd_mult, *cls_lgd_add, *cls_ead_mult, *cls_ccf_add, *cls_haircut;   /* [nclasses] */

  /* Year 0's plan with a copula whose shifted PD is costly (copula.h,
   * costly_pd), else NULL: the shifted PD of each plan position, as
   * computed for the analytic expected loss (stressed.expected_loss: the
   * threshold without a calibration's offsets, the segment's factor-mean
   * shift shifted_pd_mean[s]); NaN where the loan's threshold carries an
   * offset or the loan has matured. The analytic cross-checks
   * (analytic.c) take a value where their threshold and mean are the same
   * bits, instead of integrating again: the same value. */
  double *shifted_pd;         /* [n] or NULL */
  double *shifted_pd_mean;    /* [nsegments] or NULL */

  /* Totals by segment: as in the portfolio and after the shocks. */
  cas_segment_totals unstressed;
  cas_segment_totals stressed;   /* expected_loss: analytic, under the shifted factor means */

  /* The horizon (docs/MODEL.md, Multi-year horizon): years >= 1; with more
   * than one, the plan of each later year t (built from the scenario's
   * values for year t, with years 1 of its own; the same plan as year
   * t - 1's when the scenario's values do not change and no loan matures
   * or amortises) is year_plan[t], and the
   * latent factors follow x_t = rho x_{t-1} + sqrt(1 - rho^2) chol u_t,
   * z_t = x_t + shift_t (each year's plan its own shift). */
  int years;
  int year;                       /* the year (0-based) whose values built this plan */
  double factor_ar;               /* rho */
  struct cas_plan **year_plan;    /* [years], year_plan[0] the plan itself; NULL when years is 1 */
} cas_plan;

/* The plan of year t (0-based) of plan's horizon. */
static inline const cas_plan *cas_plan_year(const cas_plan *plan, int t) {
  return t == 0 ? plan : plan->year_plan[t];
}

/* First stream index of pilot paths (calibrate.h): disjoint from the paths
 * of any run (fewer than 2^63). */
#define CAS_PLAN_PILOT_STREAMS ((uint64_t)1 << 63)


/* A PD after the scenario's PD stress, with its complement computed
 * without cancellation, so that a PD close to 1 keeps its digits in the
 * threshold (cas_plan_threshold). */
typedef struct cas_stressed_pd {
  double pd;         /* [fraction], < 1 for any input PD < 1 */
  double survival;   /* 1 - pd [fraction], > 0 for any input PD < 1 */
} cas_stressed_pd;

/* The one place where a loan's input PD becomes the PD that its threshold
 * (and through it the analytic expected loss) uses: the odds PD / (1 - PD)
 * times the segment's folded multiplier m (docs/MODEL.md, Shocks),
 *   PD' = m PD / (1 - PD + m PD),  1 - PD' = (1 - PD) / (1 - PD + m PD).
 * pd in (0, 1), m > 0 finite; m = 1 returns pd exactly. */
cas_stressed_pd cas_plan_stressed_pd(double pd, double odds_multiplier);

/* The latent threshold of a stressed PD: copula->threshold(pd) when
 * pd <= 1/2, else copula->threshold_upper(survival), which keeps full
 * precision however close pd is to 1. */
double cas_plan_threshold(const cas_copula_model *copula, cas_stressed_pd p);

/* Stressed EAD [CNY] and LGD [fraction] of portfolio loan i in the plan's
 * year: its segment's folded EAD multiplier (a credit line's draw with its
 * shocked ccf), times the share of the EAD still outstanding in that year
 * (cas_portfolio_amortised: 0 once the loan has matured); its LGD add-on
 * (clamped to [0, 1]) and, for a secured loan, the collateral haircut h,
 * which takes h of the recovery its collateral gives:
 *   LGD'' = LGD' + (1 - LGD') x h x min(1, collateral / EAD'),
 * LGD' and EAD' the loan's stressed LGD before the haircut and stressed EAD
 * (docs/MODEL.md, Collateral haircuts); unsecured loans and h = 0 keep
 * LGD' bit for bit. The one definition, used by the plan and by the models
 * that price what the plan does not hold (the guarantees' covered parts,
 * contagion.c). */
static inline int cas_plan_segment_of(const cas_plan *plan, const cas_portfolio *pf, size_t i) {
  return pf->region[i] * plan->nsectors + pf->sector[i];
}
static inline const double *cas_plan_loading(const cas_plan *plan, int segment) {
  return plan->loading + (size_t)segment * (size_t)plan->nfactors;
}
/* The folded shocks of portfolio loan i: its class's, or its segment's. */
static inline double cas_plan_pd_mult(const cas_plan *plan, const cas_portfolio *pf, size_t i) {
  return plan->loan_class ? plan->cls_pd_mult[plan->loan_class[i]]
                          : plan->seg_pd_mult[cas_plan_segment_of(plan, pf, i)];
}
static inline double cas_plan_stressed_ead(const cas_plan *plan, const cas_portfolio *pf, size_t i) {
  size_t c = plan->loan_class ? plan->loan_class[i] : (size_t)cas_plan_segment_of(plan, pf, i);
  const double *mult = plan->loan_class ? plan->cls_ead_mult : plan->seg_ead_mult;
  double ead = pf->ead[i];
  if (pf->limit) {   /* a credit line draws ccf of its undrawn part, the factor shocked */
    double ccf = pf->ccf[i];
    if (ccf > 0.0 || pf->limit[i] != pf->ead[i]) {
      ccf += plan->loan_class ? plan->cls_ccf_add[c] : plan->seg_ccf_add[c];
      ccf = ccf < 0.0 ? 0.0 : ccf > 1.0 ? 1.0 : ccf;
    }
    ead += ccf * (pf->limit[i] - pf->ead[i]);
  }
  return ead * mult[c] * cas_portfolio_amortised(pf, i, plan->year);
}
static inline double cas_plan_stressed_lgd(const cas_plan *plan, const cas_portfolio *pf, size_t i) {
  size_t c = plan->loan_class ? plan->loan_class[i] : (size_t)cas_plan_segment_of(plan, pf, i);
  double lgd = pf->lgd[i] + (plan->loan_class ? plan->cls_lgd_add[c] : plan->seg_lgd_add[c]);
  lgd = lgd < 0.0 ? 0.0 : lgd > 1.0 ? 1.0 : lgd;
  if (pf->collateral && pf->collateral[i] > 0.0) {
    double h = plan->loan_class ? plan->cls_haircut[c] : plan->seg_haircut[c];
    if (h > 0.0) {
      double ead = cas_plan_stressed_ead(plan, pf, i);
      double cover = ead > pf->collateral[i] ? pf->collateral[i] / ead : 1.0;
      lgd += (1.0 - lgd) * h * cover;
      lgd = lgd > 1.0 ? 1.0 : lgd;
    }
  }
  return lgd;
}
/* Portfolio loan i has matured before the plan's year (its maturity <=
 * the years before it): it cannot default in that year (threshold
 * -INFINITY, loss 0). */
static inline int cas_plan_matured(const cas_plan *plan, const cas_portfolio *pf, size_t i) {
  return pf->maturity && (double)plan->year >= pf->maturity[i];
}

/* The loss of the loan at plan position k, of segment s with systematic
 * term sys (a . z on the path), when it defaults on the path whose LGD key
 * is key (cas_rng_keyed_prefix(seed, CAS_RNG_LGD, first_stream + path)):
 * its uncovered EAD times a loss fraction drawn by the LGD model from the
 * loan's own stream, so that both kernels give it the same loss. */
double cas_plan_random_loss(const cas_plan *plan, uint64_t key, size_t k, int s, double sys);
/* The loss fraction itself (its mean is lgd_mean[k]): an amount booked at
 * the loan's mean LGD, such as a guarantee's covered part lost in a double
 * default, is amount / lgd_mean[k] x this fraction on the path. */
double cas_plan_loss_fraction(const cas_plan *plan, uint64_t key, size_t k, int s, double sys);

/* A defaulted loan's claim on its pool: share x loss, at most the pool's
 * cap per loan, added to claims[pool] (the path's; the pool's own cap is
 * applied at the end of the path, cas_kernel_path_end). */
static inline void cas_plan_pool_claim(const cas_plan *plan, double *claims, size_t k, double loss) {
  uint16_t p = plan->pool_of[k];
  if (p == CAS_NONE) return;
  double c = plan->pools[p].share * loss;
  claims[p] += c < plan->pools[p].cap_per_loan ? c : plan->pools[p].cap_per_loan;
}

/* opt may be NULL (defaults). The portfolio is only read; the scenario is
 * bound to its classification first (cas_scenario_bind: a no-op when it
 * already is), which may fail on names the book does not have. */
cas_status cas_plan_build(cas_scenario *sc, const cas_portfolio *pf,
                          const cas_plan_options *opt, cas_plan **out, cas_error *err);
void cas_plan_destroy(cas_plan *plan);

/* Bytes the plan holds for its loans and buckets. */
size_t cas_plan_bytes(const cas_plan *plan);

#endif
