/*
 * test_contagion_models.c: the contract of every registered contagion model
 * (models/contagion), walked through the registry, so that a new model is
 * held to it as soon as it is registered. On the built-in book (3,000
 * loans, 400 paths, fixed seed) and its network, for every model and both
 * kernels:
 *  - the results of 1 and 2 threads are the same bytes;
 *  - every path's loss is the sum of its segment losses, its double-default
 *    loss is at most the covered amounts of the book, and a model that
 *    does not spread defaults adds no default to round 0's;
 *  - a model's loss is at least the none model's on every path (contagion
 *    only adds defaults and losses; guarantees are the same);
 *  - with every weight scaled to 0 and no spill-over, every model gives
 *    the none model's results bit for bit (nothing to spread along).
 * The registry itself: names unique, found by lookup, listed, the default
 * ("none": contagion off is this model) registered.
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

enum { LOANS = 3000, PATHS = 400 };

typedef struct run {
  cas_plan *plan;
  cas_contagion *c;
  cas_results *res;
} run;

static run simulate(const cas_contagion_model *m, const cas_kernel *k, const char *scales,
                    int threads, const cas_portfolio *pf, const cas_network *net,
                    const double *guaranteed) {
  char text[1024];
  snprintf(text, sizeof text,
           "name: t\nseed: 3\npaths: %d\nportfolio: {builtin: yrd, loans: %d, seed: 5}\n"
           "network: {builtin: yrd}\nshocks: [{sector: manufacturing, factor_shift: -1}]\n"
           "contagion: {model: %s, calibration: {mode: on_top}%s}\n",
           PATHS, LOANS, m->info.name, scales);
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load_text(text, "/tmp/t.yaml", &sc, &err), CAS_OK, "%s", err.msg);
  cas_plan_options opt = {.grades_per_decade = CAS_PLAN_DEFAULT_GRADES, .guaranteed = guaranteed};
  run r = {0};
  cr_assert_eq(cas_plan_build(sc, pf, &opt, &r.plan, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_contagion_create(sc, r.plan, pf, net, &r.c, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(r.c->model, m);
  uint32_t rounds = r.c->max_rounds ? r.c->max_rounds + 1 : 0;
  cr_assert_eq(cas_results_create(PATHS, rounds, r.c->ncalls > 0, &r.res, &err), CAS_OK);
  cas_kernel_options kopt = {.threads = threads};
  cr_assert_eq(cas_kernel_run(k, r.plan, r.c, r.res, &kopt, &err), CAS_OK, "%s", err.msg);
  cas_scenario_destroy(sc);
  return r;
}

static void release(run *r) {
  cas_results_destroy(r->res);
  cas_contagion_destroy(r->c);
  cas_plan_destroy(r->plan);
}

static int same(const void *a, const void *b, size_t n) {
  return (a == NULL && b == NULL) || (a && b && memcmp(a, b, n) == 0);
}

static void expect_same(const run *a, const run *b, const char *what) {
  size_t nseg = (size_t)a->plan->nsegments;
  cr_expect(same(a->res->loss, b->res->loss, PATHS * sizeof(double)), "%s: loss", what);
  cr_expect(same(a->res->loss_by_segment, b->res->loss_by_segment, PATHS * nseg * sizeof(double)),
            "%s: loss_by_segment", what);
  cr_expect(same(a->res->defaults, b->res->defaults, PATHS * sizeof(int64_t)), "%s: defaults",
            what);
  cr_expect(same(a->res->loss_double_default, b->res->loss_double_default,
                 PATHS * sizeof(double)), "%s: loss_double_default", what);
}

Test(contagion_models, registry_is_walkable) {
  size_t count;
  EXPECT_REGISTRY(cas_contagion_model, cas_contagion_model_at, cas_contagion_model_lookup,
                  cas_contagion_model_list, CAS_CONTAGION_DEFAULT, count);
  cr_assert_geq(count, 2);
  for (size_t i = 0; i < count; i++) {
    cr_assert_not_null(cas_contagion_model_at(i)->path);
    cr_assert_not_null(cas_contagion_model_at(i)->describe);
  }
  const cas_contagion_model *off = cas_contagion_model_lookup(CAS_CONTAGION_DEFAULT);
  cr_assert_eq(off, &cas_contagion_none, "contagion off is the none model, the default");
  cr_assert_eq(off->spreads, 0);
}

Test(contagion_models, every_model_keeps_the_contract, .timeout = CAS_TEST_TIMEOUT(300)) {
  cas_portfolio *pf = NULL;
  cas_network *net = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(LOANS, 5, &pf, &err), CAS_OK);
  cr_assert_eq(cas_network_generate(pf, 1, &net, &err), CAS_OK, "%s", err.msg);
  double *guaranteed = malloc(pf->n * sizeof *guaranteed);
  cr_assert_not_null(guaranteed);
  cas_network_guaranteed(net, guaranteed);
  for (size_t ki = 0; cas_kernel_at(ki); ki++) {
    const cas_kernel *k = cas_kernel_at(ki);
    run none = simulate(&cas_contagion_none, k, "", 2, pf, net, guaranteed);
    for (size_t i = 0; cas_contagion_model_at(i); i++) {
      const cas_contagion_model *m = cas_contagion_model_at(i);
      char what[96];
      snprintf(what, sizeof what, "%s with the %s kernel", m->info.name, k->info.name);
      run a = simulate(m, k, "", 1, pf, net, guaranteed), b = simulate(m, k, "", 2, pf, net, guaranteed);
      expect_same(&a, &b, what);
      size_t nseg = (size_t)a.plan->nsegments;
      double covered = a.c->guaranteed_ead, any_more = 0.0;
      for (size_t p = 0; p < PATHS; p++) {
        double sum = 0.0;
        for (size_t s = 0; s < nseg; s++) sum += a.res->loss_by_segment[p * nseg + s];
        cr_expect_float_eq(sum, a.res->loss[p], 1e-9 * (1.0 + a.res->loss[p]), "%s: path %zu",
                           what, p);
        if (a.res->loss_double_default)
          cr_expect_leq(a.res->loss_double_default[p], covered * (1 + 1e-12), "%s: path %zu", what, p);
        cr_expect_geq(a.res->loss[p], none.res->loss[p] * (1 - 1e-12),
                      "%s: path %zu loses less than without contagion", what, p);
        cr_expect_geq(a.res->defaults[p], none.res->defaults[p], "%s: path %zu", what, p);
        if (!m->spreads)
          cr_expect_eq(a.res->defaults[p], none.res->defaults[p], "%s: path %zu", what, p);
        any_more += a.res->loss[p] - none.res->loss[p];
      }
      if (m->spreads) cr_expect_gt(any_more, 0.0, "%s: the model never spread a default", what);
      /* Nothing to spread along: the none model's results, bit for bit. */
      run zero = simulate(m, k, ", supply_chain_scale: 0, guarantee_scale: 0", 2, pf, net, guaranteed);
      snprintf(what, sizeof what, "%s with zero weights, %s kernel", m->info.name, k->info.name);
      expect_same(&zero, &none, what);
      release(&zero);
      release(&a);
      release(&b);
    }
    release(&none);
  }
  free(guaranteed);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}
