/*
 * test_sparse.c: the sparse kernel against the dense reference.
 *
 * Two portfolios: the built-in default book, and an adversarial one made to
 * break thinning: one segment, one bucket (grades_per_decade = 0), PDs
 * log-uniform over four orders of magnitude plus loans at PD 1e-9 and 0.5,
 * and exposures that differ by loan.
 *
 * Distribution tests (independent seeds, so the two samples are
 * independent; fixed seeds, never flaky): mean, standard deviation and the
 * 99% and 99.9% quantiles agree within 4 combined Monte Carlo standard
 * errors, sqrt(se_dense^2 + se_sparse^2), each run's standard errors as
 * computed by stats.c (checked in test_stats.c); and the two-sample
 * Kolmogorov-Smirnov statistic stays below its critical value at level 1e-4,
 * c sqrt((n + m) / (n m)) with c = sqrt(-ln(0.5e-4) / 2) = 2.225.
 *
 * Exactness test: given a path's factors z (stored with the results), loan k
 * defaults with probability p_k(z) = Phi((c_k - a.z) / b), independently.
 * So the number of defaults D_p has mean sum_k p_k and variance
 * sum_k p_k (1 - p_k), and the same for the loss with weights loss_k. Over
 * all paths Z = sum (D_p - mean_p) / sqrt(sum var_p) is standard normal;
 * |Z| < 4 is required. This checks the geometric gaps and the thinning
 * exactly, path by path, without the dense kernel.
 */
#include <criterion/criterion.h>

#include "timeout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gaps.h"
#include "kernel.h"
#include "normal.h"
#include "plan.h"
#include "portfolio.h"
#include "scenario.h"
#include "stats.h"
#include "support.h"

typedef struct run {
  cas_plan *plan;
  cas_results *res;
  cas_summary sum;
} run;

static char tmpdir[64];

static void make_dir(void) {
  if (tmpdir[0]) return;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/cascade-sparse-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

static void cleanup(void) {
  if (!tmpdir[0]) return;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  cr_expect_eq(system(cmd), 0);
  tmpdir[0] = '\0';
}

/* The adversarial book: n loans in jiangsu/manufacturing. */
static void write_adversarial_csv(const char *path, int n) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "id,region,sector,ead,pd,lgd\n");
  for (int i = 0; i < n; i++) {
    double pd;
    if (i % 50 == 0) pd = 1e-9;
    else if (i % 50 == 1) pd = 0.5;
    else pd = pow(10.0, -4.0 + 3.7 * (double)((i * 7919) % n) / n); /* 1e-4 .. 0.5 */
    double ead = 1e5 * (1 + i % 17);
    fprintf(f, "A%06d,jiangsu,manufacturing,%.17g,%.17g,0.45\n", i, ead, pd);
  }
  fclose(f);
}

static cas_scenario *load_scenario(const char *body) {
  make_dir();
  char path[128];
  snprintf(path, sizeof path, "%s/s.yaml", tmpdir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(body, f);
  fclose(f);
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load(path, &sc, &err), CAS_OK, "%s", err.msg);
  return sc;
}

