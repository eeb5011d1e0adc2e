/*
 * test_mitigants.c: guarantee funds, risk-compensation pools and
 * loan-guarantee insurance (scenario key mitigants, docs/MODEL.md).
 *
 * On the built-in book made uniform (every loan EAD 1,000,000 and LGD 0.5,
 * so that a default loses 500,000 and each covered default claims the same
 * amount), the payouts are checked path by path against what the segment
 * results of the same run imply, computed here from defaults_by_segment:
 *  - a pool with share s and no binding cap pays s x 500,000 per covered
 *    default; a cap per loan below that pays the cap per default;
 *  - a pool's total cap binds: it pays min(claims, cap), never more than its
 *    cap on any path, and is exhausted on the paths whose claims reach it;
 *  - a loan is covered by the first mitigant that matches it;
 *  - the net loss is the loss less the payouts, on every path;
 *  - 1 and 2 threads give the same bytes, with every kernel, and with the
 *    built-in network's cascade (the cascade's defaults claim too).
 * And the scenario's errors name the mitigant's key at its line and column.
 */
#include <criterion/criterion.h>

#include "timeout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contagion.h"
#include "kernel.h"
#include "network.h"
#include "plan.h"
#include "portfolio.h"
#include "scenario.h"
#include "support.h"

enum { LOANS = 4000, PATHS = 1500 };
static const double EAD = 1e6, LGD = 0.5;

static cas_portfolio *uniform_book(void) {
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(LOANS, 5, &pf, &err), CAS_OK, "%s", err.msg);
  for (size_t i = 0; i < pf->n; i++) {
    pf->ead[i] = EAD;
    pf->lgd[i] = LGD;
  }
  return pf;
}

typedef struct run {
  cas_plan *plan;
  cas_contagion *c;
  cas_results *res;
} run;

static run simulate(const cas_kernel *k, const cas_portfolio *pf, const cas_network *net,
                    const char *extra, int threads) {
  char text[2048];
  snprintf(text, sizeof text,
           "name: pools\nseed: 31\npaths: %d\nportfolio: {builtin: yrd, loans: %d, seed: 5}\n"
           "model: {region_correlation: 0.5, sector_correlation: 0.3}\n"
           "shocks: [{region: jiangsu, factor_shift: -1}]\noutput: {realised_lgd: true}\n%s",
           PATHS, LOANS, extra);
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load_text(text, "/tmp/pools.yaml", &sc, &err), CAS_OK, "%s", err.msg);
  run r = {0};
  cr_assert_eq(cas_plan_build(sc, pf, NULL, &r.plan, &err), CAS_OK, "%s", err.msg);
  if (net) cr_assert_eq(cas_contagion_create(sc, r.plan, pf, net, &r.c, &err), CAS_OK, "%s", err.msg);
  uint32_t rounds = r.c && r.c->max_rounds ? r.c->max_rounds + 1 : 0;
  cr_assert_eq(cas_results_create(PATHS, rounds, r.c && r.c->ncalls > 0, &r.res, &err), CAS_OK);
  cas_kernel_options kopt = {.threads = threads};
  cr_assert_eq(cas_kernel_run(k, r.plan, r.c, r.res, &kopt, &err), CAS_OK, "%s", err.msg);
  /* the plan borrows the scenario's mitigants: keep the scenario with it */
  r.plan->pools = NULL;
  cas_scenario_destroy(sc);
  return r;
}

static void release(run *r) {
  cas_results_destroy(r->res);
  cas_contagion_destroy(r->c);
  cas_plan_destroy(r->plan);
}

/* Defaults on path p in the segments of region r (-1: any) and sector s. */
static int32_t defaults_in(const cas_results *res, int p, int r, int s) {
  int32_t n = 0;
  for (int reg = 0; reg < CAS_YRD_NREGIONS; reg++)
    if (r < 0 || r == reg) n += res->defaults_by_segment[(size_t)p * CAS_YRD_NSEGMENTS + YRD_SEG(reg, s)];
  return n;
}

