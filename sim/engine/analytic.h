/*
 * analytic.h: closed-form cross-checks beside the Monte Carlo figures
 * (docs/MODEL.md, Analytic cross-checks), by segment, for the first year
 * of a plan.
 *
 * Each loan's PD is its stressed PD under the scenario's factor means (the
 * copula's shifted PD, as the analytic expected loss uses), its exposure
 * the loss it would cause (stressed EAD x LGD, the part no guarantee
 * covers). Within a segment every loan loads on the same factors with
 * systematic variance R_s = a_s' C a_s, so in the large-portfolio limit
 * the segment's loss at confidence q is
 *     sum_k loss_k Phi((Phi^-1(PD_k) + sqrt(R_s) Phi^-1(q)) / sqrt(1 - R_s))
 * (Vasicek; irb.h). The sum over segments is the loss when every segment
 * sits at its own q-quantile at once: an upper bound of the book's
 * large-portfolio quantile for factors that are not perfectly correlated,
 * which the simulated VaR (granularity and contagion aside) stays below.
 * The IRB capital replaces the model's correlation by the supervisory one
 * of the segment's asset class (model.irb_class) and adds the maturity
 * adjustment (model.irb_maturity): sum_k K(class, PD_k, M) x loss_k.
 * With a t copula the formulas are the Gaussian ASRF's at the t copula's
 * marginal PDs.
 */
#ifndef CASCADE_ANALYTIC_H
#define CASCADE_ANALYTIC_H

#include "error.h"
#include "plan.h"
#include "scenario.h"

typedef struct cas_analytic {
  int nlevels, nsegments;
  double *vasicek;          /* [nlevels][nsegments] large-portfolio quantile [CNY] */
  double *vasicek_sum;      /* [nlevels] over the segments [CNY] */
  double *model_correlation; /* [nsegments] R_s */
  double *irb_capital;      /* [nsegments] [CNY] */
  double *irb_correlation;  /* [nsegments] loss-weighted mean supervisory correlation */
  double irb_capital_total; /* [CNY] */
  double *mem;
} cas_analytic;

cas_status cas_analytic_compute(const cas_plan *plan, const cas_scenario *sc, const double *levels,
                                int nlevels, cas_analytic *out, cas_error *err);
void cas_analytic_free(cas_analytic *a);

#endif
