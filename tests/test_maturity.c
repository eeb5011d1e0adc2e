/*
 * test_maturity.c: loans that mature or amortise inside the horizon
 * (docs/MODEL.md, Maturity and amortisation), on small CSV books:
 *  - the plan of each year: a matured loan has threshold -INFINITY and
 *    loss 0, a bucket of matured loans a largest threshold of -INFINITY,
 *    the analytic figures of that year leave it out (0, no NaN, with the
 *    Gaussian and the t copula under a factor shift);
 *  - a loan of maturity 1 never defaults in years 2 and 3, with every
 *    kernel; in a bucket shared with loans without a maturity, the dense
 *    kernel gives the others exactly the defaults of a book without the
 *    matured loans (the same draws), the sparse kernel the same mean;
 *  - a linear loan's loss on default in year t is ead x lgd x (1 - (t -
 *    1) / m), in the plan, in the analytic EL of the year and on every
 *    path where it defaults, with every kernel;
 *  - the columns change nothing in year 1: the plan of a book with
 *    maturities, amortisation and collateral (no haircut) holds the
 *    records of the book without them, bit for bit.
 */
#include <criterion/criterion.h>

#include "timeout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel.h"
#include "plan.h"
#include "portfolio.h"
#include "scenario.h"

/* A scenario over a CSV book, both written to a scratch folder. */
typedef struct book {
  cas_scenario *sc;
  cas_portfolio *pf;
  cas_plan *plan;
} book;

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

/* csv: the book (header included); body: the scenario after its
 * portfolio line. */
static book open_book(const char *csv, const char *body) {
  char dir[] = "/tmp/cascade-maturity-XXXXXX", path[128], yaml[128];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/book.csv", dir);
  snprintf(yaml, sizeof yaml, "%s/s.yaml", dir);
  write_file(path, csv);
  char text[2048];
  snprintf(text, sizeof text, "name: m\nseed: 7\nportfolio: {file: book.csv}\n%s", body);
  write_file(yaml, text);
  book b = {0};
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load(yaml, &b.sc, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_portfolio_load_csv(path, &b.pf, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_plan_build(b.sc, b.pf, NULL, &b.plan, &err), CAS_OK, "%s", err.msg);
  unlink(path);
  unlink(yaml);
  rmdir(dir);
  return b;
}

static void close_book(book *b) {
  cas_plan_destroy(b->plan);
  cas_portfolio_destroy(b->pf);
  cas_scenario_destroy(b->sc);
}

static cas_results *simulate(const cas_kernel *k, const book *b) {
  cas_results *res = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_results_create(b->plan->paths, 0, 0, &res, &err), CAS_OK, "%s", err.msg);
  cas_kernel_options opt = {.threads = 2};
  cr_assert_eq(cas_kernel_run(k, b->plan, NULL, res, &opt, &err), CAS_OK, "%s", err.msg);
  return res;
}

/* Where portfolio loan i sits in the plan. */
static size_t position(const cas_plan *plan, size_t i) {
  for (size_t k = 0; k < plan->n; k++)
    if (plan->loan_index[k] == i) return k;
  cr_assert_fail("loan %zu is not in the plan", i);
  return 0;
}

/* n rows "PREFIX<j>,REGION,x,100,PD,0.5,MATURITY,AMORTISATION" after the header. */
static void rows(char *out, size_t size, const char *prefix, int n, const char *region, const char *pd,
                 const char *maturity, const char *amortisation) {
  size_t used = strlen(out);
  for (int j = 0; j < n; j++) {
    int w = snprintf(out + used, size - used, "%s%d,%s,x,100,%s,0.5,%s,%s\n", prefix, j, region, pd,
                     maturity, amortisation);
    cr_assert(w > 0 && (size_t)w < size - used, "book text too long");
    used += (size_t)w;
  }
}

static const char *const HEADER = "id,region,sector,ead,pd,lgd,maturity,amortisation\n";

