/*
 * test_kernels.c: the contract of every registered kernel (models/kernels),
 * walked through the registry, so that a new kernel is held to it as soon as
 * it is registered. On the built-in book (3,000 loans, 2,000 paths, fixed
 * seed) with correlated factors, a factor shift and a PD multiplier, and the
 * built-in network's guarantees:
 *  - the results of 1 and 2 threads are the same bytes;
 *  - the Monte Carlo expected loss is within 4 standard errors of the
 *    analytic one (which holds the factor shift, the odds multiplier and the
 *    double defaults of the guarantees), and every segment's default rate
 *    within 4 of its own standard errors of its analytic default rate (36
 *    comparisons: all pass with probability 0.998 when the kernel is right);
 *  - with contagion on the kernel runs the cascade (some contagion loss).
 * Each kernel is run with every registered copula.
 * The registry itself: names unique, found by lookup, listed, the default
 * registered. Kernels agreeing with each other in distribution is
 * tests/test_sparse.c's business.
 */
#include <criterion/criterion.h>

#include "timeout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contagion.h"
#include "copula/copula.h"
#include "kernel.h"
#include "network.h"
#include "plan.h"
#include "portfolio.h"
#include "scenario.h"
#include "stats.h"
#include "support.h"

enum { LOANS = 3000, PATHS = 2000 };

typedef struct run {
  cas_plan *plan;
  cas_contagion *c;
  cas_results *res;
  double analytic;   /* EL [CNY], double defaults included */
} run;

static run simulate(const cas_kernel *k, const cas_copula_model *copula, const char *extra,
                    int threads, const cas_portfolio *pf, const cas_network *net) {
  char text[1024];
  snprintf(text, sizeof text,
           "name: t\nseed: 17\npaths: %d\nportfolio: {builtin: yrd, loans: %d, seed: 5}\n"
           "network: {builtin: yrd}\n"
           "model: {copula: %s, region_correlation: 0.5, sector_correlation: 0.3}\n"
           "shocks:\n  - {region: jiangsu, factor_shift: -0.8}\n"
           "  - {sector: household, pd_multiplier: 2}\n%s",
           PATHS, LOANS, copula->info.name, extra);
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load_text(text, "/tmp/t.yaml", &sc, &err), CAS_OK, "%s", err.msg);
  double *guaranteed = malloc(pf->n * sizeof *guaranteed);
  cr_assert_not_null(guaranteed);
  cas_network_guaranteed(net, guaranteed);
  cas_plan_options opt = {.grades_per_decade = CAS_PLAN_DEFAULT_GRADES, .guaranteed = guaranteed};
  run r = {0};
  cr_assert_eq(cas_plan_build(sc, pf, &opt, &r.plan, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_contagion_create(sc, r.plan, pf, net, &r.c, &err), CAS_OK, "%s", err.msg);
  double el[CAS_YRD_NSEGMENTS] = {0};
  cas_contagion_expected_double_default(r.c, r.plan, el);
  for (int s = 0; s < CAS_YRD_NSEGMENTS; s++) r.analytic += r.plan->stressed.expected_loss[s] + el[s];
  uint32_t rounds = r.c->max_rounds ? r.c->max_rounds + 1 : 0;
  cr_assert_eq(cas_results_create(PATHS, rounds, r.c->ncalls > 0, &r.res, &err), CAS_OK);
  cas_kernel_options kopt = {.threads = threads};
  cr_assert_eq(cas_kernel_run(k, r.plan, r.c, r.res, &kopt, &err), CAS_OK, "%s", err.msg);
  free(guaranteed);
  cas_scenario_destroy(sc);
  return r;
}

static void release(run *r) {
  cas_results_destroy(r->res);
  cas_contagion_destroy(r->c);
  cas_plan_destroy(r->plan);
}