static void expect_net(const cas_results *res) {
  for (int p = 0; p < PATHS; p++) {
    double paid = 0.0;
    for (int k = 0; k < res->npools; k++) paid += res->pool_payout[(size_t)p * res->npools + k];
    cr_assert_eq(res->loss_net[p], res->loss[p] - paid, "path %d: net %.17g, loss %.17g, paid %.17g",
                 p, res->loss_net[p], res->loss[p], paid);
  }
}

Test(mitigants, pay_their_share_per_covered_default, .timeout = CAS_TEST_TIMEOUT(120)) {
  cas_portfolio *pf = uniform_book();
  /* Jiangsu green first, then any green: the second covers the other regions
   * only; micro loans claim 0.8 x 500,000 but at most 300,000 each. */
  run r = simulate(&cas_kernel_sparse, pf, NULL,
                   "mitigants:\n"
                   "  - {name: js_green, kind: guarantee_fund, region: jiangsu, sector: green, "
                   "share: 0.5, cap: 1e15}\n"
                   "  - {name: green, kind: guarantee_insurance, sector: green, share: 0.25, "
                   "cap: 1e15}\n"
                   "  - {name: micro, kind: risk_compensation_pool, sector: inclusive_micro, "
                   "share: 0.8, cap_per_loan: 300000, cap: 1e15}\n", 2);
  cr_assert_eq(r.res->npools, 3);
  double loss = EAD * LGD;
  int64_t covered = 0;
  for (int p = 0; p < PATHS; p++) {
    const double *pay = &r.res->pool_payout[(size_t)p * 3];
    int32_t js = defaults_in(r.res, p, CAS_REGION_JIANGSU, CAS_SECTOR_GREEN);
    int32_t green = defaults_in(r.res, p, -1, CAS_SECTOR_GREEN) - js;
    int32_t micro = defaults_in(r.res, p, -1, CAS_SECTOR_INCLUSIVE_MICRO);
    covered += js + green + micro;
    /* sums of equal terms: exact in doubles at these sizes */
    cr_assert_eq(pay[0], js * (0.5 * loss), "path %d: js_green paid %.17g for %d defaults", p, pay[0], js);
    cr_assert_eq(pay[1], green * (0.25 * loss), "path %d: green paid %.17g for %d", p, pay[1], green);
    cr_assert_eq(pay[2], micro * 300000.0, "path %d: micro paid %.17g for %d", p, pay[2], micro);
    /* the realised LGD's parts: every default exposes 1,000,000 and loses half */
    cr_assert_eq(r.res->ead_defaulted[p], (double)r.res->defaults[p] * EAD, "path %d", p);
    cr_assert_eq(r.res->loss[p], 0.5 * r.res->ead_defaulted[p], "path %d", p);
  }
  cr_log_info("%lld covered defaults checked over %d paths", (long long)covered, PATHS);
  cr_assert_gt(covered, 1000, "too few covered defaults for the test to mean anything");
  expect_net(r.res);
  release(&r);
  cas_portfolio_destroy(pf);
}

Test(mitigants, a_pool_never_pays_more_than_its_cap, .timeout = CAS_TEST_TIMEOUT(120)) {
  cas_portfolio *pf = uniform_book();
  /* Jiangsu (shifted down 1 SD) micro loans: a cap of 20 defaults' claims */
  double cap = 20 * 0.6 * EAD * LGD;
  char extra[512];
  snprintf(extra, sizeof extra,
           "mitigants:\n  - {name: js_micro, kind: risk_compensation_pool, region: jiangsu, "
           "sector: inclusive_micro, share: 0.6, cap: %.17g}\n", cap);
  for (size_t i = 0; cas_kernel_at(i); i++) {
    const cas_kernel *k = cas_kernel_at(i);
    run r = simulate(k, pf, NULL, extra, 1);
    int exhausted = 0, under = 0;
    for (int p = 0; p < PATHS; p++) {
      double claims = defaults_in(r.res, p, CAS_REGION_JIANGSU, CAS_SECTOR_INCLUSIVE_MICRO) *
                      (0.6 * EAD * LGD);
      double paid = r.res->pool_payout[p];
      cr_assert_leq(paid, cap, "%s: path %d paid %.17g over the cap %.17g", k->info.name, p, paid, cap);
      cr_assert_eq(paid, fmin(claims, cap), "%s: path %d paid %.17g, claims %.17g", k->info.name, p,
                   paid, claims);
      exhausted += paid == cap;
      under += claims < cap;
    }
    cr_log_info("%s: pool exhausted on %d of %d paths", k->info.name, exhausted, PATHS);
    cr_assert(exhausted > 0 && under > 0, "%s: the cap should bind on some paths only (%d of %d)",
              k->info.name, exhausted, PATHS);
    expect_net(r.res);
    release(&r);
  }
  cas_portfolio_destroy(pf);
}