static run simulate(cas_scenario *sc, const cas_portfolio *pf, int grades, const cas_kernel *k,
                    uint64_t seed, int threads) {
  run r = {0};
  cas_error err = {0};
  sc->seed = seed;
  cas_plan_options opt = {.grades_per_decade = grades};
  cr_assert_eq(cas_plan_build(sc, pf, &opt, &r.plan, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_results_create(sc->paths, 0, 0, &r.res, &err), CAS_OK, "%s", err.msg);
  cas_kernel_options kopt = {.threads = threads};
  cr_assert_eq(cas_kernel_run(k, r.plan, NULL, r.res, &kopt, &err), CAS_OK);
  cas_summary_options sopt = {.loss_by_segment = r.res->loss_by_segment,
                              .nsegments = r.plan->nsegments};
  cr_assert_eq(cas_summary_compute(r.res->paths, r.res->loss, &sopt, r.res->defaults, &r.sum, &err),
               CAS_OK);
  return r;
}

static void release(run *r) {
  cas_summary_free(&r->sum);
  cas_results_destroy(r->res);
  cas_plan_destroy(r->plan);
}

static void expect_same_distribution(const run *d, const run *s, const char *what) {
  const cas_summary *a = &d->sum, *b = &s->sum;
  double tol = 4 * hypot(a->el_se, b->el_se);
  cr_log_info("%s: EL dense %.6g sparse %.6g (4 SE %.3g)", what, a->el, b->el, tol);
  cr_expect_leq(fabs(a->el - b->el), tol, "%s EL: dense %g sparse %g", what, a->el, b->el);
  tol = 4 * hypot(a->sd_se, b->sd_se);
  cr_expect_leq(fabs(a->sd - b->sd), tol, "%s SD: dense %g sparse %g", what, a->sd, b->sd);
  for (int l = 1; l < CAS_NLEVELS; l++) {
    tol = 4 * hypot(a->var_se[l], b->var_se[l]);
    cr_log_info("%s: VaR %g dense %.6g sparse %.6g (4 SE %.3g)", what, cas_levels[l], a->var[l],
                b->var[l], tol);
    cr_expect_leq(fabs(a->var[l] - b->var[l]), tol, "%s VaR %g: dense %g sparse %g (4 SE %g)",
                  what, cas_levels[l], a->var[l], b->var[l], tol);
  }
  size_t n = d->res->paths, m = s->res->paths;
  double ks = ks_statistic(d->res->loss, n, s->res->loss, m);
  double crit = 2.225 * sqrt((double)(n + m) / ((double)n * (double)m));
  cr_log_info("%s: KS %.4f, critical value %.4f", what, ks, crit);
  cr_expect_lt(ks, crit, "%s: KS statistic %g >= %g", what, ks, crit);
}

Test(sparse, agrees_with_dense_on_default_portfolio, .timeout = CAS_TEST_TIMEOUT(300), .fini = cleanup) {
  cas_scenario *sc = load_scenario(
      "name: t\npaths: 6000\nportfolio: {builtin: yrd, loans: 20000, seed: 5}\n"
      "model: {region_correlation: 0.5, sector_correlation: 0.2}\n");
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(20000, 5, &pf, &err), CAS_OK, "%s", err.msg);
  run d = simulate(sc, pf, CAS_PLAN_DEFAULT_GRADES, &cas_kernel_dense, 101, 2);
  run s = simulate(sc, pf, CAS_PLAN_DEFAULT_GRADES, &cas_kernel_sparse, 202, 2);
  expect_same_distribution(&d, &s, "default book");
  release(&d);
  release(&s);
  cas_portfolio_destroy(pf);
  cas_scenario_destroy(sc);
}

static const char *const adversarial_yaml =
    "name: adversarial\npaths: 6000\nportfolio: {file: book.csv}\n"
    "model:\n  loadings:\n    manufacturing: {global: 0.45, region: 0.2, sector: 0.3}\n";

static cas_portfolio *adversarial_book(int n) {
  make_dir();
  char csv[128];
  snprintf(csv, sizeof csv, "%s/book.csv", tmpdir);
  write_adversarial_csv(csv, n);
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(load_csv_yrd(csv, &pf, &err), CAS_OK, "%s", err.msg);
  return pf;
}

