/*
 * test_plan.c: how a plan applies a scenario's shocks (sim/engine/plan.c).
 *
 * - PD stress on the odds: exact values, composition, monotonicity, PDs
 *   that approach 1 without reaching it, thresholds finite and accurate
 *   (reference values from mpmath at 50 digits, as in test_normal.c) for
 *   every multiplier the scenario reader accepts and PDs up to the last
 *   double below 1.
 * - Factor shifts: the mean vector against hand-computed conditional means
 *   (two factors; three factors with two shifted), the isolated mode, and
 *   what counts as shifted.
 * - Binding: cas_plan_build binds the scenario to the book's own
 *   classification (factors, segments and shocks in its order), and
 *   reports a name the book does not have at its place in the scenario.
 *   The other tests read their small books with the delta's
 *   classification declared, so that its indices and factor names apply.
 * - Collateral haircuts: LGD'' by hand for covered, over-covered,
 *   unsecured, compounded, city-level, credit-line and amortised loans; a
 *   haircut of 0 builds the plan of none bit for bit; the analytic EL rises
 *   by PD x EAD x (LGD'' - LGD).
 * - Analytic expected loss under shifted factor means: known answers
 *   (mpmath) on a three-loan book, and the Monte Carlo mean of both kernels
 *   within 3 standard errors of it on a small built-in book with factor
 *   shifts and correlations. The seed is fixed, so the test is
 *   deterministic; were the analytic value right and the seed random, it
 *   would fail with probability 0.27% per kernel. The same runs show that
 *   the EL without the shifts lies outside that band, so the comparison
 *   can tell the two apart.
 */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "analytic.h"
#include "irb.h"
#include "kernel.h"
#include "normal.h"
#include "plan.h"
#include "portfolio.h"
#include "scenario.h"
#include "stats.h"

/* ---- helpers ------------------------------------------------------------ */

/* A scratch folder holding a portfolio CSV and the scenario that uses it. */
typedef struct scratch {
  char dir[64];
  char csv[128], yaml[128];
} scratch;

static void scratch_make(scratch *s) {
  snprintf(s->dir, sizeof s->dir, "/tmp/cascade-plan-XXXXXX");
  cr_assert_not_null(mkdtemp(s->dir));
  snprintf(s->csv, sizeof s->csv, "%s/book.csv", s->dir);
  snprintf(s->yaml, sizeof s->yaml, "%s/s.yaml", s->dir);
}