Test(kernels, registry_is_walkable) {
  size_t count;
  EXPECT_REGISTRY(cas_kernel, cas_kernel_at, cas_kernel_lookup, cas_kernel_list, CAS_KERNEL_DEFAULT,
                  count);
  cr_assert_geq(count, 2);
  for (size_t i = 0; i < count; i++) cr_assert_not_null(cas_kernel_at(i)->path);
}

/* The contract for kernel k with copula cm. */
static void keeps_the_contract(const cas_kernel *k, const cas_copula_model *cm,
                               const cas_portfolio *pf, const cas_network *net) {
  cas_error err = {0};
  cr_log_info("kernel %s, copula %s", k->info.name, cm->info.name);
  run a = simulate(k, cm, "", 1, pf, net), b = simulate(k, cm, "", 2, pf, net);
  const cas_results *x = a.res, *y = b.res;
  cr_assert_eq(memcmp(x->loss, y->loss, PATHS * sizeof *x->loss), 0, "%s: loss", k->info.name);
  cr_assert_eq(memcmp(x->loss_by_segment, y->loss_by_segment,
                      (size_t)PATHS * CAS_YRD_NSEGMENTS * sizeof *x->loss_by_segment), 0);
  cr_assert_eq(memcmp(x->defaults_by_segment, y->defaults_by_segment,
                      (size_t)PATHS * CAS_YRD_NSEGMENTS * sizeof *x->defaults_by_segment), 0);
  cr_assert_eq(memcmp(x->loss_double_default, y->loss_double_default,
                      PATHS * sizeof *x->loss_double_default), 0);
  cas_summary s;
  cr_assert_eq(cas_summary_compute(PATHS, x->loss, NULL, x->defaults, &s, &err), CAS_OK);
  cr_log_info("%s: EL %.6g (se %.3g), analytic %.6g, z %+.2f", k->info.name, s.el, s.el_se,
              a.analytic, (s.el - a.analytic) / s.el_se);
  cr_expect_leq(fabs(s.el - a.analytic), 4.0 * s.el_se, "%s: EL %g, analytic %g (se %g)",
                k->info.name, s.el, a.analytic, s.el_se);
  double rate[CAS_YRD_NSEGMENTS], se[CAS_YRD_NSEGMENTS];
  cr_assert_eq(a.plan->nsegments, CAS_YRD_NSEGMENTS);
  cas_default_rates(PATHS, a.plan->nsegments, x->defaults_by_segment, a.plan->unstressed.loans, NULL,
                    rate, se);
  for (int seg = 0; seg < CAS_YRD_NSEGMENTS; seg++) {
    if (!a.plan->unstressed.loans[seg]) continue;
    double want = a.plan->stressed.expected_defaults[seg] / (double)a.plan->unstressed.loans[seg];
    cr_expect_leq(fabs(rate[seg] - want), 4.0 * se[seg] + 1e-12, "%s: segment %d rate %g, %g",
                  k->info.name, seg, rate[seg], want);
  }
  release(&a);
  release(&b);
  run c = simulate(k, cm, "contagion: {enabled: true, calibration: {mode: on_top}}\n", 2, pf, net);
  double contagion = 0.0;
  for (int p = 0; p < PATHS; p++) contagion += c.res->loss_contagion[p];
  cr_expect_gt(contagion, 0.0, "%s: no contagion loss with contagion on", k->info.name);
  release(&c);
}

Test(kernels, every_kernel_keeps_the_contract, .timeout = CAS_TEST_TIMEOUT(300)) {
  cas_portfolio *pf = NULL;
  cas_network *net = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(LOANS, 5, &pf, &err), CAS_OK);
  cr_assert_eq(cas_network_generate(pf, 1, &net, &err), CAS_OK, "%s", err.msg);
  for (size_t i = 0; cas_kernel_at(i); i++)   /* every kernel with every copula */
    for (size_t j = 0; cas_copula_at(j); j++)
      keeps_the_contract(cas_kernel_at(i), cas_copula_at(j), pf, net);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