Test(sparse, agrees_with_dense_on_adversarial_bucket, .timeout = CAS_TEST_TIMEOUT(300), .fini = cleanup) {
  cas_portfolio *pf = adversarial_book(20000);
  cas_scenario *sc = load_scenario(adversarial_yaml);
  run d = simulate(sc, pf, 0, &cas_kernel_dense, 303, 2);
  run s = simulate(sc, pf, 0, &cas_kernel_sparse, 404, 2);
  cr_assert_eq(s.plan->nbuckets, 1, "the adversarial book must be one bucket, got %zu",
               s.plan->nbuckets);
  double lo = s.plan->buckets[0].threshold_min, hi = s.plan->buckets[0].threshold_max;
  cr_assert_lt(cas_norm_cdf(lo), 2e-9);
  cr_assert_gt(cas_norm_cdf(hi), 0.49);
  expect_same_distribution(&d, &s, "adversarial bucket");
  release(&d);
  release(&s);
  cas_portfolio_destroy(pf);
  cas_scenario_destroy(sc);
}

/* Z-scores of defaults and loss against their conditional means given each
 * path's factors, accumulated over paths. */
static void conditional_z(const run *r, double *z_defaults, double *z_loss) {
  const cas_plan *plan = r->plan;
  double dev_d = 0, var_d = 0, dev_l = 0, var_l = 0;
  for (uint64_t p = 0; p < r->res->paths; p++) {
    const double *z = &r->res->factors[p * YRD_NFACTORS];
    double mean_d = 0, mean_l = 0;
    for (size_t b = 0; b < plan->nbuckets; b++) {
      const cas_bucket *bk = &plan->buckets[b];
      double a = 0;
      for (int f = 0; f < YRD_NFACTORS; f++) a += cas_plan_loading(plan, bk->segment)[f] * z[f];
      for (uint32_t k = bk->first; k < bk->first + bk->count; k++) {
        double q = cas_norm_cdf((plan->loans[k].threshold - a) / plan->idio[bk->segment]);
        double loss = plan->loans[k].loss;
        mean_d += q;
        var_d += q * (1 - q);
        mean_l += q * loss;
        var_l += q * (1 - q) * loss * loss;
      }
    }
    dev_d += (double)r->res->defaults[p] - mean_d;
    dev_l += r->res->loss[p] - mean_l;
  }
  *z_defaults = dev_d / sqrt(var_d);
  *z_loss = dev_l / sqrt(var_l);
}

Test(sparse, defaults_match_their_conditional_law_path_by_path, .timeout = CAS_TEST_TIMEOUT(300), .fini = cleanup) {
  cas_portfolio *pf = adversarial_book(20000);
  cas_scenario *sc = load_scenario(adversarial_yaml);
  sc->paths = 2000;
  for (int grades = 0; grades <= 8; grades += 8) {
    run s = simulate(sc, pf, grades, &cas_kernel_sparse, 505 + (uint64_t)grades, 2);
    double zd, zl;
    conditional_z(&s, &zd, &zl);
    cr_log_info("grades %d: Z defaults %.3f, Z loss %.3f", grades, zd, zl);
    cr_expect_lt(fabs(zd), 4.0, "grades %d: defaults Z = %g", grades, zd);
    cr_expect_lt(fabs(zl), 4.0, "grades %d: loss Z = %g", grades, zl);
    release(&s);
  }
  cas_portfolio_destroy(pf);
  cas_scenario_destroy(sc);
}

Test(sparse, results_do_not_depend_on_thread_count, .fini = cleanup) {
  cas_scenario *sc = load_scenario("name: t\npaths: 1000\nportfolio: {builtin: yrd, loans: 20000}\n");
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(20000, 1, &pf, &err), CAS_OK, "%s", err.msg);
  run a = simulate(sc, pf, CAS_PLAN_DEFAULT_GRADES, &cas_kernel_sparse, 9, 1);
  run b = simulate(sc, pf, CAS_PLAN_DEFAULT_GRADES, &cas_kernel_sparse, 9, 2);
  uint64_t m = sc->paths;
  cr_assert_eq(memcmp(a.res->loss, b.res->loss, m * sizeof(double)), 0);
  cr_assert_eq(memcmp(a.res->defaults, b.res->defaults, m * sizeof(int64_t)), 0);
  cr_assert_eq(memcmp(a.res->loss_by_segment, b.res->loss_by_segment, m * CAS_YRD_NSEGMENTS * sizeof(double)), 0);
  cr_assert_gt(a.sum.el, 0.0);
  release(&a);
  release(&b);
  cas_portfolio_destroy(pf);
  cas_scenario_destroy(sc);
}