static void scratch_remove(scratch *s) {
  unlink(s->csv);
  unlink(s->yaml);
  rmdir(s->dir);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

/* The scenario a plan was built from: the plan borrows its classification
 * (plan->tax), so it lives until plan_free. One plan at a time. */
static cas_scenario *plan_scenario;

/* The plan of a scenario (text) over a CSV book (text, header included),
 * the book read with the classification declared (NULL: from the data).
 * cas_plan_build binds the scenario to the book's classification. */
static cas_plan *plan_of_as(const char *csv_text, const char *yaml_text, const cas_taxonomy *declared) {
  cr_assert_null(plan_scenario, "one plan at a time");
  scratch s;
  scratch_make(&s);
  write_file(s.csv, csv_text);
  write_file(s.yaml, yaml_text);
  cas_error err = {0};
  cas_scenario *sc = NULL;
  cas_portfolio *pf = NULL;
  cas_plan *plan = NULL;
  cr_assert_eq(cas_scenario_load(s.yaml, &sc, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_portfolio_load_csv_as(s.csv, declared, &pf, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_plan_build(sc, pf, NULL, &plan, &err), CAS_OK, "%s", err.msg);
  cr_assert_not_null(sc->tax);
  cr_assert(cas_taxonomy_equal(sc->tax, pf->tax), "the scenario is not bound to the book's classification");
  cr_assert(cas_taxonomy_equal(plan->tax, pf->tax));
  cr_assert_eq(plan->nsegments, pf->tax->nsegments);
  cr_assert_eq(plan->nsectors, pf->tax->sectors.n);
  cr_assert_eq(plan->nfactors, sc->factors->nfactors);
  cas_portfolio_destroy(pf);
  scratch_remove(&s);
  plan_scenario = sc;
  return plan;
}

/* As plan_of_as with the delta's classification declared for the book
 * (classification: yrd), so that the delta's indices (CAS_REGION_*,
 * CAS_SECTOR_*) and factors (region.shanghai, ...) apply. */
static cas_plan *plan_of(const char *csv_text, const char *yaml_text) {
  cas_taxonomy *yrd = cas_taxonomy_yrd();
  cr_assert_not_null(yrd);
  cas_plan *plan = plan_of_as(csv_text, yaml_text, yrd);
  cas_taxonomy_destroy(yrd);
  return plan;
}

static void plan_free(cas_plan *plan) {
  cas_plan_destroy(plan);
  cas_scenario_destroy(plan_scenario);
  plan_scenario = NULL;
}

/* Segment of (region, sector) named, in the plan's classification. */
static int segment(const cas_plan *plan, const char *region, const char *sector) {
  int r = cas_names_find(&plan->tax->regions, region, strlen(region));
  int s = cas_names_find(&plan->tax->sectors, sector, strlen(sector));
  cr_assert(r >= 0 && s >= 0, "%s/%s", region, sector);
  return cas_taxonomy_segment(plan->tax, r, s);
}

/* Where loan i of the portfolio sits in the plan. */
static size_t plan_position(const cas_plan *plan, size_t i) {
  for (size_t k = 0; k < plan->n; k++)
    if (plan->loan_index[k] == i) return k;
  cr_assert_fail("loan %zu is not in the plan", i);
  return 0;
}

static double rel_err(double got, double want) { return fabs(got - want) / fabs(want); }

/* ---- PD stress on the odds ---------------------------------------------- */

Test(plan, odds_multiplier_exact_values) {
  /* PD 4% x 2 on the odds: 0.08 / 1.04 = 1/13, survival 12/13. */
  cas_stressed_pd p = cas_plan_stressed_pd(0.04, 2.0);
  cr_expect_leq(rel_err(p.pd, 1.0 / 13.0), 2 * DBL_EPSILON, "%.17g", p.pd);
  cr_expect_leq(rel_err(p.survival, 12.0 / 13.0), 2 * DBL_EPSILON, "%.17g", p.survival);
  /* Even odds (PD 1/2) x 3: 3/4, exactly. */
  p = cas_plan_stressed_pd(0.5, 3.0);
  cr_expect_eq(p.pd, 0.75);
  cr_expect_eq(p.survival, 0.25);
  /* PD 0.2 x 5: odds 1/4 -> 5/4, PD 5/9; PD 0.5 x 5: 5/6 (the largest PD
   * of the built-in book in the x5 sensitivity test). */
  p = cas_plan_stressed_pd(0.2, 5.0);
  cr_expect_leq(rel_err(p.pd, 5.0 / 9.0), 2 * DBL_EPSILON, "%.17g", p.pd);
  p = cas_plan_stressed_pd(0.5, 5.0);
  cr_expect_leq(rel_err(p.pd, 5.0 / 6.0), 2 * DBL_EPSILON, "%.17g", p.pd);
  /* Small PDs: about m x PD, less by the factor 1 / (1 + (m - 1) PD). */
  p = cas_plan_stressed_pd(1e-9, 5.0);
  cr_expect_leq(rel_err(p.pd, 5e-9 / (1 + 4e-9)), 2 * DBL_EPSILON, "%.17g", p.pd);
  /* A multiplier below 1 lowers the odds: PD 0.5 x 0.25 -> 0.2. */
  p = cas_plan_stressed_pd(0.5, 0.25);
  cr_expect_leq(rel_err(p.pd, 0.2), 2 * DBL_EPSILON, "%.17g", p.pd);
  /* m = 1 is neutral bit for bit: the unshocked book keeps its PDs. */
  static const double pds[] = {1e-300, 1e-12, 0.0123456789, 0.1, 0.3, 0.49999, 0.5, 0.7, 0.9};
  for (size_t i = 0; i < sizeof pds / sizeof pds[0]; i++) {
    p = cas_plan_stressed_pd(pds[i], 1.0);
    cr_expect(memcmp(&p.pd, &pds[i], sizeof p.pd) == 0, "PD %.17g x 1 gives %.17g", pds[i], p.pd);
  }
}

Test(plan, odds_multipliers_compose_by_multiplying) {
  static const double pds[] = {1e-8, 1e-3, 0.02, 0.1, 0.3, 0.5};
  static const double ms[][2] = {{2, 3}, {1.5, 4}, {0.5, 8}, {10, 0.1}, {1.3, 1.2}};
  for (size_t i = 0; i < sizeof pds / sizeof pds[0]; i++)
    for (size_t j = 0; j < sizeof ms / sizeof ms[0]; j++) {
      double twice = cas_plan_stressed_pd(cas_plan_stressed_pd(pds[i], ms[j][0]).pd, ms[j][1]).pd;
      double once = cas_plan_stressed_pd(pds[i], ms[j][0] * ms[j][1]).pd;
      /* A few roundings each way. */
      cr_expect_leq(rel_err(twice, once), 8 * DBL_EPSILON, "PD %g, m %g then %g: %.17g vs %.17g",
                    pds[i], ms[j][0], ms[j][1], twice, once);
    }
  /* In a scenario: the multipliers that apply to a loan multiply. */
  cas_plan *plan = plan_of("id,region,sector,ead,pd,lgd\n"
                           "a,anhui,green,1000,0.04,0.5\n"
                           "b,anhui,household,1000,0.04,0.5\n",
                           "paths: 100\n"
                           "shocks:\n"
                           "  - {pd_multiplier: 2}\n"
                           "  - {region: anhui, pd_multiplier: 1.5}\n"
                           "  - {sector: green, pd_multiplier: 3}\n");
  int green = cas_taxonomy_segment(plan->tax, CAS_REGION_ANHUI, CAS_SECTOR_GREEN);
  int household = cas_taxonomy_segment(plan->tax, CAS_REGION_ANHUI, CAS_SECTOR_HOUSEHOLD);
  cr_assert_eq(green, segment(plan, "anhui", "green"));
  cr_assert_eq(household, segment(plan, "anhui", "household"));
  cr_expect_eq(plan->seg_pd_mult[green], 9.0);
  cr_expect_eq(plan->seg_pd_mult[household], 3.0);
  double want = cas_plan_threshold(&cas_copula_gaussian, cas_plan_stressed_pd(0.04, 9.0));
  cr_expect_eq(plan->loans[plan_position(plan, 0)].threshold, want);
  /* odds 1/24 x 9 = 3/8: PD 3/11. */
  cr_expect_leq(rel_err(cas_plan_stressed_pd(0.04, 9.0).pd, 3.0 / 11.0), 2 * DBL_EPSILON);
  plan_free(plan);
}

Test(plan, stressed_pd_is_monotone_and_never_reaches_one) {
  static const double ms[] = {CAS_PD_MULTIPLIER_MIN, 0.5, 1, 2, 5, 100, CAS_PD_MULTIPLIER_MAX};
  enum { NM = sizeof ms / sizeof ms[0] };
  /* PDs from 1e-300 up to the last double below 1, increasing. */
  double pds[64];
  int n = 0;
  for (int e = -300; e <= -2; e += 14) pds[n++] = pow(10.0, e);
  static const double upper[] = {0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 1 - 1e-6, 1 - 1e-9,
                                 1 - 1e-12, 1 - 1e-15};
  for (size_t k = 0; k < sizeof upper / sizeof upper[0]; k++) pds[n++] = upper[k];
  pds[n++] = nextafter(1.0, 0.0);
  for (int i = 1; i < n; i++) cr_assert_lt(pds[i - 1], pds[i]);

  for (int j = 0; j < NM; j++) {
    double prev = 0.0, prev_t = -INFINITY;
    for (int i = 0; i < n; i++) {
      cas_stressed_pd p = cas_plan_stressed_pd(pds[i], ms[j]);
      double t = cas_plan_threshold(&cas_copula_gaussian, p);
      cr_expect(p.survival > 0.0, "PD %.17g x %g: survival %g", pds[i], ms[j], p.survival);
      cr_expect(isfinite(t), "PD %.17g x %g: threshold %g", pds[i], ms[j], t);
      /* pd itself rounds to 1.0 only once 1 - pd' is below half an ulp
       * of 1 (2^-54); the threshold is computed from the survival then. */
      if (pds[i] <= 1 - 1e-12) cr_expect_lt(p.pd, 1.0, "PD %.17g x %g", pds[i], ms[j]);
      cr_expect_geq(p.pd, prev, "not monotone in PD at %.17g x %g", pds[i], ms[j]);
      cr_expect_gt(t, prev_t, "threshold not increasing at PD %.17g x %g", pds[i], ms[j]);
      prev = p.pd;
      prev_t = t;
      /* Increasing in m too. */
      if (j > 0) {
        cas_stressed_pd q = cas_plan_stressed_pd(pds[i], ms[j - 1]);
        cr_expect_leq(q.pd, p.pd, "not monotone in m at PD %.17g, m %g", pds[i], ms[j]);
        cr_expect_geq(q.survival, p.survival, "PD %.17g, m %g", pds[i], ms[j]);
      }
    }
  }
}

Test(plan, thresholds_keep_their_precision_near_one) {
  /* PD 1/2 x 999: 1 - PD' = 1/1000; Phi^-1(0.999) = 3.0902323061678135415. */
  double t = cas_plan_threshold(&cas_copula_gaussian, cas_plan_stressed_pd(0.5, 999.0));
  cr_expect_leq(rel_err(t, 3.0902323061678135415), 4 * DBL_EPSILON, "%.17g", t);
  /* PD 1 - 2^-30 (exact) x 1000: 1 - PD' = 9.3132257548197289268e-13 and
   * Phi^-1(PD') = 7.0443983878737402946. From PD' itself (1 - 9.3e-13 in
   * double) the threshold would be off by about 2e-5. */
  cas_stressed_pd p = cas_plan_stressed_pd(1.0 - ldexp(1.0, -30), 1000.0);
  cr_expect_leq(rel_err(p.survival, 9.3132257548197289268e-13), 4 * DBL_EPSILON, "%.17g",
                p.survival);
  t = cas_plan_threshold(&cas_copula_gaussian, p);
  cr_expect_leq(rel_err(t, 7.0443983878737402946), 4 * DBL_EPSILON, "%.17g", t);
  cr_expect_gt(fabs(cas_copula_gaussian.threshold(&cas_copula_gaussian, p.pd) - t), 1e-6,
               "the naive threshold is not the precise one: the test would not see the difference");
}

Test(plan, plan_thresholds_are_finite_at_the_range_limit) {
  cas_plan *plan = plan_of("id,region,sector,ead,pd,lgd\n"
                           "a,shanghai,tech_startup,1000,1e-300,0.5\n"
                           "b,shanghai,tech_startup,1000,0.5,0.5\n"
                           "c,shanghai,tech_startup,1000,0.999999999999,0.5\n"
                           "d,shanghai,tech_startup,1000,0.99999999999999989,0.5\n",
                           "paths: 100\nshocks:\n  - {pd_multiplier: 1000}\n");
  for (size_t k = 0; k < plan->n; k++) {
    cr_expect(isfinite(plan->loans[k].threshold), "loan %u: threshold %g", plan->loan_index[k],
              plan->loans[k].threshold);
  }
  /* The last loan: 1 - PD = 2^-53, odds x 1000: survival 1.1e-19, threshold 9.0. */
  double t = plan->loans[plan_position(plan, 3)].threshold;
  cr_expect(t > 8.9 && t < 9.1, "%.17g", t);
  plan_free(plan);
}

/* ---- factor shifts -------------------------------------------------------- */

static const char *const one_loan = "id,region,sector,ead,pd,lgd\n"
                                    "a,anhui,green,1000,0.02,0.5\n";

/* Index of the factor named in the model of the current plan's scenario. */
static int factor(const char *name) {
  cr_assert_not_null(plan_scenario);
  cr_assert_not_null(plan_scenario->factors);
  int f = cas_names_find(&plan_scenario->factors->names, name, strlen(name));
  cr_assert_geq(f, 0, "%s", name);
  return f;
}

Test(plan, conditional_shift_two_factors) {
  /* rho(shanghai, jiangsu) = 0.5: shifting Shanghai by -2 moves Jiangsu by
   * its conditional mean 0.5 x -2 = -1; uncorrelated factors stay. */
  cas_plan *plan = plan_of(one_loan,
                           "paths: 100\n"
                           "model:\n"
                           "  correlations:\n"
                           "    - {factors: [region.shanghai, region.jiangsu], value: 0.5}\n"
                           "shocks:\n"
                           "  - {region: shanghai, factor_shift: -2}\n");
  int sh = factor("region.shanghai"), js = factor("region.jiangsu");
  for (int f = 0; f < plan->nfactors; f++) {
    double want = f == sh ? -2.0 : f == js ? -1.0 : 0.0;
    cr_expect_eq(plan->shift[f], want, "factor %d: %.17g, expected %g", f, plan->shift[f], want);
    cr_expect_eq(plan->shift_given[f], f == sh ? -2.0 : 0.0, "factor %d given", f);
  }
  plan_free(plan);
}

/* Three correlated factors, two of them shifted: X = tech, Y = green,
 * W = real estate, rho(X,Y) = 0.5, rho(X,W) = 0.4, rho(Y,W) = 0.3;
 * delta = (-2, 0.5) on (X, Y). By hand: C[S,S]^-1 = [[4/3, -2/3], [-2/3,
 * 4/3]], C[S,S]^-1 delta = (-3, 2), mu_W = 0.4 (-3) + 0.3 (2) = -0.6. */
static const char *const three_factors =
    "paths: 100\n"
    "model:\n"
    "  correlations:\n"
    "    - {factors: [sector.tech_startup, sector.green], value: 0.5}\n"
    "    - {factors: [sector.tech_startup, sector.real_estate], value: 0.4}\n"
    "    - {factors: [sector.green, sector.real_estate], value: 0.3}\n"
    "shocks:\n"
    "  - {sector: tech_startup, factor_shift: -2}\n"
    "  - {sector: green, factor_shift: 0.5}\n";

Test(plan, conditional_shift_three_factors_two_shifted) {
  cas_plan *plan = plan_of(one_loan, three_factors);
  int x = factor("sector.tech_startup"), y = factor("sector.green");
  int w = factor("sector.real_estate");
  for (int f = 0; f < plan->nfactors; f++) {
    if (f == w) continue;
    double want = f == x ? -2.0 : f == y ? 0.5 : 0.0;
    cr_expect_eq(plan->shift[f], want, "factor %d: %.17g, expected %g", f, plan->shift[f], want);
  }
  cr_expect_float_eq(plan->shift[w], -0.6, 4 * DBL_EPSILON, "%.17g", plan->shift[w]);
  plan_free(plan);
}

Test(plan, isolated_shift_moves_only_the_shifted_factors) {
  char text[1024];
  snprintf(text, sizeof text, "factor_shift_mode: isolated\n%s", three_factors);
  cas_plan *plan = plan_of(one_loan, text);
  for (int f = 0; f < plan->nfactors; f++) {
    cr_expect_eq(plan->shift[f], plan->shift_given[f], "factor %d", f);
    double want = f == factor("sector.tech_startup") ? -2.0 : f == factor("sector.green") ? 0.5 : 0.0;
    cr_expect_eq(plan->shift[f], want, "factor %d", f);
  }
  plan_free(plan);
}

Test(plan, shifts_of_one_factor_add_and_zero_is_not_shifted) {
  /* Green's shifts add to 0: green is not shifted, so it follows tech's
   * shift like every other sector (rho 0.2: -0.4), instead of being held
   * at 0; a zero shift is the same as no shift. Two shifts of tech add. */
  cas_plan *plan = plan_of(one_loan,
                           "paths: 100\n"
                           "model: {sector_correlation: 0.2, region_correlation: 0.5}\n"
                           "shocks:\n"
                           "  - {sector: green, factor_shift: -1}\n"
                           "  - {sector: green, factor_shift: 1}\n"
                           "  - {sector: tech_startup, factor_shift: -1.5}\n"
                           "  - {sector: tech_startup, factor_shift: -0.5}\n");
  int tech = factor("sector.tech_startup");
  cr_expect_eq(plan->shift_given[tech], -2.0);
  cr_expect_eq(plan->shift_given[factor("sector.green")], 0.0);
  for (int f = 0; f < plan->nfactors; f++) {
    int is_sector = strncmp(plan_scenario->factors->names.name[f], "sector.", 7) == 0;
    double want = f == tech ? -2.0 : is_sector ? -0.4 : 0.0;
    cr_expect_float_eq(plan->shift[f], want, 4 * DBL_EPSILON, "factor %d: %.17g", f, plan->shift[f]);
  }
  plan_free(plan);
}

/* ---- binding to the book's classification ---------------------------------- */

/* A book with its own classification: regions north, south; sectors
 * farming, mining (in order of first appearance). */
static const char *const own_book = "id,region,sector,ead,pd,lgd\n"
                                    "a,south,mining,1000,0.02,0.5\n"
                                    "b,north,farming,1000,0.02,0.5\n"
                                    "c,south,farming,1000,0.02,0.5\n";

Test(plan, build_binds_the_scenario_to_the_books_classification) {
  scratch s;
  scratch_make(&s);
  write_file(s.csv, own_book);
  write_file(s.yaml, "paths: 100\n"
                     "portfolio: {file: book.csv}\n"
                     "factor_shift_mode: isolated\n"
                     "shocks:\n"
                     "  - {region: north, pd_multiplier: 2}\n"
                     "  - {sector: mining, factor_shift: -1}\n");
  cas_error err = {0};
  cas_scenario *sc = NULL;
  cas_portfolio *pf = NULL;
  cas_plan *plan = NULL;
  cr_assert_eq(cas_scenario_load(s.yaml, &sc, &err), CAS_OK, "%s", err.msg);
  /* A CSV book without a declared classification: not bound yet. */
  cr_expect_null(sc->tax);
  cr_expect_null(sc->factors);
  cr_expect_eq(sc->nshocks, 0);
  cr_assert_eq(cas_portfolio_load_csv_as(sc->portfolio.file, sc->declared, &pf, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_plan_build(sc, pf, NULL, &plan, &err), CAS_OK, "%s", err.msg);
  scratch_remove(&s);
  cr_assert_not_null(sc->factors);
  cr_assert_eq(sc->nshocks, 2);
  cr_assert(cas_taxonomy_equal(sc->tax, pf->tax));
  cr_assert(cas_taxonomy_equal(plan->tax, pf->tax));
  cr_assert_eq(plan->nsegments, 4);
  cr_assert_eq(plan->nsectors, 2);
  /* Factors: global, then one per region and per sector, in the book's order. */
  static const char *const names[] = {"global", "region.south", "region.north", "sector.mining", "sector.farming"};
  cr_assert_eq(plan->nfactors, 5);
  cr_assert_eq(sc->factors->nfactors, 5);
  for (int f = 0; f < 5; f++) cr_expect_str_eq(sc->factors->names.name[f], names[f], "factor %d", f);
  /* Segments region x nsectors + sector: south/mining 0, south/farming 1,
   * north/mining 2, north/farming 3. */
  cr_expect_eq(segment(plan, "south", "mining"), 0);
  cr_expect_eq(segment(plan, "north", "farming"), 3);
  for (int g = 0; g < 4; g++) {
    int north = cas_taxonomy_segment_region(plan->tax, g) == 1;
    cr_expect_eq(plan->seg_pd_mult[g], north ? 2.0 : 1.0, "segment %d", g);
    /* A loan loads on global, its region's and its sector's factor only. */
    const double *a = cas_plan_loading(plan, g);
    int r = cas_taxonomy_segment_region(plan->tax, g), sec = cas_taxonomy_segment_sector(plan->tax, g);
    for (int f = 0; f < 5; f++) {
      int own = f == 0 || f == 1 + r || f == 3 + sec;
      if (own)
        cr_expect_gt(a[f], 0.0, "segment %d factor %d", g, f);
      else
        cr_expect_eq(a[f], 0.0, "segment %d factor %d", g, f);
    }
    double v = cas_factor_model_systematic_variance(sc->factors, g);
    cr_expect_float_eq(plan->idio[g], sqrt(1.0 - v), 1e-14, "segment %d", g);
  }
  for (int f = 0; f < 5; f++) {
    double want = f == 3 ? -1.0 : 0.0;
    cr_expect_eq(plan->shift_given[f], want, "factor %d", f);
    cr_expect_eq(plan->shift[f], want, "factor %d", f);
  }
  /* Loan b (north/farming) gets the PD multiplier, a and c do not. */
  cr_expect_eq(plan->loans[plan_position(plan, 1)].threshold,
               cas_plan_threshold(&cas_copula_gaussian, cas_plan_stressed_pd(0.02, 2.0)));
  cr_expect_eq(plan->loans[plan_position(plan, 0)].threshold,
               cas_plan_threshold(&cas_copula_gaussian, cas_plan_stressed_pd(0.02, 1.0)));
  cas_plan_destroy(plan);
  cas_portfolio_destroy(pf);
  cas_scenario_destroy(sc);
}

Test(plan, build_reports_names_the_book_does_not_have) {
  /* A shock naming a delta region over a book with its own regions: the
   * error is where the name is in the scenario file, with the book's names. */
  static const struct {
    const char *shock;
    const char *want;   /* after "PATH:4:" */
  } cases[] = {
    {"  - {region: anhui, pd_multiplier: 2}\n", "14: shocks[0].region: unknown region 'anhui' (expected one of: south, north)"},
    {"  - {sector: green, pd_multiplier: 2}\n", "14: shocks[0].sector: unknown sector 'green' (expected one of: mining, farming)"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    scratch s;
    scratch_make(&s);
    write_file(s.csv, own_book);
    char text[512];
    snprintf(text, sizeof text, "paths: 100\nportfolio: {file: book.csv}\nshocks:\n%s", cases[k].shock);
    write_file(s.yaml, text);
    cas_error err = {0};
    cas_scenario *sc = NULL;
    cas_portfolio *pf = NULL;
    cas_plan *plan = (cas_plan *)1;
    cr_assert_eq(cas_scenario_load(s.yaml, &sc, &err), CAS_OK, "%s", err.msg);
    cr_assert_eq(cas_portfolio_load_csv_as(sc->portfolio.file, sc->declared, &pf, &err), CAS_OK, "%s", err.msg);
    cr_expect_eq(cas_plan_build(sc, pf, NULL, &plan, &err), CAS_ERR_INPUT, "case %zu", k);
    cr_expect_null(plan, "case %zu", k);
    char want[512];
    snprintf(want, sizeof want, "%s:4:%s", s.yaml, cases[k].want);
    cr_expect_str_eq(err.msg, want, "case %zu", k);
    cas_portfolio_destroy(pf);
    cas_scenario_destroy(sc);
    scratch_remove(&s);
  }
}

/* ---- shocks by city -------------------------------------------------------- */

/* A shock may name a city of the book: it then applies to that city's
 * loans only, composed with the shocks of their segment; loans of the
 * same segment in another city (or none) keep the segment's fold. */
Test(plan, shocks_by_city_apply_to_that_citys_loans_only) {
  static const char *const book = "id,region,sector,ead,pd,lgd,city\n"
                                  "a,south,mining,1000,0.02,0.5,port\n"
                                  "b,south,mining,1000,0.02,0.5,hill\n"
                                  "c,south,mining,1000,0.02,0.5,\n"
                                  "d,north,mining,1000,0.02,0.5,port\n";
  cas_plan *plan = plan_of_as(book,
                              "paths: 100\nportfolio: {file: book.csv}\n"
                              "shocks:\n"
                              "  - {sector: mining, pd_multiplier: 2}\n"
                              "  - {city: port, pd_multiplier: 3, ead_multiplier: 1.5, lgd_add: 0.1}\n"
                              "  - {region: north, city: port, pd_multiplier: 5}\n",
                              NULL);
  cr_assert_not_null(plan->loan_class, "city shocks fold by (segment, city)");
  const double pd_mult[4] = {6.0, 2.0, 2.0, 30.0};
  for (size_t i = 0; i < 4; i++) {
    double want = cas_plan_threshold(&cas_copula_gaussian, cas_plan_stressed_pd(0.02, pd_mult[i]));
    cr_expect_eq(plan->loans[plan_position(plan, i)].threshold, want, "loan %zu", i);
  }
  /* segment totals of the stressed EAD hold the city's multiplier */
  int south = segment(plan, "south", "mining"), north = segment(plan, "north", "mining");
  cr_expect_float_eq(plan->stressed.ead[south], 1500.0 + 1000.0 + 1000.0, 1e-9);
  cr_expect_float_eq(plan->stressed.ead[north], 1500.0, 1e-9);
  cr_expect_eq(plan->nclasses, (size_t)plan->nsegments + 2, "south/port and north/port");
  plan_free(plan);

  /* A factor shift on a city must name its factor; a city of another
   * region than the shock's is an error when the classification ties it. */
  scratch s;
  scratch_make(&s);
  write_file(s.csv, book);
  write_file(s.yaml, "paths: 100\nportfolio: {file: book.csv}\n"
                     "shocks:\n  - {city: port, factor_shift: -1}\n");
  cas_error err = {0};
  cas_scenario *sc = NULL;
  cas_portfolio *pf = NULL;
  cas_plan *p = (cas_plan *)1;
  cr_assert_eq(cas_scenario_load(s.yaml, &sc, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_portfolio_load_csv(sc->portfolio.file, &pf, &err), CAS_OK, "%s", err.msg);
  cr_expect_eq(cas_plan_build(sc, pf, NULL, &p, &err), CAS_ERR_INPUT);
  cr_expect_null(p);
  cr_expect(strstr(err.msg, ":4:18: shocks[0].factor_shift: a shock on a city cannot shift a factor") != NULL,
            "%s", err.msg);
  cas_portfolio_destroy(pf);
  cas_scenario_destroy(sc);
  scratch_remove(&s);
}

/* ---- analytic expected loss ------------------------------------------------ */

Test(plan, analytic_expected_loss_known_answers) {
  /* Shanghai -2 SD moves Jiangsu by -1 (rho 0.5); green loads 0.4 on its
   * region. Loan a: PD 2% x 2 on the odds = 0.04/1.02, systematic mean
   * 0.4 x -2 = -0.8, EL = 1000 x 0.6 x Phi(Phi^-1(0.04/1.02) + 0.8).
   * Loan b: PD 0.08/1.04, mean -0.4, EAD 2000 x 1.5, LGD 0.5. Loan c:
   * Anhui is uncorrelated with Shanghai, so no shift: 5/6 x 500 x 0.6. */
  cas_plan *plan = plan_of("id,region,sector,ead,pd,lgd\n"
                           "a,shanghai,green,1000,0.02,0.5\n"
                           "b,jiangsu,green,2000,0.04,0.4\n"
                           "c,anhui,household,500,0.5,0.6\n",
                           "paths: 100\n"
                           "model:\n"
                           "  loadings:\n"
                           "    green: {global: 0.3, region: 0.4, sector: 0.2}\n"
                           "  correlations:\n"
                           "    - {factors: [region.shanghai, region.jiangsu], value: 0.5}\n"
                           "shocks:\n"
                           "  - {region: shanghai, factor_shift: -2}\n"
                           "  - {sector: green, pd_multiplier: 2, lgd_add: 0.1}\n"
                           "  - {region: jiangsu, ead_multiplier: 1.5}\n"
                           "  - {sector: household, pd_multiplier: 5}\n");
  const double *el = plan->stressed.expected_loss;
  int a = cas_taxonomy_segment(plan->tax, CAS_REGION_SHANGHAI, CAS_SECTOR_GREEN);
  int b = cas_taxonomy_segment(plan->tax, CAS_REGION_JIANGSU, CAS_SECTOR_GREEN);
  int c = cas_taxonomy_segment(plan->tax, CAS_REGION_ANHUI, CAS_SECTOR_HOUSEHOLD);
  cr_assert_eq(plan->nsegments, CAS_YRD_NSEGMENTS);
  cr_expect_leq(rel_err(el[a], 101.1375488002547117524), 1e-13, "%.17g", el[a]);
  cr_expect_leq(rel_err(el[b], 228.6415131319368272521), 1e-13, "%.17g", el[b]);
  cr_expect_leq(rel_err(el[c], 250.0), 1e-13, "%.17g", el[c]);
  for (int s = 0; s < plan->nsegments; s++)
    if (s != a && s != b && s != c) cr_expect_eq(el[s], 0.0, "segment %d", s);
  plan_free(plan);
}

enum { MC_LOANS = 4000, MC_PATHS = 4000 };

/* Baseline-like correlations (scenarios/baseline.yaml), a real-estate and
 * a Zhejiang shift that propagate, and a PD multiplier elsewhere. */
static const char *const mc_scenario =
    "name: mc\n"
    "seed: 7\n"
    "paths: 4000\n"
    "portfolio: {builtin: yrd, loans: 4000, seed: 5}\n"
    "model:\n"
    "  region_correlation: 0.5\n"
    "  sector_correlation: 0.2\n"
    "  correlations:\n"
    "    - {factors: [sector.real_estate, sector.construction], value: 0.6}\n"
    "shocks:\n"
    "  - {sector: real_estate, factor_shift: -1.5}\n"
    "  - {region: zhejiang, factor_shift: -1.0}\n"
    "  - {sector: household, pd_multiplier: 1.5}\n";

/* mc_scenario's plan over the built-in book of `loans` loans, with the
 * lines of `model` (NULL: none) added to its model block. */
static void mc_plan_with(size_t loans, const char *model, cas_scenario **sc, cas_portfolio **pf,
                         cas_plan **plan) {
  char dir[] = "/tmp/cascade-plan-mc-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof path, "%s/mc.yaml", dir);
  const char *at = strstr(mc_scenario, "model:\n") + strlen("model:\n");
  char text[2048];
  snprintf(text, sizeof text, "%.*s%s%s", (int)(at - mc_scenario), mc_scenario, model ? model : "", at);
  write_file(path, text);
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load(path, sc, &err), CAS_OK, "%s", err.msg);
  unlink(path);
  rmdir(dir);
  cr_assert_eq(cas_portfolio_generate(loans, (*sc)->portfolio.seed, pf, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_plan_build(*sc, *pf, NULL, plan, &err), CAS_OK, "%s", err.msg);
}

static void mc_plan(size_t loans, cas_scenario **sc, cas_portfolio **pf, cas_plan **plan) {
  mc_plan_with(loans, NULL, sc, pf, plan);
}

Test(plan, analytic_expected_loss_matches_both_kernels) {
  cas_error err = {0};
  cas_scenario *sc = NULL;
  cas_portfolio *pf = NULL;
  cas_plan *plan = NULL;
  mc_plan(MC_LOANS, &sc, &pf, &plan);
  cr_assert_eq(sc->paths, MC_PATHS);
  double analytic = 0.0, unshifted = 0.0;
  for (int s = 0; s < plan->nsegments; s++) analytic += plan->stressed.expected_loss[s];
  for (size_t k = 0; k < plan->n; k++)
    unshifted += cas_copula_gaussian.shifted_pd(&cas_copula_gaussian, plan->loans[k].threshold, 0.0) * plan->loans[k].loss;
  cr_assert_gt(analytic, 1.2 * unshifted, "the shifts should raise EL markedly");

  const cas_kernel *kernels[] = {&cas_kernel_dense, &cas_kernel_sparse};
  for (size_t j = 0; j < 2; j++) {
    cas_results *res = NULL;
    cr_assert_eq(cas_results_create(sc->paths, 0, 0, &res, &err), CAS_OK, "%s", err.msg);
    cas_kernel_options opt = {.threads = 2};
    cr_assert_eq(cas_kernel_run(kernels[j], plan, NULL, res, &opt, &err), CAS_OK, "%s", err.msg);
    cr_assert_eq(res->nsegments, plan->nsegments);
    cas_summary sum;
    cas_summary_options sopt = {.loss_by_segment = res->loss_by_segment, .nsegments = res->nsegments};
    cr_assert_eq(cas_summary_compute(sc->paths, res->loss, &sopt, res->defaults, &sum, &err), CAS_OK, "%s",
                 err.msg);
    const char *name = kernels[j]->info.name;
    cr_log_info("%s: EL %.6g (se %.3g), analytic %.6g, without shifts %.6g", name, sum.el,
                sum.el_se, analytic, unshifted);
    cr_expect_leq(fabs(sum.el - analytic), 3 * sum.el_se, "%s: EL %.6g vs analytic %.6g (se %.3g)",
                  name, sum.el, analytic, sum.el_se);
    cr_expect_gt(fabs(sum.el - unshifted), 3 * sum.el_se,
                 "%s: the EL without shifts (%.6g) is as close: the test has no power", name,
                 unshifted);
    cas_summary_free(&sum);
    cas_results_destroy(res);
  }
  cas_plan_destroy(plan);
  cas_portfolio_destroy(pf);
  cas_scenario_destroy(sc);
}

/* The analytic cross-checks (analytic.h) are computed a chunk of 32,768
 * positions at a time, in parallel, and added up in position order. On a
 * book of 150,000 loans (five chunks, the last one short) with shifted
 * factors and a PD multiplier, they must equal, bit for bit, at 1 and 2
 * threads, the one loop they replace: for every bucket and loan in plan
 * order, the shifted PD, the Vasicek fraction at each level, the IRB
 * capital (cas_irb_capital, which computes its own quantiles) and
 * correlation, added up as they come. */
/* The analytic cross-checks (computed in parallel chunks, and with a
 * costly copula from the plan's kept shifted PDs) against one loop over
 * the loans calling the copula itself: the same bits, for 1 and 2 threads. */
static void cross_checks_equal_one_loop(size_t loans, const char *model) {
  cas_error err = {0};
  cas_scenario *sc = NULL;
  cas_portfolio *pf = NULL;
  cas_plan *plan = NULL;
  mc_plan_with(loans, model, &sc, &pf, &plan);
  cr_assert_eq(!!plan->shifted_pd, plan->copula->costly_pd);
  int nseg = plan->nsegments, nl = sc->nlevels;
  cr_assert(nl >= 1 && nl <= CAS_MAX_LEVELS);
  double *vas = calloc((size_t)nl * nseg, sizeof *vas), *irb = calloc(nseg, sizeof *irb);
  double *cor = calloc(nseg, sizeof *cor), *wt = calloc(nseg, sizeof *wt);
  cr_assert(vas && irb && cor && wt);
  for (size_t b = 0; b < plan->nbuckets; b++) {
    const cas_bucket *bk = &plan->buckets[b];
    int s = bk->segment;
    double m = 0.0;
    for (uint32_t k = plan->nz_start[s]; k < plan->nz_start[s + 1]; k++)
      m += plan->nz_loading[k] * plan->shift[plan->nz_factor[k]];
    double r = 1.0 - plan->idio[s] * plan->idio[s];
    int sector = cas_taxonomy_segment_sector(plan->tax, s);
    cas_irb_class cls = sc->irb_class ? (cas_irb_class)sc->irb_class[sector] : CAS_IRB_CORPORATE;
    for (uint32_t k = bk->first; k < bk->first + bk->count; k++) {
      double loss = plan->loans[k].loss;
      if (!(loss > 0.0)) continue;
      double pd = plan->copula->shifted_pd(plan->copula, plan->loans[k].threshold, m);
      if (plan->shifted_pd) {   /* kept, with the same mean: the figures take it */
        cr_assert_eq(memcmp(&plan->shifted_pd_mean[s], &m, sizeof m), 0, "segment %d's mean", s);
        cr_assert_eq(memcmp(&plan->shifted_pd[k], &pd, sizeof pd), 0, "position %u", k);
      }
      if (!(pd > 0.0)) continue;
      if (pd >= 1.0) {
        for (int l = 0; l < nl; l++) vas[(size_t)l * nseg + s] += loss;
        continue;
      }
      for (int l = 0; l < nl; l++)
        vas[(size_t)l * nseg + s] +=
            loss * cas_norm_cdf((cas_norm_quantile(pd) + sqrt(r) * cas_norm_quantile(sc->levels[l])) /
                                plan->idio[s]);
      irb[s] += loss * cas_irb_capital(cls, pd, 1.0, sc->irb_maturity, 50.0);
      cor[s] += loss * cas_irb_correlation(cls, pd, 50.0);
      wt[s] += loss;
    }
  }
  for (int threads = 1; threads <= 2; threads++) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    cas_analytic an;
    cr_assert_eq(cas_analytic_compute(plan, sc, sc->levels, nl, &an, &err), CAS_OK, "%s", err.msg);
    double total = 0.0;
    for (int s = 0; s < nseg; s++) {
      for (int l = 0; l < nl; l++)
        cr_assert_eq(an.vasicek[(size_t)l * nseg + s], vas[(size_t)l * nseg + s],
                     "%d threads, segment %d, level %d", threads, s, l);
      cr_assert_eq(an.irb_capital[s], irb[s], "%d threads, segment %d", threads, s);
      if (wt[s] > 0.0)
        cr_assert_eq(an.irb_correlation[s], cor[s] / wt[s], "%d threads, segment %d", threads, s);
      total += irb[s];
    }
    cr_assert_eq(an.irb_capital_total, total);
    cr_assert_gt(total, 0.0);
    cas_analytic_free(&an);
  }
  free(vas);
  free(irb);
  free(cor);
  free(wt);
  cas_plan_destroy(plan);
  cas_portfolio_destroy(pf);
  cas_scenario_destroy(sc);
}

Test(plan, analytic_cross_checks_equal_one_loop) { cross_checks_equal_one_loop(150000, NULL); }

/* The t copula's shifted PD (a mixture integral) is kept by the plan: the
 * figures from the kept values are those of the copula itself. */
Test(plan, analytic_cross_checks_equal_one_loop_t_copula) {
  cross_checks_equal_one_loop(40000, "  copula: t\n  degrees_of_freedom: 5\n");
}

/* A scenario's ccf_add raises the conversion factor of the credit lines it
 * applies to (clamped to [0, 1]) and so their stressed EAD; term loans do
 * not move. */
Test(plan, ccf_shocks_draw_down_credit_lines) {
  static const char *const book = "id,region,sector,ead,pd,lgd,limit,ccf\n"
                                  "term,a,x,100,0.01,0.4,,\n"
                                  "line,a,x,100,0.01,0.4,300,0.5\n"
                                  "other,b,x,100,0.01,0.4,300,0.5\n";
  cas_plan *plan = plan_of_as(book,
                              "paths: 100\nportfolio: {file: book.csv}\n"
                              "shocks: [{region: a, ccf_add: 0.3}, {region: b, ccf_add: 0.8}]\n",
                              NULL);
  int a = segment(plan, "a", "x"), b = segment(plan, "b", "x");
  cr_expect_float_eq(plan->unstressed.ead[a], 100.0 + 200.0, 1e-12);
  cr_expect_float_eq(plan->stressed.ead[a], 100.0 + 100.0 + 0.8 * 200.0, 1e-12);
  cr_expect_float_eq(plan->stressed.ead[b], 100.0 + 1.0 * 200.0, 1e-12, "ccf clamped at 1");
  plan_free(plan);
}

/* ---- Collateral haircuts ----------------------------------------------- */

/* A book of one loan per segment (or per city), secured in various ways,
 * for the haircut tests. */
static const char *const SECURED_BOOK =
    "id,region,sector,ead,pd,lgd,city,collateral,maturity,amortisation,limit,ccf\n"
    "half,a,x,100,0.02,0.4,,50,,,,\n"          /* covers half its EAD */
    "over,a,y,100,0.02,0.2,,300,,,,\n"         /* covers all of it */
    "none,a,z,100,0.02,0.4,,,,,,\n"            /* unsecured */
    "other,b,x,100,0.02,0.4,,50,,,,\n"         /* a region without haircut */
    "added,c,x,100,0.02,0.4,,50,,,,\n"         /* lgd_add first, then the haircut */
    "twice,d,x,100,0.02,0.4,,100,,,,\n"        /* two haircuts compound */
    "town,e,x,100,0.02,0.4,port,100,,,,\n"     /* a haircut on its city */
    "rural,e,x,100,0.02,0.4,,100,,,,\n"        /* same segment, no city */
    "line,f,x,100,0.02,0.4,,150,,,300,0.5\n"   /* a credit line: EAD 200 */
    "amort,g,x,100,0.02,0.4,,50,2,linear,,\n"; /* EAD 100, then 50 */

static const char *const HAIRCUTS =
    "paths: 100\nportfolio: {file: book.csv}\nmodel: {horizon_years: 2}\n"
    "shocks:\n"
    "  - {region: a, collateral_haircut: 0.3}\n"
    "  - {region: c, lgd_add: 0.1, collateral_haircut: 0.3}\n"
    "  - {region: d, collateral_haircut: 0.5}\n"
    "  - {region: d, collateral_haircut: 0.5}\n"
    "  - {city: port, collateral_haircut: 0.5}\n"
    "  - {region: f, collateral_haircut: 0.4}\n"
    "  - {region: g, collateral_haircut: [0.2, 0.2]}\n";

/* LGD' = LGD + (1 - LGD) x h x min(1, collateral / EAD) by hand, for each
 * loan of SECURED_BOOK: the loss record is EAD x LGD'. */
Test(plan, collateral_haircut_raises_lgd_of_secured_loans) {
  cas_plan *plan = plan_of_as(SECURED_BOOK, HAIRCUTS, NULL);
  static const struct {
    double ead, lgd;
  } want[] = {
    {100, 0.4 + 0.6 * 0.3 * 0.5},   /* half: 0.49 */
    {100, 0.2 + 0.8 * 0.3 * 1.0},   /* over: cover capped at 1, 0.44 */
    {100, 0.4},                     /* none: unsecured */
    {100, 0.4},                     /* other: no haircut */
    {100, 0.5 + 0.5 * 0.3 * 0.5},   /* added: 0.575 */
    {100, 0.4 + 0.6 * 0.75},        /* twice: 1 - (1 - 0.5)^2 = 0.75 */
    {100, 0.4 + 0.6 * 0.5},         /* town */
    {100, 0.4},                     /* rural */
    {200, 0.4 + 0.6 * 0.4 * 0.75},  /* line: cover 150 / 200 */
    {100, 0.4 + 0.6 * 0.2 * 0.5},   /* amort, year 1 */
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    double loss = plan->loans[plan_position(plan, i)].loss, w = want[i].ead * want[i].lgd;
    cr_expect(fabs(loss - w) <= 1e-13 * w, "loan %zu: loss %.17g, want %.17g", i, loss, w);
  }
  cr_expect_eq(plan->loans[plan_position(plan, 2)].loss, 40.0, "unsecured: bit for bit");
  cr_expect_eq(plan->loans[plan_position(plan, 3)].loss, 40.0, "no haircut: bit for bit");
  cr_expect_eq(plan->loans[plan_position(plan, 7)].loss, 40.0, "not the city: bit for bit");
  /* year 2: the linear loan's EAD is 50, which its collateral covers */
  const cas_plan *y2 = plan->year_plan[1];
  double w = 50.0 * (0.4 + 0.6 * 0.2);
  cr_expect(fabs(y2->loans[plan_position(y2, 9)].loss - w) <= 1e-13 * w, "year 2: %.17g",
            y2->loans[plan_position(y2, 9)].loss);
  /* the haircut moves the LGD, not the EAD */
  cr_expect_eq(plan->stressed.ead[segment(plan, "a", "x")], 100.0);
  cr_expect_eq(plan->stressed.ead[segment(plan, "f", "x")], 200.0);
  plan_free(plan);
}

/* A haircut of 0 (given, per year or not) builds the plan of no haircut
 * bit for bit, and so does the collateral column without a haircut. */
Test(plan, zero_haircut_changes_nothing) {
  static const char *const zero =
      "paths: 100\nportfolio: {file: book.csv}\nmodel: {horizon_years: 2}\n"
      "shocks:\n"
      "  - {region: a, collateral_haircut: 0, lgd_add: 0.05}\n"
      "  - {city: port, collateral_haircut: [0, 0]}\n"
      "  - {collateral_haircut: 0}\n";
  static const char *const none =
      "paths: 100\nportfolio: {file: book.csv}\nmodel: {horizon_years: 2}\n"
      "shocks:\n"
      "  - {region: a, lgd_add: 0.05}\n"
      "  - {city: port, pd_multiplier: 1}\n";
  cas_plan *plan = plan_of_as(SECURED_BOOK, zero, NULL);
  size_t n = plan->n, nseg = (size_t)plan->nsegments;
  cas_plan_loan *rec[2];
  double *el = malloc(2 * nseg * sizeof *el);
  cr_assert_not_null(el);
  for (int t = 0; t < 2; t++) {
    rec[t] = malloc(n * sizeof *rec[t]);
    cr_assert_not_null(rec[t]);
    memcpy(rec[t], cas_plan_year(plan, t)->loans, n * sizeof *rec[t]);
    memcpy(el + t * nseg, cas_plan_year(plan, t)->stressed.expected_loss, nseg * sizeof *el);
  }
  plan_free(plan);
  plan = plan_of_as(SECURED_BOOK, none, NULL);
  for (int t = 0; t < 2; t++) {
    cr_expect(memcmp(rec[t], cas_plan_year(plan, t)->loans, n * sizeof *rec[t]) == 0, "year %d", t + 1);
    cr_expect(memcmp(el + t * nseg, cas_plan_year(plan, t)->stressed.expected_loss, nseg * sizeof *el) == 0,
              "year %d", t + 1);
    free(rec[t]);
  }
  plan_free(plan);
  free(el);
}

/* The analytic EL rises by PD x EAD x (LGD' - LGD) for each secured loan
 * under a haircut (no factor shift: the shifted PD is the PD), and not at
 * all for the others. */
Test(plan, collateral_haircut_raises_the_analytic_el) {
  static const char *const base = "paths: 100\nportfolio: {file: book.csv}\nmodel: {horizon_years: 2}\n";
  cas_plan *plan = plan_of_as(SECURED_BOOK, base, NULL);
  size_t nseg = (size_t)plan->nsegments;
  double *el0 = malloc(nseg * sizeof *el0);
  cr_assert_not_null(el0);
  memcpy(el0, plan->stressed.expected_loss, nseg * sizeof *el0);
  plan_free(plan);
  plan = plan_of_as(SECURED_BOOK, HAIRCUTS, NULL);
  /* the rise of each loan's LGD times its EAD (the loss record's rise) */
  static const double rise[] = {
    100 * 0.6 * 0.3 * 0.5, 100 * 0.8 * 0.3, 0, 0, 100 * 0.5 * 0.3 * 0.5, 100 * 0.6 * 0.75,
    100 * 0.6 * 0.5, 0, 200 * 0.6 * 0.4 * 0.75, 100 * 0.6 * 0.2 * 0.5};
  const char *seg_of[][2] = {{"a", "x"}, {"a", "y"}, {"a", "z"}, {"b", "x"}, {"c", "x"},
                             {"d", "x"}, {"e", "x"}, {"e", "x"}, {"f", "x"}, {"g", "x"}};
  double total0 = 0.0, total = 0.0, want = 0.0;
  for (size_t s = 0; s < nseg; s++) {
    total0 += el0[s];
    total += plan->stressed.expected_loss[s];
  }
  for (size_t i = 0; i < 10; i++) {
    double d = 0.02 * rise[i];
    want += d;
    if (i == 6 || i == 7) continue;   /* e/x holds both */
    int s = segment(plan, seg_of[i][0], seg_of[i][1]);
    double lgd_add = i == 4 ? 0.02 * 100 * 0.1 : 0.0;   /* added: its lgd_add too */
    double got = plan->stressed.expected_loss[s] - el0[s];
    cr_expect(fabs(got - d - lgd_add) <= 1e-12, "loan %zu: EL rises by %.17g, want %.17g", i, got,
              d + lgd_add);
  }
  int e = segment(plan, "e", "x");
  cr_expect(fabs(plan->stressed.expected_loss[e] - el0[e] - 0.02 * rise[6]) <= 1e-12);
  cr_expect(fabs(total - total0 - want - 0.02 * 100 * 0.1) <= 1e-11, "EL %.17g -> %.17g, rise %.17g",
            total0, total, want);
  plan_free(plan);
  free(el0);
}