/* ---- the plans by year --------------------------------------------------- */

/* Year 2's plan of a book whose segment a matured after one year: every
 * record of a is (-INFINITY, 0), its bucket's largest threshold is
 * -INFINITY, and the analytic EL and defaults of a are 0 (not NaN), with
 * either copula and a factor shift (the t copula's shifted PD integrates
 * over the mixing variable, which a threshold of -INFINITY would break). */
Test(maturity, plans_by_year_leave_matured_loans_out) {
  static const char *const copulas[] = {"gaussian", "t"};
  for (int c = 0; c < 2; c++) {
    char csv[4096] = "";
    strcat(csv, HEADER);
    rows(csv, sizeof csv, "a", 5, "a", "0.02", "1", "");
    rows(csv, sizeof csv, "b", 5, "b", "0.02", "3", "bullet");
    char body[512];
    snprintf(body, sizeof body,
             "paths: 100\nmodel: {horizon_years: 3, copula: %s}\nshocks: [{factor_shift: -1}]\n",
             copulas[c]);
    book b = open_book(csv, body);
    cr_assert_eq(b.plan->years, 3);
    int sa = cas_taxonomy_segment(b.pf->tax, 0, 0), sb = cas_taxonomy_segment(b.pf->tax, 1, 0);
    for (int t = 0; t < 3; t++) {
      const cas_plan *y = cas_plan_year(b.plan, t);
      cr_assert_eq(y->year, t);
      for (size_t i = 0; i < 10; i++) {
        const cas_plan_loan *ln = &y->loans[position(y, i)];
        int matured = i < 5 && t > 0;
        if (matured) {
          cr_expect(ln->threshold == -INFINITY, "%s year %d loan %zu: threshold %g", copulas[c], t + 1,
                    i, ln->threshold);
          cr_expect_eq(ln->loss, 0.0, "%s year %d loan %zu", copulas[c], t + 1, i);
        } else {
          cr_expect(isfinite(ln->threshold), "%s year %d loan %zu", copulas[c], t + 1, i);
          cr_expect_eq(ln->loss, 50.0, "%s year %d loan %zu", copulas[c], t + 1, i);
        }
      }
      for (size_t k = 0; k < y->nbuckets; k++) {
        const cas_bucket *bk = &y->buckets[k];
        if (bk->segment == sa && t > 0)
          cr_expect(bk->threshold_max == -INFINITY && bk->threshold_min == -INFINITY);
        else
          cr_expect(isfinite(bk->threshold_max) && isfinite(bk->threshold_min));
      }
      double el_a = y->stressed.expected_loss[sa], el_b = y->stressed.expected_loss[sb];
      double n_a = y->stressed.expected_defaults[sa];
      cr_expect(t == 0 ? el_a > 0.0 && n_a > 0.0 : el_a == 0.0 && n_a == 0.0,
                "%s year %d: EL %g, defaults %g", copulas[c], t + 1, el_a, n_a);
      cr_expect_eq(y->stressed.ead[sa], t == 0 ? 500.0 : 0.0, "%s year %d", copulas[c], t + 1);
      cr_expect(el_b > 0.0 && isfinite(el_b), "%s year %d: %g", copulas[c], t + 1, el_b);
      /* the loans without maturity inside the horizon keep year 1's figures */
      cr_expect_eq(el_b, b.plan->stressed.expected_loss[sb], "%s year %d", copulas[c], t + 1);
    }
    close_book(&b);
  }
}

/* ---- defaults by year ---------------------------------------------------- */

/* A book of loans of maturity 1 (and 0.5) at a high PD: they default in
 * year 1 on most paths and never in years 2 and 3, with every kernel; the
 * sparse kernel skips their buckets (p_max 0) and nothing is NaN. */
