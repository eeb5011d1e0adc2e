/*
 * stats.h: summary statistics of a simulated loss distribution, each with
 * its Monte Carlo standard error.
 *
 * VaR_a is the empirical quantile L_(k), k = ceil(a M) of M sorted losses.
 * ES_a is the Acerbi-Tasche estimator (J. Banking & Finance 26, 2002):
 *   ES_a = [sum_{i>k} L_(i) + (k - a M) L_(k)] / (M (1 - a)),
 * the mean of the worst M(1-a) losses counting L_(k) fractionally.
 * Standard errors:
 *   EL: s / sqrt(M);   SD: sqrt((m4 - s^4) / (4 s^2 M)) (delta method);
 *   VaR: half the width of the order-statistic band L_(k-j) .. L_(k+j),
 *        j = sqrt(M a (1-a)), which covers one binomial standard
 *        deviation of the rank (Serfling 1980, sec. 2.6; Glasserman 2003,
 *        sec. 9.1); distribution-free, no density estimate;
 *   ES: sqrt([Var(L | L >= VaR) + a (ES - VaR)^2] / ((1 - a) M)), from the
 *        influence function of ES (Yamai and Yoshiba, 2002): the standard
 *        deviation of h = (L - VaR)+ over all paths / ((1 - a) sqrt(M)).
 * 95% confidence intervals:
 *   VaR: the order-statistic interval L_(lo) .. L_(hi), the ranks within
 *        1.96 binomial standard deviations of k: distribution-free;
 *   EL and ES: a mean (of L, of h) whose sampling distribution is skewed
 *        when few paths carry it (ten paths beyond VaR 99.9% at 10,000
 *        paths), so the interval is Hall's skewness-corrected one (P. Hall,
 *        "On the removal of skewness by transformation", J. R. Statist.
 *        Soc. B 54(1), 1992, 221-228): with g the sample skewness of the
 *        values over sqrt(M), T = sqrt(M)(mean - mu)/s is mapped by
 *        T + g T^2/3 + g^2 T^3/27 + g/6, which is close to N(0,1). Measured
 *        on a Vasicek book (tests/test_intervals.c): the symmetric interval
 *        ES +- 1.96 s.e. covers the true ES 99.9% about 89% of the time at
 *        10,000 paths, Hall's about 95%.
 * Weights (importance sampling, cas_summary_options.weight): each path
 * counts w_p instead of 1: EL = sum w L / M; VaR is L_(k) for the smallest
 * k with sum_{j>k} w_(j) <= M (1 - a) (the estimated tail probability
 * P(L > L_(k)) at most 1 - a; Glasserman 2003, sec. 9.4); ES = VaR +
 * sum_{j>k} w_(j) (L_(j) - VaR) / (M (1 - a)); h = w (L - VaR)+; the VaR
 * band spans the ranks whose estimated tail probability is within z
 * standard errors of 1 - a. With unit weights these are the plain
 * estimators.
 * Contributions: the expected loss of each segment on the paths that make up
 * ES (same weights), so they add up to ES.
 */
#ifndef CASCADE_STATS_H
#define CASCADE_STATS_H

#include <stdint.h>

#include "error.h"

/* Confidence levels: the default ones (a scenario may give others, up to
 * CAS_MAX_LEVELS, each in (0, 1)). */
enum { CAS_NLEVELS = 3, CAS_MAX_LEVELS = 16 };

/* z_{0.975}: the normal quantile of every two-sided 95% interval. */
#define CAS_Z95 1.959963984540054
extern const double cas_levels[CAS_NLEVELS]; /* 0.95, 0.99, 0.999 */

/* What to summarise beyond the total loss (cas_summary_compute's opt; NULL:
 * the default levels, no segments). */
typedef struct cas_summary_options {
  const double *levels;           /* [nlevels], increasing; NULL: cas_levels */
  int nlevels;
  const double *loss_by_segment;  /* [rows][nsegments], may be NULL */
  int nsegments;
  /* NULL: the row of path p is p. Else row_of_path[p] (-1: not stored):
   * rows are needed only for the paths that make up ES at the lowest
   * level (cas_tail_paths), e.g. those paths simulated again. */
  const int64_t *row_of_path;
  /* Given: copied as el_by_segment instead of the mean of the rows. */
  const double *el_by_segment;
  /* Importance sampling: the paths' likelihood ratios [paths]; NULL: 1. */
  const double *weight;
} cas_summary_options;

