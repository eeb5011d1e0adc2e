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
 *        j = ceil(sqrt(M a (1-a))), which covers one binomial standard
 *        deviation of the rank (Serfling 1980, sec. 2.6; Glasserman 2003,
 *        sec. 9.1); distribution-free, no density estimate;
 *   ES: sqrt([Var(L | L >= VaR) + a (ES - VaR)^2] / ((1 - a) M)), from the
 *        influence function of ES (Yamai and Yoshiba, 2002).
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
} cas_summary_options;

typedef struct cas_summary {
  uint64_t paths;
  int nlevels;
  double levels[CAS_MAX_LEVELS];
  double el, el_se;       /* expected loss [CNY] */
  double sd, sd_se;       /* standard deviation of loss [CNY] */
  double min_loss, max_loss;
  double var[CAS_MAX_LEVELS], var_se[CAS_MAX_LEVELS];
  double es[CAS_MAX_LEVELS], es_se[CAS_MAX_LEVELS];
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

/* What contagion adds to a loss distribution (when it is on). */
enum { CAS_LONGEST_CASCADES = 10 };
typedef struct cas_contagion_summary {
  double el_contagion, el_contagion_se;      /* mean contagion loss [CNY] */
  double var_factor[CAS_MAX_LEVELS];         /* VaR of the factor-only loss (loss - contagion) */
  double es_factor[CAS_MAX_LEVELS];          /* ES of the factor-only loss [CNY] */
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
 * rounds[paths], truncated[paths]; sum is the summary of loss (its levels
 * are used). Free with cas_contagion_summary_free. */
cas_status cas_contagion_summary_compute(uint64_t paths, const double *loss,
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
cas_status cas_tail_paths(uint64_t paths, const double *loss, double a, uint64_t **out,
                          uint64_t *n, cas_error *err);

/* The default rate of each segment, the mean over paths of
 * defaults_by_segment[path][s] / loans[s], and its Monte Carlo standard
 * error (sample standard deviation / sqrt(paths)); 0 for an empty segment.
 * Sums run in path order. */
void cas_default_rates(uint64_t paths, int nsegments, const int32_t *defaults_by_segment,
                       const uint64_t *loans, double *rate, double *rate_se);

/* The empirical quantile and ES of sorted[n] at level a, with standard
 * errors (formulas above). */
void cas_quantile_es(const double *sorted, uint64_t n, double a, double *var,
                     double *var_se, double *es, double *es_se);

#endif