Test(maturity, matured_loans_never_default_later, .timeout = CAS_TEST_TIMEOUT(120)) {
  char csv[8192] = "";
  strcat(csv, HEADER);
  rows(csv, sizeof csv, "one", 30, "a", "0.3", "1", "");
  rows(csv, sizeof csv, "half", 10, "b", "0.3", "0.5", "bullet");
  rows(csv, sizeof csv, "lin", 10, "c", "0.3", "1", "linear");
  enum { PATHS = 4000 };
  char body[256];
  snprintf(body, sizeof body, "paths: %d\nmodel: {horizon_years: 3, factor_autocorrelation: 0.5}\n", PATHS);
  book b = open_book(csv, body);
  for (size_t kk = 0; cas_kernel_at(kk); kk++) {
    const cas_kernel *k = cas_kernel_at(kk);
    cas_results *res = simulate(k, &b);
    cr_assert_eq(res->years, 3);
    int64_t year1 = 0;
    for (int p = 0; p < PATHS; p++) {
      year1 += res->defaults_by_year[3 * p];
      cr_assert_eq(res->defaults_by_year[3 * p + 1], 0, "%s: path %d defaults in year 2", k->info.name, p);
      cr_assert_eq(res->defaults_by_year[3 * p + 2], 0, "%s: path %d defaults in year 3", k->info.name, p);
      cr_assert(isfinite(res->loss[p]), "%s: path %d loss %g", k->info.name, p, res->loss[p]);
      cr_assert_eq(res->loss_cumulative[3 * p + 2], res->loss_cumulative[3 * p], "%s: path %d",
                   k->info.name, p);
      cr_assert_eq(res->defaults[p], res->defaults_by_year[3 * p]);
    }
    /* 50 loans at PD 0.3: about 15 per path in year 1 */
    cr_expect(year1 > 12 * PATHS && year1 < 18 * PATHS, "%s: %lld defaults in year 1", k->info.name,
              (long long)year1);
    cas_results_destroy(res);
  }
  close_book(&b);
}

/* Loans of maturity 1 in the buckets of loans without one (same segment
 * and PD grade, listed after them): from year 2 on, the others default as
 * in the book without the matured loans. The dense kernel draws by plan
 * position, so those loans get the same draws in both books: the defaults
 * of years 2 and 3 are equal path by path. The sparse kernel draws each
 * bucket's candidates over all its loans (a bucket with a matured loan has
 * threshold_min -INFINITY): the same mean within Monte Carlo error. */
Test(maturity, matured_loans_in_a_shared_bucket, .timeout = CAS_TEST_TIMEOUT(120)) {
  char mixed[8192] = "", open[8192] = "";
  strcat(mixed, HEADER);
  strcat(open, HEADER);
  rows(mixed, sizeof mixed, "open", 40, "a", "0.05", "", "");
  rows(open, sizeof open, "open", 40, "a", "0.05", "", "");
  rows(mixed, sizeof mixed, "short", 40, "a", "0.05", "1", "");
  enum { PATHS = 6000 };
  char body[256];
  snprintf(body, sizeof body, "paths: %d\nmodel: {horizon_years: 3, factor_autocorrelation: 0.5}\n", PATHS);
  book m = open_book(mixed, body), o = open_book(open, body);
  cr_assert_eq(m.plan->nbuckets, 1, "one bucket");
  const cas_bucket *bk = &m.plan->year_plan[1]->buckets[0];
  cr_expect(bk->threshold_min == -INFINITY && isfinite(bk->threshold_max));
  for (size_t kk = 0; cas_kernel_at(kk); kk++) {
    const cas_kernel *k = cas_kernel_at(kk);
    cas_results *rm = simulate(k, &m), *ro = simulate(k, &o);
    double sum[2] = {0, 0}, sq[2] = {0, 0};
    for (int p = 0; p < PATHS; p++) {
      for (int t = 1; t < 3; t++) {
        int32_t dm = rm->defaults_by_year[3 * p + t], d_o = ro->defaults_by_year[3 * p + t];
        cr_assert(isfinite(rm->loss_cumulative[3 * p + t]));
        if (k == &cas_kernel_dense)
          cr_assert_eq(dm, d_o, "dense: path %d year %d: %d defaults, %d without the matured loans",
                       p, t + 1, dm, d_o);
        /* year 1 draws differ only for the matured loans: the same loans
         * (or fewer) are still in the book in later years */
      }
      double xm = rm->defaults_by_year[3 * p + 1] + rm->defaults_by_year[3 * p + 2];
      double xo = ro->defaults_by_year[3 * p + 1] + ro->defaults_by_year[3 * p + 2];
      sum[0] += xm;
      sq[0] += xm * xm;
      sum[1] += xo;
      sq[1] += xo * xo;
    }
    double mean_m = sum[0] / PATHS, mean_o = sum[1] / PATHS;
    double var = (sq[0] / PATHS - mean_m * mean_m + sq[1] / PATHS - mean_o * mean_o) / PATHS;
    cr_expect(fabs(mean_m - mean_o) < 4.0 * sqrt(var), "%s: %.4f defaults in years 2-3, %.4f without "
              "the matured loans (s.e. %.4f)", k->info.name, mean_m, mean_o, sqrt(var));
    cr_expect(mean_o > 1.0, "%s: %.4f", k->info.name, mean_o);
    cas_results_destroy(rm);
    cas_results_destroy(ro);
  }
  close_book(&m);
  close_book(&o);
}

