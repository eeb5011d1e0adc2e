/*
 * irb.c: the Basel IRB capital requirement and the Vasicek large-portfolio
 * quantile (irb.h). Paragraph numbers are those of the June 2006 Basel II
 * framework.
 */
#include "irb.h"

#include <math.h>
#include <stddef.h>

#include "normal.h"

const char *const cas_irb_class_names[CAS_IRB_NCLASSES + 1] = {
  [CAS_IRB_CORPORATE] = "corporate",
  [CAS_IRB_MORTGAGE] = "residential_mortgage",
  [CAS_IRB_REVOLVING] = "qualifying_revolving_retail",
  [CAS_IRB_OTHER_RETAIL] = "other_retail",
  [CAS_IRB_NCLASSES] = NULL,
};

/* Weight between the two ends of an exponential correlation function:
 * (1 - e^(-k PD)) / (1 - e^(-k)). */
static double weight(double k, double pd) { return -expm1(-k * pd) / -expm1(-k); }

double cas_irb_correlation(cas_irb_class cls, double pd, double sales_meur) {
  switch (cls) {
    case CAS_IRB_CORPORATE: {   /* paragraphs 272 and 273 */
      double w = weight(50.0, pd);
      double r = 0.12 * w + 0.24 * (1.0 - w);
      if (sales_meur < 50.0) {
        double s = sales_meur < 5.0 ? 5.0 : sales_meur;
        r -= 0.04 * (1.0 - (s - 5.0) / 45.0);
      }
      return r;
    }
    case CAS_IRB_MORTGAGE:   /* paragraph 328 */
      return 0.15;
    case CAS_IRB_REVOLVING:  /* paragraph 329 */
      return 0.04;
    case CAS_IRB_OTHER_RETAIL: {   /* paragraph 330 */
      double w = weight(35.0, pd);
      return 0.03 * w + 0.16 * (1.0 - w);
    }
    default:
      return NAN;
  }
}

/* The Vasicek quantile from g_pd = Phi^-1(pd) and g_q = Phi^-1(q), pd in (0, 1). */
static double vasicek_given(double g_pd, double lgd, double r, double g_q) {
  double x = (g_pd + sqrt(r) * g_q) / sqrt(1.0 - r);
  return lgd * cas_norm_cdf(x);
}

double cas_vasicek_quantile(double pd, double lgd, double r, double q) {
  if (!(pd > 0.0)) return 0.0;
  if (pd >= 1.0) return lgd;
  return vasicek_given(cas_norm_quantile(pd), lgd, r, cas_norm_quantile(q));
}

double cas_irb_capital_given(cas_irb_class cls, double pd, double g_pd, double g_999, double lgd,
                             double m, double sales_meur) {
  if (pd >= 1.0) return 0.0;
  if (cls == CAS_IRB_CORPORATE && pd < 0.0003) {   /* paragraph 285 */
    pd = 0.0003;
    g_pd = cas_norm_quantile(pd);
  }
  if (!(pd > 0.0)) return 0.0;
  double r = cas_irb_correlation(cls, pd, sales_meur);
  double k = vasicek_given(g_pd, lgd, r, g_999) - pd * lgd;
  if (cls != CAS_IRB_CORPORATE) return k;
  double b = 0.11852 - 0.05478 * log(pd);   /* maturity adjustment, paragraph 272 */
  b *= b;
  return k * (1.0 + (m - 2.5) * b) / (1.0 - 1.5 * b);
}

double cas_irb_capital(cas_irb_class cls, double pd, double lgd, double m, double sales_meur) {
  double g_pd = pd > 0.0 && pd < 1.0 ? cas_norm_quantile(pd) : NAN;   /* else not read */
  return cas_irb_capital_given(cls, pd, g_pd, cas_norm_quantile(0.999), lgd, m, sales_meur);
}