Test(mitigants, threads_kernels_and_the_cascade_give_the_same_bytes, .timeout = CAS_TEST_TIMEOUT(300)) {
  cas_portfolio *pf = uniform_book();
  cas_network *net = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_network_generate(pf, 7, &net, &err), CAS_OK, "%s", err.msg);
  const char *extra =
      "network: {builtin: yrd}\ncontagion: {enabled: true, calibration: {mode: on_top}}\n"
      "mitigants:\n  - {name: micro, kind: risk_compensation_pool, sector: inclusive_micro, "
      "share: 0.5, cap_per_loan: 200000, cap: 2e8}\n"
      "  - {name: sh, kind: guarantee_fund, region: shanghai, share: 0.3, cap: 1e8}\n";
  for (size_t i = 0; cas_kernel_at(i); i++) {
    const cas_kernel *k = cas_kernel_at(i);
    run a = simulate(k, pf, net, extra, 1), b = simulate(k, pf, net, extra, 2);
    cr_assert_eq(memcmp(a.res->pool_payout, b.res->pool_payout, PATHS * 2 * sizeof(double)), 0,
                 "%s: payouts differ between 1 and 2 threads", k->info.name);
    cr_assert_eq(memcmp(a.res->loss_net, b.res->loss_net, PATHS * sizeof(double)), 0,
                 "%s: net losses differ between 1 and 2 threads", k->info.name);
    double contagion = 0.0;
    for (int p = 0; p < PATHS; p++) {
      contagion += a.res->loss_contagion[p];
      cr_assert_leq(a.res->pool_payout[2 * p], 2e8);
      cr_assert_leq(a.res->pool_payout[2 * p + 1], 1e8);
    }
    cr_assert_gt(contagion, 0.0, "%s: no cascade ran", k->info.name);
    expect_net(a.res);
    release(&a);
    release(&b);
  }
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

/* Errors name the mitigant's key at its line and column. */
static void expect_error(const char *mitigants, const char *where, const char *what) {
  char text[1024];
  snprintf(text, sizeof text, "name: bad\nportfolio: {builtin: yrd, loans: 100}\nmitigants:\n%s",
           mitigants);
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cas_portfolio *pf = NULL;
  cas_status st = cas_scenario_load_text(text, "/tmp/bad.yaml", &sc, &err);
  if (st == CAS_OK) {   /* names resolve when bound to the book */
    cr_assert_eq(cas_portfolio_generate(100, 1, &pf, &err), CAS_OK);
    cas_plan *plan = NULL;
    st = cas_plan_build(sc, pf, NULL, &plan, &err);
    cas_plan_destroy(plan);
  }
  cr_assert_neq(st, CAS_OK, "accepted: %s", mitigants);
  cr_assert_not_null(strstr(err.msg, where), "'%s' lacks '%s'", err.msg, where);
  cr_assert_not_null(strstr(err.msg, what), "'%s' lacks '%s'", err.msg, what);
  cas_scenario_destroy(sc);
  cas_portfolio_destroy(pf);
}

