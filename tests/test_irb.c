/*
 * test_irb.c: the Basel IRB risk-weight functions and the Vasicek
 * large-portfolio quantile (sim/engine/irb.h).
 *
 * The published answer: Annex 5 of the June 2006 Basel II framework,
 * "Illustrative IRB risk weights" (PD, LGD, M = 2.5 years): corporate
 * exposures (LGD 45%; sales of EUR 50 million and, for the SME adjustment,
 * 5 million), residential mortgages (LGD 45% and 25%), other retail (45%,
 * 85%) and qualifying revolving retail (45%, 85%). The table gives risk
 * weights in percent to two decimals, computed with the Committee's own
 * numerics: 93 of its 100 values here are the exact formula rounded, the
 * other 7 are within 0.006 percentage points of it. So each computed weight
 * (12.5 K) must be within 0.01 percentage points (one unit of the table's
 * last digit); a formula with one term wrong (no maturity adjustment, no
 * SME adjustment, another class's correlation) is off by tenths to tens of
 * points in many rows.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "irb.h"
#include "normal.h"

typedef struct row {
  double pd;                 /* [%] */
  double rw[8];              /* [%]: corp 50, corp 5, mortgage 45, 25, other 45, 85, QRRE 45, 85 */
} row;

/* Basel II (June 2006), Annex 5; NAN: a value this test does not carry. */
static const row annex5[] = {
  {0.03, {14.44, 11.30, 4.15, 2.30, 4.45, 8.41, 0.98, 1.85}},
  {0.05, {19.65, 15.39, 6.23, 3.46, 6.63, 12.52, 1.51, 2.86}},
  {0.10, {29.65, 23.30, 10.69, 5.94, 11.16, 21.08, 2.71, 5.12}},
  {0.25, {49.47, 39.01, 21.30, 11.83, 21.15, 39.96, 5.76, 10.88}},
  {0.40, {62.72, 49.49, 29.94, 16.64, 28.42, 53.69, 8.41, 15.88}},
  {0.50, {69.61, 54.91, 35.08, 19.49, 32.36, 61.13, 10.04, 18.97}},
  {0.75, {82.78, 65.14, 46.46, 25.81, 40.10, 75.74, 13.80, 26.06}},
  {1.00, {92.32, 72.40, 56.40, 31.33, 45.77, 86.46, 17.22, 32.53}},
  {1.30, {100.95, 78.77, 67.00, 37.22, 50.80, 95.95, 21.02, 39.70}},
  {1.50, {105.59, 82.11, 73.45, 40.80, 53.37, 100.81, 23.40, 44.19}},
  {2.00, {114.86, 88.55, 87.94, 48.85, 57.99, 109.53, 28.92, 54.63}},
  {2.50, {122.16, 93.43, 100.64, 55.91, 60.90, 115.03, 33.98, 64.18}},
  {3.00, {128.44, 97.58, 111.99, 62.22, NAN, NAN, NAN, NAN}},
};

Test(irb, reproduces_the_basel_illustrative_risk_weights) {
  static const struct { cas_irb_class cls; double lgd, sales; } col[8] = {
      {CAS_IRB_CORPORATE, 0.45, 50.0}, {CAS_IRB_CORPORATE, 0.45, 5.0},
      {CAS_IRB_MORTGAGE, 0.45, 50.0},  {CAS_IRB_MORTGAGE, 0.25, 50.0},
      {CAS_IRB_OTHER_RETAIL, 0.45, 50.0}, {CAS_IRB_OTHER_RETAIL, 0.85, 50.0},
      {CAS_IRB_REVOLVING, 0.45, 50.0},  {CAS_IRB_REVOLVING, 0.85, 50.0},
  };
  int checked = 0;
  double worst = 0.0;
  for (size_t i = 0; i < sizeof annex5 / sizeof annex5[0]; i++)
    for (int c = 0; c < 8; c++) {
      double want = annex5[i].rw[c];
      if (isnan(want)) continue;
      double rw = 100.0 * 12.5 *
                  cas_irb_capital(col[c].cls, annex5[i].pd / 100.0, col[c].lgd, 2.5, col[c].sales);
      worst = fmax(worst, fabs(rw - want));
      cr_expect_leq(fabs(rw - want), 0.01, "PD %.2f%%, column %d: %.4f%%, Basel %.2f%%",
                    annex5[i].pd, c, rw, want);
      checked++;
    }
  cr_log_info("%d published risk weights, largest difference %.5f percentage points", checked, worst);
  cr_assert_eq(checked, 100);
}