typedef struct cas_summary {
  uint64_t paths;
  int nlevels;
  double levels[CAS_MAX_LEVELS];
  int weighted;           /* computed with path weights */
  double el, el_se;       /* expected loss [CNY] */
  double el_lo, el_hi;    /* its 95% confidence interval [CNY] */
  double sd, sd_se;       /* standard deviation of loss [CNY] */
  double min_loss, max_loss;
  double var[CAS_MAX_LEVELS], var_se[CAS_MAX_LEVELS];
  double es[CAS_MAX_LEVELS], es_se[CAS_MAX_LEVELS];
  double var_lo[CAS_MAX_LEVELS], var_hi[CAS_MAX_LEVELS];  /* 95% confidence intervals */
  double es_lo[CAS_MAX_LEVELS], es_hi[CAS_MAX_LEVELS];
  int nsegments;             /* 0 when no segment losses were given */
  double *el_by_segment;     /* [nsegments] [CNY] */
  double *es_contribution;   /* [nlevels][nsegments] [CNY], each row sums to es */
  double mean_defaults;
} cas_summary;

/* loss[paths], defaults[paths] (may be NULL). Needs paths >= 2.
 * Deterministic: ties are ordered by path index. Free with
 * cas_summary_free (a no-op without segments). */
cas_status cas_summary_compute(uint64_t paths, const double *loss, const cas_summary_options *opt,
                               const int64_t *defaults, cas_summary *out, cas_error *err);
void cas_summary_free(cas_summary *s);

/* Importance sampling's weights w[0 .. paths): their mean (1 in
 * expectation: far from it, the sample has not reached the region the
 * weights correct for) and their effective sample size (sum w)^2 / sum
 * w^2 (Kong, 1992; Owen, "Monte Carlo theory, methods and examples",
 * 9.3): the number of plain paths the weighted ones are worth for a
 * mean. Summed in path order (the same bits for any thread count). */
void cas_weight_diagnostics(uint64_t paths, const double *w, double *mean, double *effective);

/* The mean weight outside which a run warns that its weighted estimates
 * are not to be trusted: an order of magnitude from 1. The shift to the
 * 99.999% design point on the default book gave means from 0.26 (100
 * paths) to 0.73 (200 paths); one to level 1 - 1e-16, 8.2 standard
 * deviations out, 4.8e-6 (200 paths). The effective sample size is
 * recorded but not judged: a shift for the tail leaves few effective
 * paths for a mean by design (2 to 7 at 100 to 500 paths above). */
#define CAS_WEIGHT_MEAN_LOW 0.1
#define CAS_WEIGHT_MEAN_HIGH 10.0

/* What contagion adds to a loss distribution (when it is on). */
enum { CAS_LONGEST_CASCADES = 10 };
typedef struct cas_contagion_summary {
  double el_contagion, el_contagion_se;      /* mean contagion loss [CNY] */
  double var_factor[CAS_MAX_LEVELS];         /* VaR of the factor-only loss (loss - contagion) */
  double es_factor[CAS_MAX_LEVELS];          /* ES of the factor-only loss [CNY] */
  double var_factor_se[CAS_MAX_LEVELS], var_factor_lo[CAS_MAX_LEVELS], var_factor_hi[CAS_MAX_LEVELS];
  double es_factor_se[CAS_MAX_LEVELS], es_factor_lo[CAS_MAX_LEVELS], es_factor_hi[CAS_MAX_LEVELS];
  double es_contagion[CAS_MAX_LEVELS];       /* contagion loss on the paths that make up ES [CNY] */
  double es_contagion_share[CAS_MAX_LEVELS]; /* es_contagion / es: contagion's share of ES */
  int nsegments;
  double *es_contribution_contagion;         /* [nlevels][nsegments], rows sum to es_contagion */
  double mean_rounds;
  int32_t max_rounds;                        /* longest cascade seen */
  uint64_t truncated_paths;                  /* paths stopped by max_rounds */
  uint64_t longest_paths[CAS_LONGEST_CASCADES]; /* by rounds, then contagion loss, then index */
  int32_t longest_rounds[CAS_LONGEST_CASCADES];
  int nlongest;
} cas_contagion_summary;

/* loss[paths] (total), contagion[paths], contagion_by_segment[rows][nsegments]
 * (rows as in cas_summary_options: row_of_path NULL or the tail's rows),
 * rounds[paths], truncated[paths], weight[paths] (NULL: 1); sum is the summary of loss (its levels
 * are used). Free with cas_contagion_summary_free. */
cas_status cas_contagion_summary_compute(uint64_t paths, const double *loss, const double *weight,
                                         const double *contagion,
                                         const double *contagion_by_segment, int nsegments,
                                         const int64_t *row_of_path,
                                         const int32_t *rounds, const uint8_t *truncated,
                                         const cas_summary *sum, cas_contagion_summary *out,
                                         cas_error *err);
void cas_contagion_summary_free(cas_contagion_summary *s);

/* The paths whose losses make up ES at level a (the ceil(a paths)-th
 * smallest loss and every larger one, ties by path index, as the summary
 * ranks them), in increasing path order: *out (malloc'ed), *n of them. */
cas_status cas_tail_paths(uint64_t paths, const double *loss, const double *weight, double a,
                          uint64_t **out, uint64_t *n, cas_error *err);