/* Common random numbers: with the same seed, a PD shock to one sector and
 * an LGD shock to another (no factor shift, no network) leave every other
 * sector's per-path losses and defaults unchanged bit for bit, with every
 * kernel: each bucket draws from its own region of a path's streams. */
static cas_results *crn_run(const cas_kernel *k, const cas_portfolio *pf, const char *shocks) {
  char text[512];
  snprintf(text, sizeof text,
           "name: crn\nseed: 23\npaths: %d\nportfolio: {builtin: yrd, loans: %d, seed: 5}\n"
           "model: {region_correlation: 0.5}\nshocks: %s\n", PATHS, LOANS, shocks);
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load_text(text, "/tmp/crn.yaml", &sc, &err), CAS_OK, "%s", err.msg);
  cas_plan *plan = NULL;
  cas_results *res = NULL;
  cr_assert_eq(cas_plan_build(sc, pf, NULL, &plan, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_results_create(PATHS, 0, 0, &res, &err), CAS_OK);
  cas_kernel_options kopt = {.threads = 2};
  cr_assert_eq(cas_kernel_run(k, plan, NULL, res, &kopt, &err), CAS_OK, "%s", err.msg);
  cas_plan_destroy(plan);
  cas_scenario_destroy(sc);
  return res;
}

Test(kernels, a_shock_to_one_sector_leaves_the_others_bit_for_bit, .timeout = CAS_TEST_TIMEOUT(300)) {
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(LOANS, 5, &pf, &err), CAS_OK);
  for (size_t i = 0; cas_kernel_at(i); i++) {
    const cas_kernel *k = cas_kernel_at(i);
    cas_results *a = crn_run(k, pf, "[]");
    cas_results *b = crn_run(k, pf, "[{sector: green, pd_multiplier: 3}, "
                                    "{sector: household, lgd_add: 0.1}]");
    size_t same = 0, moved = 0;
    for (int p = 0; p < PATHS; p++)
      for (int s = 0; s < CAS_YRD_NSEGMENTS; s++) {
        size_t at = (size_t)p * CAS_YRD_NSEGMENTS + (size_t)s;
        int sector = s % CAS_YRD_NSECTORS;
        if (sector == CAS_SECTOR_GREEN || sector == CAS_SECTOR_HOUSEHOLD) {
          moved += a->loss_by_segment[at] != b->loss_by_segment[at];
          continue;
        }
        cr_assert_eq(memcmp(&a->loss_by_segment[at], &b->loss_by_segment[at], sizeof(double)), 0,
                     "%s: path %d segment %d loss changed", k->info.name, p, s);
        cr_assert_eq(a->defaults_by_segment[at], b->defaults_by_segment[at],
                     "%s: path %d segment %d defaults changed", k->info.name, p, s);
        same++;
      }
    cr_log_info("%s: %zu unshocked segment-paths identical, %zu shocked ones moved", k->info.name,
                same, moved);
    cr_expect_gt(moved, (size_t)PATHS / 2, "%s: the shocks changed nothing", k->info.name);
    cas_results_destroy(a);
    cas_results_destroy(b);
  }
  cas_portfolio_destroy(pf);
}

/* A stochastic LGD (beta): every kernel gives the same bytes for 1 and 2
 * threads; without the downturn link the Monte Carlo expected loss is the
 * analytic one (a loss fraction's mean is the loan's LGD, independent of
 * its default) within 4 standard errors; with the link (LGD higher when
 * the factors are bad, as defaults are) it is higher by more than 3. */