Test(irb, correlations_and_quantiles_keep_their_shape) {
  /* corporate correlation from 0.24 (PD -> 0) to 0.12 (PD -> 1), SME up to 0.04 lower */
  cr_expect_float_eq(cas_irb_correlation(CAS_IRB_CORPORATE, 1e-9, 50.0), 0.24, 1e-8);
  cr_expect_float_eq(cas_irb_correlation(CAS_IRB_CORPORATE, 1.0 - 1e-12, 50.0), 0.12, 1e-8);
  cr_expect_float_eq(cas_irb_correlation(CAS_IRB_CORPORATE, 0.01, 5.0),
                     cas_irb_correlation(CAS_IRB_CORPORATE, 0.01, 50.0) - 0.04, 1e-15);
  cr_expect_float_eq(cas_irb_correlation(CAS_IRB_CORPORATE, 0.01, 1.0),
                     cas_irb_correlation(CAS_IRB_CORPORATE, 0.01, 5.0), 1e-15);
  cr_expect_float_eq(cas_irb_correlation(CAS_IRB_OTHER_RETAIL, 1e-9, 50.0), 0.16, 1e-8);
  /* no correlation: the quantile is the expected loss at any level */
  for (double q = 0.5; q < 1.0; q += 0.1)
    cr_expect_float_eq(cas_vasicek_quantile(0.02, 0.4, 0.0, q), 0.008, 1e-15);
  /* the median of the ASRF loss is below the mean for PD < 1/2 (skewed), and
   * the quantile rises with the level and the correlation */
  cr_expect_lt(cas_vasicek_quantile(0.02, 1.0, 0.2, 0.5), 0.02);
  cr_expect_lt(cas_vasicek_quantile(0.02, 1.0, 0.2, 0.99), cas_vasicek_quantile(0.02, 1.0, 0.2, 0.999));
  cr_expect_lt(cas_vasicek_quantile(0.02, 1.0, 0.1, 0.999), cas_vasicek_quantile(0.02, 1.0, 0.2, 0.999));
  /* a defaulted or riskless loan needs no UL capital here; the corporate PD floor */
  cr_expect_eq(cas_irb_capital(CAS_IRB_CORPORATE, 1.0, 0.45, 2.5, 50.0), 0.0);
  cr_expect_eq(cas_irb_capital(CAS_IRB_CORPORATE, 1e-6, 0.45, 2.5, 50.0),
               cas_irb_capital(CAS_IRB_CORPORATE, 0.0003, 0.45, 2.5, 50.0));
  /* longer maturity, more capital */
  cr_expect_gt(cas_irb_capital(CAS_IRB_CORPORATE, 0.01, 0.45, 5.0, 50.0),
               cas_irb_capital(CAS_IRB_CORPORATE, 0.01, 0.45, 2.5, 50.0));
}

/* cas_irb_capital_given, with the quantiles computed by the caller, gives
 * cas_irb_capital's bits: every class, PDs from 10^-7 (below the corporate
 * floor, where it must take the floored PD's quantile, not the caller's)
 * to 1, maturities 1 to 5 years. */
Test(irb, capital_from_given_quantiles_is_the_same) {
  double g999 = cas_norm_quantile(0.999);
  int n = 0;
  for (int c = 0; c < CAS_IRB_NCLASSES; c++)
    for (double pd = 1e-7; pd <= 1.0; pd *= 1.37)
      for (double m = 1.0; m <= 5.0; m += 2.0) {
        double g = cas_norm_quantile(pd);
        double want = cas_irb_capital((cas_irb_class)c, pd, 0.45, m, 50.0);
        double got = cas_irb_capital_given((cas_irb_class)c, pd, g, g999, 0.45, m, 50.0);
        cr_assert(memcmp(&want, &got, sizeof want) == 0, "class %d, PD %.17g, M %g: %.17g vs %.17g",
                  c, pd, m, want, got);
        n++;
      }
  cr_assert_eq(cas_irb_capital_given(CAS_IRB_CORPORATE, 1.0, NAN, g999, 0.45, 2.5, 50.0), 0.0);
  cr_assert_eq(cas_irb_capital_given(CAS_IRB_OTHER_RETAIL, 0.0, NAN, g999, 0.45, 2.5, 50.0), 0.0);
  cr_assert_gt(n, 500);
}