/* ---- linear amortisation ------------------------------------------------- */

/* One linear loan of EAD 1000, LGD 0.5 and maturity m: its loss on default
 * in year t is 1000 x 0.5 x (1 - (t - 1) / m), in the plan, in the year's
 * analytic EL and stressed EAD, and on every path where it defaults (a
 * one-loan book: the path's loss up to the year of its default is that
 * loss), with every kernel. m = 4 gives exact shares (1, 0.75, 0.5); m =
 * 2.5 (1, 0.6, 0.2) is compared to a few units in the last place. */
Test(maturity, linear_loss_by_year, .timeout = CAS_TEST_TIMEOUT(120)) {
  static const char *const maturities[] = {"4", "2.5"};
  for (int c = 0; c < 2; c++) {
    double m = atof(maturities[c]);
    char csv[512];
    snprintf(csv, sizeof csv, "%sL,a,x,1000,0.2,0.5,%s,linear\n", HEADER, maturities[c]);
    enum { PATHS = 3000 };
    char body[256];
    snprintf(body, sizeof body, "paths: %d\nmodel: {horizon_years: 3, factor_autocorrelation: 0.3}\n",
             PATHS);
    book b = open_book(csv, body);
    double want[3];
    for (int t = 0; t < 3; t++) {
      want[t] = 1000.0 * 0.5 * (1.0 - (double)t / m);
      const cas_plan *y = cas_plan_year(b.plan, t);
      double tol = c == 0 ? 0.0 : 4e-16 * want[t];
      cr_expect(fabs(y->loans[0].loss - want[t]) <= tol, "m %g year %d: loss %.17g, want %.17g", m,
                t + 1, y->loans[0].loss, want[t]);
      cr_expect(fabs(y->stressed.ead[0] - 2.0 * want[t]) <= 2.0 * tol, "m %g year %d: EAD %.17g", m,
                t + 1, y->stressed.ead[0]);
      /* the year's PD is year 1's (no shocks): the EL scales with the share */
      double el = b.plan->stressed.expected_loss[0] * (1.0 - (double)t / m);
      cr_expect(fabs(y->stressed.expected_loss[0] - el) <= 1e-14 * el, "m %g year %d: EL %.17g, want %.17g",
                m, t + 1, y->stressed.expected_loss[0], el);
    }
    if (c == 0) cr_expect(want[1] == 375.0 && want[2] == 250.0);
    for (size_t kk = 0; cas_kernel_at(kk); kk++) {
      const cas_kernel *k = cas_kernel_at(kk);
      cas_results *res = simulate(k, &b);
      int seen[3] = {0, 0, 0};
      for (int p = 0; p < PATHS; p++)
        for (int t = 0; t < 3; t++) {
          if (res->defaults_by_year[3 * p + t] == 0) continue;
          seen[t]++;
          cr_assert_eq(res->loss_cumulative[3 * p + t], cas_plan_year(b.plan, t)->loans[0].loss,
                       "%s: m %g path %d year %d: %.17g", k->info.name, m, p, t + 1,
                       res->loss_cumulative[3 * p + t]);
          cr_assert_eq(res->loss[p], res->loss_cumulative[3 * p + t]);
        }
      for (int t = 0; t < 3; t++) cr_expect_gt(seen[t], 100, "%s: year %d", k->info.name, t + 1);
      cas_results_destroy(res);
    }
    close_book(&b);
  }
}