Test(sparse, same_factors_as_dense_on_every_path, .fini = cleanup) {
  cas_scenario *sc = load_scenario("name: t\npaths: 500\nportfolio: {builtin: yrd, loans: 5000}\n");
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(5000, 1, &pf, &err), CAS_OK, "%s", err.msg);
  run a = simulate(sc, pf, CAS_PLAN_DEFAULT_GRADES, &cas_kernel_sparse, 77, 2);
  run b = simulate(sc, pf, CAS_PLAN_DEFAULT_GRADES, &cas_kernel_dense, 77, 2);
  cr_assert_eq(memcmp(a.res->factors, b.res->factors, sc->paths * YRD_NFACTORS * sizeof(double)), 0);
  release(&a);
  release(&b);
  cas_portfolio_destroy(pf);
  cas_scenario_destroy(sc);
}

/* Loans alike (one PD, one EAD, one LGD: one bucket whose every candidate
 * defaults): with nothing asking which loans default, the kernel draws the
 * bucket's count alone. The counts follow their conditional law path by
 * path (Z as above: given z the count is Binomial(n, p(z)), |Z| < 4 over
 * 4,000 paths), and a run that asks for every loan's loss (a loan sink, as
 * the ES contributions do) draws the same count on every path and books
 * the same loss, bit for bit. */
typedef struct sink_sum {
  double loss[4000];
  int64_t n[4000];
} sink_sum;

static void add_loan_loss(void *ctx, int thread, uint64_t row, uint32_t pos, double loss) {
  (void)thread, (void)pos;
  sink_sum *s = ctx;
  #pragma omp atomic
  s->n[row]++;
  #pragma omp atomic
  s->loss[row] += loss;
}

Test(sparse, loans_alike_are_drawn_as_a_count, .timeout = CAS_TEST_TIMEOUT(300), .fini = cleanup) {
  make_dir();
  char csv[128];
  snprintf(csv, sizeof csv, "%s/book.csv", tmpdir);
  FILE *f = fopen(csv, "w");
  cr_assert_not_null(f);
  fprintf(f, "id,region,sector,ead,pd,lgd\n");
  for (int i = 0; i < 20000; i++) fprintf(f, "H%d,anhui,green,2.5,0.02,0.4\n", i);
  fclose(f);
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(load_csv_yrd(csv, &pf, &err), CAS_OK, "%s", err.msg);
  cas_scenario *sc = load_scenario("name: alike\npaths: 4000\nportfolio: {file: book.csv}\n");
  run a = simulate(sc, pf, CAS_PLAN_DEFAULT_GRADES, &cas_kernel_sparse, 31, 2);
  cr_assert_eq(a.plan->nbuckets, 1);
  cr_assert_eq(a.plan->buckets[0].same_loss, 2.5 * 0.4);
  double zd, zl;
  conditional_z(&a, &zd, &zl);
  cr_log_info("loans alike: Z defaults %.3f, Z loss %.3f", zd, zl);
  cr_expect_lt(fabs(zd), 4.0, "loans alike: defaults Z = %g", zd);
  cr_expect_lt(fabs(zl), 4.0, "loans alike: loss Z = %g", zl);

  static sink_sum by_loan;
  memset(&by_loan, 0, sizeof by_loan);
  cas_results *b = NULL;
  cr_assert_eq(cas_results_create(sc->paths, 0, 0, &b, &err), CAS_OK);
  cas_kernel_options kopt = {.threads = 2, .loan_loss = add_loan_loss, .loan_loss_ctx = &by_loan};
  cr_assert_eq(cas_kernel_run(&cas_kernel_sparse, a.plan, NULL, b, &kopt, &err), CAS_OK);
  /* one assertion for all paths (criterion reports every assertion to its
   * runner; 12,000 of them made its runner leak under ASan) */
  int64_t total = 0;
  uint64_t bad = sc->paths;
  for (uint64_t p = 0; p < sc->paths && bad == sc->paths; p++) {
    if (b->defaults[p] != a.res->defaults[p] || by_loan.n[p] != b->defaults[p] ||
        memcmp(&b->loss[p], &a.res->loss[p], sizeof(double)) != 0)
      bad = p;
    total += b->defaults[p];
  }
  cr_assert_eq(bad, sc->paths, "path %llu: %lld defaults and loss %.17g asking which loans, %lld "
               "and %.17g counted, %lld booked loan by loan", (unsigned long long)bad,
               bad < sc->paths ? (long long)b->defaults[bad] : 0LL, bad < sc->paths ? b->loss[bad] : 0.0,
               bad < sc->paths ? (long long)a.res->defaults[bad] : 0LL,
               bad < sc->paths ? a.res->loss[bad] : 0.0, bad < sc->paths ? (long long)by_loan.n[bad] : 0LL);
  cr_assert_gt(total, 0);
  cas_results_destroy(b);
  release(&a);
  cas_portfolio_destroy(pf);
  cas_scenario_destroy(sc);
}