/* The paths that make up ES at level a, in increasing path order, with
 * the weight ES gives each over M (1 - a): w_p, or the fraction of it the
 * VaR path carries; sum_p ew_p L_p / (M (1 - a)) = ES. *paths_out and
 * *ew_out malloc'ed, *n of them. weight may be NULL. */
cas_status cas_tail_weights(uint64_t paths, const double *loss, const double *weight, double a,
                            uint64_t **paths_out, double **ew_out, uint64_t *n, cas_error *err);

/* VaR contributions (the Euler allocation of VaR_a, E[L_j | L = VaR_a]),
 * by the kernel estimator of Tasche ("Capital allocation to business units
 * and sub-portfolios: the Euler principle", 2008) and Glasserman
 * ("Measuring marginal risk contributions in credit portfolios", J.
 * Computational Finance 9(2), 2005): each path weighted by w_p K((L_p -
 * VaR) / h), K the Epanechnikov kernel 0.75 (1 - x^2) on |x| < 1, h half
 * the width of VaR's 95% interval (sum.var_lo, var_hi), so the paths near
 * VaR count and the others not; with h 0 (a loss distribution with an
 * atom at VaR) the paths whose loss is VaR. The kernel means of the parts
 * add up to a mean loss near VaR; they are scaled to add up to VaR
 * exactly. rows[paths][n] the parts' losses per path; out[nlevels][n];
 * *paths_used[nlevels] how many paths carried each level (a few at 99.9%
 * and 10,000 plain paths: noisy, as the count says). */
void cas_var_contributions(uint64_t paths, const double *loss, const double *weight,
                           const cas_summary *sum, const double *rows, int n, double *out,
                           uint64_t *paths_used);

/* The default rate of each segment, the mean over paths of
 * defaults_by_segment[path][s] / loans[s] (times the path's weight when
 * weight is not NULL), and its Monte Carlo standard
 * error (sample standard deviation / sqrt(paths)); 0 for an empty segment.
 * Sums run in path order. */
void cas_default_rates(uint64_t paths, int nsegments, const int32_t *defaults_by_segment,
                       const uint64_t *loans, const double *weight, double *rate, double *rate_se);

/* One level's tail estimates (formulas above). tail_sd: the standard
 * deviation of the tail indicator w 1{L > VaR} (sqrt(a (1 - a)) without
 * weights). */
typedef struct cas_tail_estimate {
  double var, var_se, var_lo, var_hi, es, es_se, es_lo, es_hi, tail_sd;
} cas_tail_estimate;

/* Hall's (1992) interval, at the normal quantile z, for the mean of n
 * values of mean `mean` and central moments m2, m3 (divided by n). */
void cas_hall_interval(double mean, double m2, double m3, uint64_t n, double z, double *lo,
                       double *hi);

/* A scenario's figures minus a baseline's (and ES as a ratio to the
 * baseline's), each with its standard error and 95% interval. */
typedef struct cas_difference {
  int nlevels;
  double levels[CAS_MAX_LEVELS];
  double el, el_se, el_lo, el_hi;
  double var[CAS_MAX_LEVELS], var_se[CAS_MAX_LEVELS], var_lo[CAS_MAX_LEVELS], var_hi[CAS_MAX_LEVELS];
  double es[CAS_MAX_LEVELS], es_se[CAS_MAX_LEVELS], es_lo[CAS_MAX_LEVELS], es_hi[CAS_MAX_LEVELS];
  double es_ratio[CAS_MAX_LEVELS], es_ratio_se[CAS_MAX_LEVELS];
  double es_ratio_lo[CAS_MAX_LEVELS], es_ratio_hi[CAS_MAX_LEVELS];
} cas_difference;

/* With common random numbers: the two runs' path p drew the same random
 * numbers (same seed, book and paths), so each difference is estimated
 * from the per-path difference of the two estimators' influence functions
 * (EL: w L; ES: w (L - VaR)+ / (1 - a); VaR: w 1{L > VaR} / f(VaR), f from
 * the width of the 95% order-statistic interval; ES ratio: (psi_a - R psi_b) / ES_b), whose
 * standard deviation over the paths shrinks with the runs' correlation.
 * Intervals: Hall's for EL, ES and the ratio, normal for VaR. Weights may
 * be NULL. */
cas_status cas_paired_difference(uint64_t paths, const double *loss_a, const double *weight_a,
                                 const double *loss_b, const double *weight_b,
                                 const double *levels, int nlevels, cas_difference *out,
                                 cas_error *err);

/* Without common random numbers (independent runs): standard errors add
 * in quadrature, and so do the half-widths of the intervals on each side.
 * Levels: a's (the first min(a, b) of them; the caller matches them). */
void cas_unpaired_difference(const cas_summary *a, const cas_summary *b, cas_difference *out);

/* The empirical quantile and ES of sorted[n] at level a, with standard
 * errors (formulas above). */
void cas_quantile_es(const double *sorted, uint64_t n, double a, double *var,
                     double *var_se, double *es, double *es_se);

#endif