Test(mitigants, bad_entries_are_named_at_their_line_and_column) {
  expect_error("  - {name: a, kind: fund, share: 0.5, cap: 1}\n", "/tmp/bad.yaml:4:", "unknown kind");
  expect_error("  - {name: a, kind: guarantee_fund, share: 0, cap: 1}\n", "mitigants[0].share",
               "(0, 1]");
  expect_error("  - {name: a, kind: guarantee_fund, share: 1.5, cap: 1}\n", "mitigants[0].share",
               "(0, 1]");
  expect_error("  - {name: a, kind: guarantee_fund, share: 0.5, cap: -1}\n", "mitigants[0].cap",
               "> 0");
  expect_error("  - {name: a, kind: guarantee_fund, share: 0.5}\n", "mitigants[0]", "missing 'cap'");
  expect_error("  - {name: a, kind: guarantee_fund, share: 0.5, cap: 1}\n"
               "  - {name: a, kind: guarantee_fund, share: 0.5, cap: 1}\n",
               "mitigants[1].name", "already used");
  expect_error("  - {name: a, kind: guarantee_fund, region: hubei, share: 0.5, cap: 1}\n",
               "mitigants[0].region", "hubei");
  expect_error("  - {name: a, kind: guarantee_fund, share: 0.5, cap: 1, limit: 3}\n",
               "/tmp/bad.yaml:4:", "limit");
  expect_error("  - {name: a, kind: guarantee_fund, share: 0.5, cap_per_loan: 0, cap: 1}\n",
               "mitigants[0].cap_per_loan", "> 0");
}

/* A mitigant that lists loan ids covers those loans (of its region, sector
 * and city) and no other; an earlier mitigant that matches a listed loan
 * still covers it first; the plan says which pool covers each loan. */
Test(mitigants, a_list_of_ids_covers_those_loans) {
  cas_portfolio *pf = uniform_book();
  char ids[16384] = "", buf[64];
  int listed[LOANS] = {0};
  size_t used = 0;
  for (size_t i = 3; i < LOANS; i += 11) {
    used += (size_t)snprintf(ids + used, sizeof ids - used, "%s%s", used ? ", " : "",
                             cas_portfolio_id(pf, i, buf, sizeof buf));
    listed[i] = 1;
  }
  char text[20000];
  snprintf(text, sizeof text,
           "name: ids\nportfolio: {builtin: yrd, loans: %d, seed: 5}\nmitigants:\n"
           "  - {name: green, kind: guarantee_fund, sector: green, share: 0.5, cap: 1e9}\n"
           "  - {name: listed, kind: guarantee_insurance, ids: [%s], share: 0.8, cap: 1e9}\n",
           LOANS, ids);
  cas_scenario *sc = NULL;
  cas_plan *plan = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load_text(text, "/tmp/ids.yaml", &sc, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_plan_build(sc, pf, NULL, &plan, &err), CAS_OK, "%s", err.msg);
  size_t by_list = 0, by_green = 0;
  for (size_t k = 0; k < plan->n; k++) {
    size_t i = plan->loan_index[k];
    int want = pf->sector[i] == CAS_SECTOR_GREEN ? 0 : listed[i] ? 1 : CAS_NONE;
    cr_assert_eq(plan->pool_of[k], want, "loan %zu: pool %d, want %d", i, plan->pool_of[k], want);
    by_list += want == 1;
    by_green += want == 0 && listed[i];
  }
  cr_log_info("%zu listed loans covered by the list, %zu by the earlier green fund", by_list,
              by_green);
  cr_assert_gt(by_list, 50);
  cr_assert_gt(by_green, 0, "the test needs a listed green loan");
  cas_plan_destroy(plan);
  cas_scenario_destroy(sc);
  cas_portfolio_destroy(pf);
}

Test(mitigants, listed_ids_are_checked_against_the_book) {
  expect_error("  - {name: a, kind: guarantee_fund, ids: [YRD000000001, NOPE], share: 0.5, cap: 1}\n",
               "/tmp/bad.yaml:4:", "ids[1]: the book has no loan 'NOPE'");
  expect_error("  - {name: a, kind: guarantee_fund, ids: [YRD000000001, YRD000000001], share: 0.5, "
               "cap: 1}\n", "ids[1]", "already listed");
  expect_error("  - {name: a, kind: guarantee_fund, ids: [], share: 0.5, cap: 1}\n", "mitigants[0].ids",
               "empty list");
  expect_error("  - {name: a, kind: guarantee_fund, ids: [[1]], share: 0.5, cap: 1}\n",
               "mitigants[0].ids[0]", "loan id");
}