/* The thinning's bracket (gaps.h) with the slopes the kernel computes
 * (cas_thin_slopes, vector exp): every decision is v < Phi(x), also for v
 * on and next to Phi(x) and for x at the bucket's ends, for buckets in both
 * tails, near 0 and wide or narrow. With the tangent 1% too flat the
 * bracket is wrong somewhere, and this test sees it (so it looks where the
 * lines decide). */
static long thinning_mismatches(double slope_error) {
  static const double lows[] = {-12.0, -8.5, -5.0, -3.2, -2.0, -1.0, -0.45, 0.0, 0.3, 1.5, 4.0};
  static const double widths[] = {1e-7, 1e-3, 0.05, 0.3, 1.0};
  long bad = 0;
  for (size_t a = 0; a < sizeof lows / sizeof *lows; a++)
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
      double x_min = lows[a], x_max = lows[a] + widths[w];
      if (x_min < 0.0 && x_max > 0.0) continue;   /* no bracket across 0 */
      double xb[2] = {x_max, x_min}, phi;
      cas_thin_slopes(xb, &phi, 1);
      double p_max = cas_norm_cdf(x_max) * (1.0 + 2e-12), p_min = cas_norm_cdf(x_min) * (1.0 - 2e-12);
      cas_thin t;
      cas_thin_init(&t, x_min, x_max, p_min, p_max, phi * (1.0 + slope_error));
      for (int i = 0; i <= 400; i++) {
        double x = i == 400 ? x_max : x_min + (x_max - x_min) * i / 400.0;
        double px = cas_norm_cdf(x);
        double vs[] = {px, nextafter(px, 0.0), nextafter(px, 1.0), px * (1.0 - 1e-10),
                       px * (1.0 + 1e-10), px * 0.999, px * 1.001, p_min, p_max * 0.5,
                       p_max * (1.0 - 1e-12)};
        for (size_t k = 0; k < sizeof vs / sizeof *vs; k++) {
          if (!(vs[k] < p_max)) continue;   /* v = U p_max < p_max */
          int want = vs[k] < px;
          if (cas_thin_keep(&t, vs[k], x) != want) {
            if (slope_error == 0.0)
              cr_log_error("x in [%g, %g], x %.17g, v %.17g: kept %d", x_min, x_max, x, vs[k],
                           !want);
            bad++;
          }
        }
      }
    }
  return bad;
}

Test(sparse, thinning_bracket_decides_as_phi) {
  cr_expect_eq(thinning_mismatches(0.0), 0);
  cr_expect_gt(thinning_mismatches(-0.01), 0, "a tangent 1%% too flat went unnoticed");
}
