/*
 * irb.h: analytic cross-checks beside the Monte Carlo figures: the Basel
 * IRB capital requirement and the Vasicek large-portfolio loss quantile.
 *
 * Both rest on the asymptotic single risk factor model (Vasicek 2002;
 * Gordy 2003): in an infinitely granular book whose loans share one factor
 * with asset correlation R, the loss fraction at confidence q is
 *     LGD x Phi((Phi^-1(PD) + sqrt(R) Phi^-1(q)) / sqrt(1 - R)).
 * The IRB formulas are those of Basel II, "International Convergence of
 * Capital Measurement and Capital Standards: A Revised Framework", June
 * 2006, paragraphs 272-273 (corporate, sovereign and bank exposures, the
 * firm-size adjustment for SMEs) and 328-330 (residential mortgages,
 * qualifying revolving retail, other retail); their Annex 5 tabulates
 * illustrative risk weights that tests/test_irb.c reproduces.
 */
#ifndef CASCADE_IRB_H
#define CASCADE_IRB_H

/* The IRB asset classes, each with its correlation function. */
typedef enum cas_irb_class {
  CAS_IRB_CORPORATE = 0,      /* corporate, sovereign, bank; with the SME firm-size adjustment
                                 when sales_meur < 50 */
  CAS_IRB_MORTGAGE,           /* residential mortgages: R = 0.15 */
  CAS_IRB_REVOLVING,          /* qualifying revolving retail: R = 0.04 */
  CAS_IRB_OTHER_RETAIL,       /* other retail: R from 0.03 to 0.16 falling with PD */
  CAS_IRB_NCLASSES
} cas_irb_class;

/* The classes' names in scenarios and results, NULL-terminated. */
extern const char *const cas_irb_class_names[CAS_IRB_NCLASSES + 1];

/* The supervisory asset correlation of a PD (in (0, 1)) in a class;
 * sales_meur: the borrower's annual sales [EUR million] for the SME
 * adjustment of corporate exposures (clamped to [5, 50]; 50 or more: none). */
double cas_irb_correlation(cas_irb_class cls, double pd, double sales_meur);

/* The ASRF loss fraction at confidence q of a loan of PD and LGD with
 * asset correlation R (the conditional PD times LGD): the Vasicek
 * large-portfolio quantile per unit of exposure. */
double cas_vasicek_quantile(double pd, double lgd, double r, double q);

/* The IRB capital requirement K per unit of EAD (unexpected loss at
 * 99.9%, with the maturity adjustment for corporate exposures of effective
 * maturity m years; retail classes have none). PD is floored at 0.03% for
 * corporate exposures, as the framework requires (paragraph 285); PD >= 1
 * (defaulted) gives 0 here (the framework's best-estimate rule needs data
 * this function does not have). Risk weight = 12.5 K. */
double cas_irb_capital(cas_irb_class cls, double pd, double lgd, double m, double sales_meur);

/* cas_irb_capital, the same bits, from quantiles the caller has already:
 * g_pd = cas_norm_quantile(pd) (read only when PD is in (0, 1) and not
 * floored) and g_999 = cas_norm_quantile(0.999); a book's cross-checks
 * compute both once instead of once per loan. */
double cas_irb_capital_given(cas_irb_class cls, double pd, double g_pd, double g_999, double lgd,
                             double m, double sales_meur);

#endif