/* ---- year 1 unchanged ---------------------------------------------------- */

/* The plan of year 1 of a book with maturities (some under a year),
 * linear amortisation and collateral, without a haircut, holds exactly the
 * records, buckets and analytic figures of the same book without those
 * columns. */
Test(maturity, columns_leave_year_one_unchanged) {
  static const char *const with =
      "id,region,sector,ead,pd,lgd,maturity,amortisation,collateral\n"
      "A,a,x,100,0.01,0.4,0.25,,50\n"
      "B,a,x,250,0.03,0.45,3,linear,\n"
      "C,a,y,80,0.2,0.6,,,1000\n"
      "D,b,y,1e6,0.004,0.1,1,linear,2e5\n"
      "E,b,x,3.5,0.5,1,7.5,bullet,0\n";
  static const char *const without =
      "id,region,sector,ead,pd,lgd\n"
      "A,a,x,100,0.01,0.4\n"
      "B,a,x,250,0.03,0.45\n"
      "C,a,y,80,0.2,0.6\n"
      "D,b,y,1e6,0.004,0.1\n"
      "E,b,x,3.5,0.5,1\n";
  static const char *const body =
      "paths: 100\nmodel: {horizon_years: 3}\n"
      "shocks: [{region: a, pd_multiplier: 2, lgd_add: 0.1, ead_multiplier: 1.5, factor_shift: -1}]\n";
  book x = open_book(with, body), y = open_book(without, body);
  cr_assert_eq(x.plan->n, y.plan->n);
  cr_expect(memcmp(x.plan->loans, y.plan->loans, x.plan->n * sizeof *x.plan->loans) == 0);
  cr_expect(memcmp(x.plan->loan_index, y.plan->loan_index, x.plan->n * sizeof *x.plan->loan_index) == 0);
  cr_assert_eq(x.plan->nbuckets, y.plan->nbuckets);
  for (size_t k = 0; k < x.plan->nbuckets; k++) {
    const cas_bucket *a = &x.plan->buckets[k], *b = &y.plan->buckets[k];
    cr_expect(a->first == b->first && a->count == b->count && a->segment == b->segment &&
              a->grade == b->grade && a->threshold_min == b->threshold_min &&
              a->threshold_max == b->threshold_max, "bucket %zu", k);
  }
  size_t nseg = (size_t)x.plan->nsegments;
  cr_expect(memcmp(x.plan->stressed.expected_loss, y.plan->stressed.expected_loss,
                   nseg * sizeof(double)) == 0);
  cr_expect(memcmp(x.plan->stressed.ead, y.plan->stressed.ead, nseg * sizeof(double)) == 0);
  /* and in year 2 they differ where they should: A and D have matured */
  const cas_plan *x2 = x.plan->year_plan[1];
  cr_expect(x2->loans[position(x2, 0)].threshold == -INFINITY);
  cr_expect(x2->loans[position(x2, 3)].threshold == -INFINITY);
  cr_expect_eq(x2->loans[position(x2, 2)].loss, y.plan->year_plan[1]->loans[position(x2, 2)].loss);
  close_book(&x);
  close_book(&y);
}