static cas_results *lgd_run(const cas_kernel *k, const cas_portfolio *pf, const char *model,
                            int threads, double *analytic) {
  char text[512];
  snprintf(text, sizeof text,
           "name: lgd\nseed: 29\npaths: %d\nportfolio: {builtin: yrd, loans: %d, seed: 5}\n"
           "model: {region_correlation: 0.5, %s}\n"
           "shocks: [{region: zhejiang, factor_shift: -0.5}]\n", PATHS, LOANS, model);
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load_text(text, "/tmp/lgd.yaml", &sc, &err), CAS_OK, "%s", err.msg);
  cas_plan *plan = NULL;
  cas_results *res = NULL;
  cr_assert_eq(cas_plan_build(sc, pf, NULL, &plan, &err), CAS_OK, "%s", err.msg);
  *analytic = 0.0;
  for (int s = 0; s < plan->nsegments; s++) *analytic += plan->stressed.expected_loss[s];
  cr_assert_eq(cas_results_create(PATHS, 0, 0, &res, &err), CAS_OK);
  cas_kernel_options kopt = {.threads = threads};
  cr_assert_eq(cas_kernel_run(k, plan, NULL, res, &kopt, &err), CAS_OK, "%s", err.msg);
  cas_plan_destroy(plan);
  cas_scenario_destroy(sc);
  return res;
}

Test(kernels, stochastic_lgd, .timeout = CAS_TEST_TIMEOUT(300)) {
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(LOANS, 5, &pf, &err), CAS_OK);
  for (size_t i = 0; cas_kernel_at(i); i++) {
    const cas_kernel *k = cas_kernel_at(i);
    double analytic;
    cas_results *a = lgd_run(k, pf, "lgd: beta, lgd_sd: 0.25", 1, &analytic);
    cas_results *b = lgd_run(k, pf, "lgd: beta, lgd_sd: 0.25", 2, &analytic);
    cr_assert_eq(memcmp(a->loss, b->loss, PATHS * sizeof *a->loss), 0, "%s: threads", k->info.name);
    cas_summary s;
    cr_assert_eq(cas_summary_compute(PATHS, a->loss, NULL, NULL, &s, &err), CAS_OK);
    cr_log_info("%s, beta LGD: EL %.6g (se %.3g), analytic %.6g, z %+.2f", k->info.name, s.el,
                s.el_se, analytic, (s.el - analytic) / s.el_se);
    cr_expect_leq(fabs(s.el - analytic), 4.0 * s.el_se, "%s: EL %g, analytic %g", k->info.name,
                  s.el, analytic);
    cas_results *c = lgd_run(k, pf, "lgd: beta, lgd_sd: 0.25, lgd_downturn: 1", 2, &analytic);
    cas_summary t;
    cr_assert_eq(cas_summary_compute(PATHS, c->loss, NULL, NULL, &t, &err), CAS_OK);
    cr_log_info("%s, beta LGD with downturn: EL %.6g (se %.3g), z %+.2f", k->info.name, t.el,
                t.el_se, (t.el - analytic) / t.el_se);
    cr_expect_gt(t.el - analytic, 3.0 * t.el_se, "%s: the downturn link adds no loss", k->info.name);
    cas_results_destroy(a);
    cas_results_destroy(b);
    cas_results_destroy(c);
  }
  cas_portfolio_destroy(pf);
}

/* A stochastic LGD with the built-in network's guarantees and the cascade:
 * every kernel gives the same bytes for 1 and 2 threads; without the
 * downturn link the expected loss with the guarantees booked (no cascade)
 * is the analytic one, double defaults included, within 4 standard errors
 * (a covered part is lost at the borrower's draw, whose mean is its LGD);
 * with the cascade on, loss does not fall below it. */
static run lgd_network_run(const cas_kernel *k, const cas_portfolio *pf, const cas_network *net,
                           const char *contagion, int threads) {
  char text[1024];
  snprintf(text, sizeof text,
           "name: t\nseed: 17\npaths: %d\nportfolio: {builtin: yrd, loans: %d, seed: 5}\n"
           "network: {builtin: yrd}\n"
           "model: {lgd: beta, lgd_sd: 0.25, region_correlation: 0.5, sector_correlation: 0.3}\n"
           "shocks:\n  - {region: jiangsu, factor_shift: -0.8}\n%s",
           PATHS, LOANS, contagion);
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load_text(text, "/tmp/t.yaml", &sc, &err), CAS_OK, "%s", err.msg);
  double *guaranteed = malloc(pf->n * sizeof *guaranteed);
  cr_assert_not_null(guaranteed);
  cas_network_guaranteed(net, guaranteed);
  cas_plan_options opt = {.grades_per_decade = CAS_PLAN_DEFAULT_GRADES, .guaranteed = guaranteed};
  run r = {0};
  cr_assert_eq(cas_plan_build(sc, pf, &opt, &r.plan, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_contagion_create(sc, r.plan, pf, net, &r.c, &err), CAS_OK, "%s", err.msg);
  double el[CAS_YRD_NSEGMENTS] = {0};
  cas_contagion_expected_double_default(r.c, r.plan, el);
  for (int s = 0; s < CAS_YRD_NSEGMENTS; s++) r.analytic += r.plan->stressed.expected_loss[s] + el[s];
  uint32_t rounds = r.c->max_rounds ? r.c->max_rounds + 1 : 0;
  cr_assert_eq(cas_results_create(PATHS, rounds, r.c->ncalls > 0, &r.res, &err), CAS_OK);
  cas_kernel_options kopt = {.threads = threads};
  cr_assert_eq(cas_kernel_run(k, r.plan, r.c, r.res, &kopt, &err), CAS_OK, "%s", err.msg);
  free(guaranteed);
  cas_scenario_destroy(sc);
  return r;
}

Test(kernels, stochastic_lgd_with_the_network, .timeout = CAS_TEST_TIMEOUT(300)) {
  cas_portfolio *pf = NULL;
  cas_network *net = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(LOANS, 5, &pf, &err), CAS_OK);
  cr_assert_eq(cas_network_generate(pf, 1, &net, &err), CAS_OK, "%s", err.msg);
  for (size_t i = 0; cas_kernel_at(i); i++) {
    const cas_kernel *k = cas_kernel_at(i);
    run a = lgd_network_run(k, pf, net, "", 1), b = lgd_network_run(k, pf, net, "", 2);
    cr_assert_eq(memcmp(a.res->loss, b.res->loss, PATHS * sizeof(double)), 0, "%s: threads", k->info.name);
    cr_assert_eq(memcmp(a.res->loss_double_default, b.res->loss_double_default, PATHS * sizeof(double)),
                 0, "%s: threads (double default)", k->info.name);
    cas_summary s;
    cr_assert_eq(cas_summary_compute(PATHS, a.res->loss, NULL, NULL, &s, &err), CAS_OK);
    double dd = 0.0;
    for (int p = 0; p < PATHS; p++) dd += a.res->loss_double_default[p];
    cr_log_info("%s, beta LGD and guarantees: EL %.6g (se %.3g), analytic %.6g, z %+.2f; mean "
                "double default %.4g", k->info.name, s.el, s.el_se, a.analytic,
                (s.el - a.analytic) / s.el_se, dd / PATHS);
    cr_expect_leq(fabs(s.el - a.analytic), 4.0 * s.el_se, "%s: EL %g, analytic %g", k->info.name,
                  s.el, a.analytic);
    cr_assert_gt(dd, 0.0, "%s: no double default booked", k->info.name);
    run c = lgd_network_run(k, pf, net, "contagion: {model: network, calibration: {mode: on_top}}\n", 2);
    run d = lgd_network_run(k, pf, net, "contagion: {model: network, calibration: {mode: on_top}}\n", 1);
    cr_assert_eq(memcmp(c.res->loss, d.res->loss, PATHS * sizeof(double)), 0, "%s: threads (cascade)",
                 k->info.name);
    double contagion = 0.0;
    for (int p = 0; p < PATHS; p++) contagion += c.res->loss_contagion[p];
    cr_assert_gt(contagion, 0.0, "%s: no contagion loss", k->info.name);
    release(&a);
    release(&b);
    release(&c);
    release(&d);
  }
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}
