/*
 * test_contagion.c: the cascade (sim/contagion.c).
 *
 * Hand-worked graphs: a portfolio of a few loans, every loan with PD 1%
 * (threshold c = Phi^-1(0.01) = -2.3263), loadings {global 0.6} so the
 * idiosyncratic weight is b = 0.8; the systematic term is set to 0 and each
 * loan's idiosyncratic value eps chosen, so its latent variable is
 * X = 0.8 eps. Which loans default in which round then follows by hand from
 * X - (sum of weights of defaulted neighbours) < c; comments give the
 * arithmetic.
 *
 * Properties on random graphs: larger weights never lower any path's loss
 * (each loan keeps its draw, and the cascade is monotone in the shifts);
 * scales of 0 reproduce the run without contagion bit for bit; the dense
 * and sparse kernels agree in distribution with contagion and spill-over on
 * (4 combined standard errors and a two-sample KS test at level 1e-4, fixed
 * seeds).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contagion.h"
#include "kernel.h"
#include "network.h"
#include "normal.h"
#include "plan.h"
#include "portfolio.h"
#include "rng.h"
#include "scenario.h"
#include "stats.h"
#include "support.h"

typedef struct edge {
  uint32_t from, to;
  int type;
  double weight, amount;
} edge;

/* A network in CSR form from a list of links (any order). */
static cas_network *make_network(size_t nloans, const edge *links, size_t nlinks,
                                 const cas_portfolio *pf) {
  cas_network *net = calloc(1, sizeof *net);
  cr_assert_not_null(net);
  net->nloans = nloans;
  net->nlinks = nlinks;
  net->offset = calloc(nloans + 1, sizeof *net->offset);
  net->target = malloc((nlinks ? nlinks : 1) * sizeof *net->target);
  net->weight = malloc((nlinks ? nlinks : 1) * sizeof *net->weight);
  net->amount = malloc((nlinks ? nlinks : 1) * sizeof *net->amount);
  net->type = malloc((nlinks ? nlinks : 1) * sizeof *net->type);
  cr_assert(net->offset && net->target && net->weight && net->amount && net->type);
  for (size_t e = 0; e < nlinks; e++) net->offset[links[e].from + 1]++;
  for (size_t i = 0; i < nloans; i++) net->offset[i + 1] += net->offset[i];
  uint64_t *fill = calloc(nloans, sizeof *fill);
  cr_assert_not_null(fill);
  for (size_t e = 0; e < nlinks; e++) {
    uint64_t at = net->offset[links[e].from] + fill[links[e].from]++;
    net->target[at] = links[e].to;
    net->weight[at] = links[e].weight;
    net->amount[at] = links[e].amount;
    net->type[at] = (uint8_t)links[e].type;
    net->links_by_type[links[e].type]++;
    if (pf->region[links[e].from] != pf->region[links[e].to]) net->cross_region_links++;
  }
  free(fill);
  snprintf(net->source, sizeof net->source, "test");
  return net;
}

static char dir[64];

static void cleanup(void) {
  if (!dir[0]) return;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_expect_eq(system(cmd), 0);
  dir[0] = '\0';
}

/* Writes a CSV of loans (region per loan, manufacturing, EAD 1000 * (i+1),
 * PD, LGD 0.5) and loads it. */
static cas_portfolio *small_book(size_t n, const char *const *regions, double pd) {
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/cascade-contagion-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
  }
  char path[128];
  snprintf(path, sizeof path, "%s/book.csv", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "id,region,sector,ead,pd,lgd\n");
  for (size_t i = 0; i < n; i++)
    fprintf(f, "L%zu,%s,manufacturing,%zu,%.17g,0.5\n", i, regions[i], 1000 * (i + 1), pd);
  fclose(f);
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv(path, &pf, &err), CAS_OK, "%s", err.msg);
  return pf;
}

static cas_scenario *scenario(const char *extra) {
  char text[1024];
  snprintf(text, sizeof text,
           "name: t\npaths: 100\nportfolio: {builtin: yrd, loans: 10}\n"
           "model:\n  loadings:\n    manufacturing: {global: 0.6, region: 0, sector: 0}\n%s",
           extra);
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load_text(text, "/tmp/t.yaml", &sc, &err), CAS_OK, "%s", err.msg);
  return sc;
}

/* Runs the cascade on one path with chosen eps (X = 0.8 eps) and the given
 * round-0 defaults. */
typedef struct hand {
  cas_portfolio *pf;
  cas_scenario *sc;
  cas_plan *plan;
  cas_network *net;
  cas_contagion *c;
  cas_cascade_ws *ws;
  double seg_loss[CAS_NSEGMENTS];
  int32_t by_round[51];
  uint32_t pos[16];         /* plan position of portfolio loan i */
  cas_cascade_out out;
} hand;

static void run_hand(hand *h, const double *latent, const uint32_t *first, size_t nfirst) {
  cas_error err = {0};
  cr_assert_eq(cas_plan_build(h->sc, h->pf, NULL, &h->plan, &err), CAS_OK, "%s", err.msg);
  cr_assert_float_eq(h->plan->idio[cas_segment(CAS_REGION_SHANGHAI, CAS_SECTOR_MANUFACTURING)],
                     0.8, 1e-15);
  cr_assert_eq(cas_contagion_create(h->sc, h->plan, h->pf, h->net, &h->c, &err), CAS_OK, "%s",
               err.msg);
  cr_assert_eq(cas_cascade_ws_create(h->pf->n, 1, &h->ws, &err), CAS_OK);
  /* The workspace is indexed by plan position. */
  for (size_t k = 0; k < h->pf->n; k++) h->pos[h->plan->loan_index[k]] = (uint32_t)k;
  cas_cascade_begin(h->ws);
  for (size_t i = 0; i < h->pf->n; i++) h->ws->eps[h->pos[i]] = latent[i] / 0.8;
  for (size_t k = 0; k < nfirst; k++) {
    uint32_t i = first[k];
    cas_cascade_default0(h->ws, h->pos[i]);
  }
  double sys[CAS_NSEGMENTS] = {0};
  h->out = (cas_cascade_out){.seg_loss = h->seg_loss, .by_round = h->by_round};
  cas_cascade_run(h->c, h->plan, h->ws, 0, sys, 1.0, NULL, &h->out);
}

static void release_hand(hand *h) {
  cas_cascade_ws_destroy(h->ws);
  cas_contagion_destroy(h->c);
  cas_network_destroy(h->net);
  cas_plan_destroy(h->plan);
  cas_scenario_destroy(h->sc);
  cas_portfolio_destroy(h->pf);
}

static int is_default_of(const hand *h, uint32_t i) {
  return cas_cascade_is_defaulted(h->ws, h->pos[i]);
}

static double total(const double *seg) {
  double t = 0;
  for (int s = 0; s < CAS_NSEGMENTS; s++) t += seg[s];
  return t;
}

Test(contagion, hand_worked_supply_chain_and_guarantees, .fini = cleanup) {
  static const char *const sh[5] = {"shanghai", "shanghai", "shanghai", "shanghai", "shanghai"};
  hand h = {0};
  h.pf = small_book(5, sh, 0.01);
  h.sc = scenario("contagion: {enabled: true}\n");
  /* c = -2.3263. Latent values X (the loan defaults when X - shift < c):
   *   L0 -3.0 (defaults in round 0, given), L1 -1.5, L2 -1.0, L3 0.0, L4 -1.5.
   * Links: L0 -> L1 supply 1.0; L0 -> L2 supply 0.5; L1 -> L2 supply 1.0;
   *        L2 -> L3 guarantee (w 0.2, amount 100); L1 -> L4 guarantee (w 0.9, amount 50).
   * Round 1 (L0 spreads): L1 -1.5-1.0 = -2.5 < c: defaults; L2 -1.0-0.5 = -1.5: survives.
   * Round 2 (L1 spreads): L2 -1.5-1.0 = -2.5: defaults; L4 -1.5-0.9 = -2.4: defaults (called 50).
   * Round 3 (L2 and L4 spread): L3 0.0-0.2 = -0.2: survives (called 100, but survives).
   * Contagion loss: L1 2000*0.5 + L2 3000*0.5 + L4 5000*0.5 + 50*0.5 = 5025. */
  edge links[] = {
    {0, 1, CAS_LINK_SUPPLY_CHAIN, 1.0, 0}, {0, 2, CAS_LINK_SUPPLY_CHAIN, 0.5, 0},
    {1, 2, CAS_LINK_SUPPLY_CHAIN, 1.0, 0}, {2, 3, CAS_LINK_GUARANTEE, 0.2, 100},
    {1, 4, CAS_LINK_GUARANTEE, 0.9, 50},
  };
  h.net = make_network(5, links, 5, h.pf);
  double latent[5] = {-3.0, -1.5, -1.0, 0.0, -1.5};
  uint32_t first[] = {0};
  run_hand(&h, latent, first, 1);
  cr_expect_eq(h.out.rounds, 2);
  cr_expect_eq(h.by_round[0], 1);
  cr_expect_eq(h.by_round[1], 1);
  cr_expect_eq(h.by_round[2], 2);
  cr_expect_eq(h.by_round[3], 0);
  cr_expect_eq(h.out.truncated, 0);
  cr_expect_float_eq(total(h.seg_loss), 5025.0, 1e-9, "contagion loss %g", total(h.seg_loss));
  cr_expect(is_default_of(&h, 1) && is_default_of(&h, 2) && is_default_of(&h, 4) &&
            !is_default_of(&h, 3));
  release_hand(&h);
}

Test(contagion, chain_across_the_four_provinces, .fini = cleanup) {
  static const char *const prov[4] = {"shanghai", "jiangsu", "zhejiang", "anhui"};
  hand h = {0};
  h.pf = small_book(4, prov, 0.01);
  h.sc = scenario("contagion: {enabled: true}\n");
  /* A chain master in Shanghai; each edge carries weight 0.5 and every
   * latent value sits at -2.0, above c = -2.3263 by 0.33 < 0.5: each
   * default takes the next province down one round later. */
  edge links[] = {{0, 1, CAS_LINK_SUPPLY_CHAIN, 0.5, 0}, {1, 2, CAS_LINK_SUPPLY_CHAIN, 0.5, 0},
                  {2, 3, CAS_LINK_SUPPLY_CHAIN, 0.5, 0}};
  h.net = make_network(4, links, 3, h.pf);
  cr_expect_eq(h.net->cross_region_links, 3);
  double latent[4] = {-3.0, -2.0, -2.0, -2.0};
  uint32_t first[] = {0};
  run_hand(&h, latent, first, 1);
  cr_expect_eq(h.out.rounds, 3);
  for (int r = 0; r <= 3; r++) cr_expect_eq(h.by_round[r], 1, "round %d", r);
  /* The loss lands in each province's own segment: 2000, 3000, 4000 x 0.5. */
  int m = CAS_SECTOR_MANUFACTURING;
  cr_expect_float_eq(h.seg_loss[cas_segment(CAS_REGION_SHANGHAI, m)], 0.0, 0);
  cr_expect_float_eq(h.seg_loss[cas_segment(CAS_REGION_JIANGSU, m)], 1000.0, 1e-9);
  cr_expect_float_eq(h.seg_loss[cas_segment(CAS_REGION_ZHEJIANG, m)], 1500.0, 1e-9);
  cr_expect_float_eq(h.seg_loss[cas_segment(CAS_REGION_ANHUI, m)], 2000.0, 1e-9);
  release_hand(&h);
}

Test(contagion, guarantee_called_on_a_defaulted_guarantor_adds_its_amount, .fini = cleanup) {
  static const char *const sh[2] = {"shanghai", "jiangsu"};
  hand h = {0};
  h.pf = small_book(2, sh, 0.01);
  h.sc = scenario("contagion: {enabled: true, guarantee_scale: 2}\n");
  /* Both default in round 0; L0's guarantee on L1 (amount 300, scale 2) is
   * called on a guarantor already in default: 600 x LGD 0.5 = 300 of
   * contagion loss, no new default. */
  edge links[] = {{0, 1, CAS_LINK_GUARANTEE, 0.7, 300}};
  h.net = make_network(2, links, 1, h.pf);
  double latent[2] = {-3.0, -3.0};
  uint32_t first[] = {0, 1};
  run_hand(&h, latent, first, 2);
  cr_expect_eq(h.out.rounds, 0);
  cr_expect_eq(h.by_round[0], 2);
  cr_expect_eq(h.by_round[1], 0);
  cr_expect_float_eq(total(h.seg_loss), 300.0, 1e-9);
  /* ... booked to the guarantor's segment, though it defaulted in round 0
   * (its record was stamped by the kernel, not by a link). */
  cr_expect_float_eq(h.seg_loss[cas_segment(CAS_REGION_JIANGSU, CAS_SECTOR_MANUFACTURING)], 300.0,
                     1e-9);
  release_hand(&h);
}

Test(contagion, max_rounds_stops_a_long_chain, .fini = cleanup) {
  static const char *const sh[6] = {"shanghai", "shanghai", "shanghai", "shanghai", "shanghai",
                                    "shanghai"};
  hand h = {0};
  h.pf = small_book(6, sh, 0.01);
  h.sc = scenario("contagion: {enabled: true, max_rounds: 3}\n");
  edge links[5];
  for (uint32_t i = 0; i < 5; i++) links[i] = (edge){i, i + 1, CAS_LINK_SUPPLY_CHAIN, 1.0, 0};
  h.net = make_network(6, links, 5, h.pf);
  double latent[6] = {-3.0, -2.0, -2.0, -2.0, -2.0, -2.0};
  uint32_t first[] = {0};
  run_hand(&h, latent, first, 1);
  cr_expect_eq(h.out.rounds, 3);
  cr_expect_eq(h.out.truncated, 1);
  cr_expect(!is_default_of(&h, 4) && !is_default_of(&h, 5));
  release_hand(&h);
}

Test(contagion, spillover_moves_the_factor_by_beta_times_the_default_rate, .fini = cleanup) {
  static const char *const sh[3] = {"shanghai", "shanghai", "shanghai"};
  hand h = {0};
  h.pf = small_book(3, sh, 0.01);
  h.sc = scenario("contagion:\n  enabled: true\n  spillover:\n"
                  "    - {region: shanghai, sector: manufacturing, factor: global, beta: 10}\n");
  /* 1 of the segment's 3 loans defaults in round 0: the global factor moves
   * by -10/3 SD, the systematic term of manufacturing by 0.6 x -10/3 = -2.0.
   * L1: -0.5 - 2.0 = -2.5 < c: defaults (round 1); L2: 0.0 - 2.0: survives. */
  h.net = make_network(3, NULL, 0, h.pf);
  double latent[3] = {-3.0, -0.5, 0.0};
  uint32_t first[] = {0};
  run_hand(&h, latent, first, 1);
  cr_expect_eq(h.by_round[1], 1);
  cr_expect(is_default_of(&h, 1) && !is_default_of(&h, 2));
  cr_expect_float_eq(total(h.seg_loss), 1000.0, 1e-9);
  release_hand(&h);
}

/* --- properties on a random network over the built-in book ------------ */

typedef struct sim {
  cas_plan *plan;
  cas_contagion *c;
  cas_results *res;
} sim;

static cas_network *random_network(const cas_portfolio *pf, uint64_t nlinks, uint64_t seed) {
  edge *links = malloc(nlinks * sizeof *links);
  cr_assert_not_null(links);
  cas_rng rng;
  cas_rng_init(&rng, seed, CAS_RNG_TEST, 1);
  for (uint64_t e = 0; e < nlinks; e++) {
    uint32_t a = (uint32_t)cas_rng_below(&rng, pf->n), b;
    do b = (uint32_t)cas_rng_below(&rng, pf->n); while (b == a);
    int guarantee = cas_rng_uniform(&rng) < 0.3;
    links[e] = (edge){a, b, guarantee ? CAS_LINK_GUARANTEE : CAS_LINK_SUPPLY_CHAIN,
                      0.2 + 0.8 * cas_rng_uniform(&rng), guarantee ? 0.5 * pf->ead[a] : 0.0};
  }
  cas_network *net = make_network(pf->n, links, nlinks, pf);
  free(links);
  return net;
}

static sim simulate(cas_scenario *sc, const cas_portfolio *pf, const cas_network *net,
                    const cas_kernel *k) {
  sim s = {0};
  cas_error err = {0};
  cr_assert_eq(cas_plan_build(sc, pf, NULL, &s.plan, &err), CAS_OK, "%s", err.msg);
  if (sc->contagion.enabled)
    cr_assert_eq(cas_contagion_create(sc, s.plan, pf, net, &s.c, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_results_create(sc->paths, s.c ? sc->contagion.max_rounds + 1 : 0, &s.res, &err),
               CAS_OK);
  cas_kernel_options opt = {.threads = 2};
  cr_assert_eq(cas_kernel_run(k, s.plan, s.c, s.res, &opt, &err), CAS_OK, "%s", err.msg);
  return s;
}

static void release(sim *s) {
  cas_results_destroy(s->res);
  cas_contagion_destroy(s->c);
  cas_plan_destroy(s->plan);
}

static cas_scenario *book_scenario(uint64_t paths, const char *contagion) {
  char text[1024];
  snprintf(text, sizeof text,
           "name: t\nseed: 8\npaths: %llu\nportfolio: {builtin: yrd, loans: 20000, seed: 2}\n%s",
           (unsigned long long)paths, contagion);
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load_text(text, "/tmp/t.yaml", &sc, &err), CAS_OK, "%s", err.msg);
  return sc;
}

static void check_monotone(const cas_kernel *k) {
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(20000, 2, &pf, &err), CAS_OK);
  cas_network *net = random_network(pf, 60000, 3);
  cas_scenario *lo = book_scenario(300, "contagion: {enabled: true}\n");
  cas_scenario *hi = book_scenario(300, "contagion: {enabled: true, supply_chain_scale: 1.5, "
                                        "guarantee_scale: 1.5}\n");
  sim a = simulate(lo, pf, net, k), b = simulate(hi, pf, net, k);
  int more = 0;
  for (uint64_t p = 0; p < lo->paths; p++) {
    cr_assert_geq(b.res->loss[p], a.res->loss[p], "%s path %llu: %.17g < %.17g", k->info.name,
                  (unsigned long long)p, b.res->loss[p], a.res->loss[p]);
    cr_assert_geq(b.res->defaults[p], a.res->defaults[p]);
    more += b.res->loss[p] > a.res->loss[p];
  }
  cr_log_info("%s: larger weights raised the loss on %d of %llu paths", k->info.name, more,
              (unsigned long long)lo->paths);
  cr_assert_gt(more, 0, "the larger weights changed nothing: the test would be vacuous");
  release(&a);
  release(&b);
  cas_scenario_destroy(lo);
  cas_scenario_destroy(hi);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(contagion, larger_weights_never_lower_a_path_loss_dense) { check_monotone(&cas_kernel_dense); }
Test(contagion, larger_weights_never_lower_a_path_loss_sparse) { check_monotone(&cas_kernel_sparse); }

static void check_zero_scales(const cas_kernel *k) {
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(20000, 2, &pf, &err), CAS_OK);
  cas_network *net = random_network(pf, 60000, 4);
  cas_scenario *off = book_scenario(300, "");
  cas_scenario *zero = book_scenario(300, "contagion: {enabled: true, supply_chain_scale: 0, "
                                          "guarantee_scale: 0}\n");
  sim a = simulate(off, pf, net, k), b = simulate(zero, pf, net, k);
  uint64_t m = off->paths;
  cr_assert_eq(memcmp(a.res->loss, b.res->loss, m * sizeof(double)), 0, "%s: loss", k->info.name);
  cr_assert_eq(memcmp(a.res->loss_by_segment, b.res->loss_by_segment,
                      m * CAS_NSEGMENTS * sizeof(double)), 0);
  cr_assert_eq(memcmp(a.res->defaults, b.res->defaults, m * sizeof(int64_t)), 0);
  for (uint64_t p = 0; p < m; p++) cr_assert_eq(b.res->loss_contagion[p], 0.0);
  release(&a);
  release(&b);
  cas_scenario_destroy(off);
  cas_scenario_destroy(zero);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(contagion, zero_scales_reproduce_the_run_without_contagion_dense) {
  check_zero_scales(&cas_kernel_dense);
}
Test(contagion, zero_scales_reproduce_the_run_without_contagion_sparse) {
  check_zero_scales(&cas_kernel_sparse);
}

Test(contagion, dense_and_sparse_agree_with_contagion_on, .timeout = 300) {
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(20000, 2, &pf, &err), CAS_OK);
  cas_network *net = random_network(pf, 60000, 5);
  const char *cont = "contagion:\n  enabled: true\n  spillover:\n"
                     "    - {region: zhejiang, sector: inclusive_micro, factor: region.jiangsu, beta: 20}\n"
                     "    - {region: shanghai, sector: manufacturing, factor: global, beta: 10}\n";
  cas_scenario *sd = book_scenario(4000, cont), *ss = book_scenario(4000, cont);
  sd->seed = 1001;
  ss->seed = 2002;
  sim d = simulate(sd, pf, net, &cas_kernel_dense), s = simulate(ss, pf, net, &cas_kernel_sparse);
  cas_summary a, b;
  cr_assert_eq(cas_summary_compute(sd->paths, d.res->loss, NULL, d.res->defaults, &a, &err), CAS_OK);
  cr_assert_eq(cas_summary_compute(ss->paths, s.res->loss, NULL, s.res->defaults, &b, &err), CAS_OK);
  double ca = 0, cb = 0;
  for (uint64_t p = 0; p < sd->paths; p++) {
    ca += d.res->loss_contagion[p];
    cb += s.res->loss_contagion[p];
  }
  cr_log_info("EL dense %.6g sparse %.6g (4 SE %.3g); contagion share dense %.3f sparse %.3f",
              a.el, b.el, 4 * hypot(a.el_se, b.el_se), ca / (a.el * sd->paths),
              cb / (b.el * ss->paths));
  cr_assert_gt(ca, 0.0, "no contagion loss: the comparison would not test the cascade");
  cr_expect_leq(fabs(a.el - b.el), 4 * hypot(a.el_se, b.el_se));
  cr_expect_leq(fabs(a.sd - b.sd), 4 * hypot(a.sd_se, b.sd_se));
  for (int l = 1; l < CAS_NLEVELS; l++)
    cr_expect_leq(fabs(a.var[l] - b.var[l]), 4 * hypot(a.var_se[l], b.var_se[l]),
                  "VaR %g: dense %g sparse %g", cas_levels[l], a.var[l], b.var[l]);
  double ks = ks_statistic(d.res->loss, sd->paths, s.res->loss, sd->paths);
  double crit = 2.225 * sqrt(2.0 / (double)sd->paths);
  cr_log_info("KS %.4f, critical %.4f", ks, crit);
  cr_expect_lt(ks, crit);
  double ks_c = ks_statistic(d.res->loss_contagion, sd->paths, s.res->loss_contagion, sd->paths);
  cr_log_info("KS on the contagion loss %.4f", ks_c);
  cr_expect_lt(ks_c, crit);
  release(&d);
  release(&s);
  cas_scenario_destroy(sd);
  cas_scenario_destroy(ss);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

/* --- the cascade against a direct implementation ------------------------
 *
 * The same cascade written the obvious way: arrays the size of the book,
 * each round's hits added up per loan in frontier order, then every hit
 * survivor checked in increasing position. On the built-in book (20,000
 * loans, hundreds of PD buckets) with 3 random links per loan and a bad
 * systematic state, so that cascades run for several rounds and rounds
 * have thousands of hits (the grouping by block, the galloping lookups
 * and the merges of the touched lists all run). Both sides see the same
 * round-0 defaults; with eps known (dense) a survivor defaults when
 * b eps - shift < c; without (sparse), from its keyed uniform and its law
 * given survival, by the exact test without any squeeze. */
typedef struct direct_link {
  uint32_t target;
  int guarantee;
  double weight, amount_loss;
} direct_link;

static void check_against_direct(int eps_known) {
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(20000, 2, &pf, &err), CAS_OK);
  cas_network *net = random_network(pf, 60000, 41);
  cas_scenario *sc = book_scenario(100, "contagion: {enabled: true, max_rounds: 50}\n");
  cas_plan *plan = NULL;
  cas_contagion *c = NULL;
  cr_assert_eq(cas_plan_build(sc, pf, NULL, &plan, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_contagion_create(sc, plan, pf, net, &c, &err), CAS_OK, "%s", err.msg);
  size_t n = pf->n;
  uint32_t *pos = malloc(n * sizeof *pos);
  int *seg = malloc(n * sizeof *seg);
  cr_assert(pos && seg);
  for (size_t k = 0; k < n; k++) pos[plan->loan_index[k]] = (uint32_t)k;
  for (size_t i = 0; i < n; i++) seg[pos[i]] = cas_segment(pf->region[i], pf->sector[i]);
  /* links by source position, in network order */
  size_t *first = calloc(n + 1, sizeof *first);
  direct_link *links = malloc(net->nlinks * sizeof *links);
  cr_assert(first && links);
  for (size_t i = 0; i < n; i++) first[pos[i] + 1] = net->offset[i + 1] - net->offset[i];
  for (size_t k = 0; k < n; k++) first[k + 1] += first[k];
  for (size_t i = 0; i < n; i++) {
    size_t at = first[pos[i]];
    for (uint64_t e = net->offset[i]; e < net->offset[i + 1]; e++) {
      int g = net->type[e] == CAS_LINK_GUARANTEE;
      uint32_t v = net->target[e];
      double scale = g ? sc->contagion.guarantee_scale : sc->contagion.supply_chain_scale;
      double lgd = fmin(fmax(pf->lgd[v] + plan->seg_lgd_add[seg[pos[v]]], 0.0), 1.0);
      links[at++] = (direct_link){pos[v], g, net->weight[e] * scale,
                                  g ? net->amount[e] * sc->contagion.guarantee_scale * lgd : 0.0};
    }
  }
  cas_cascade_ws *ws = NULL;
  cr_assert_eq(cas_cascade_ws_create(n, eps_known, &ws, &err), CAS_OK);
  double *eps = malloc(n * sizeof *eps), *shift = malloc(n * sizeof *shift);
  double *hits = malloc(n * sizeof *hits), *called = malloc(n * sizeof *called);
  char *dead = malloc(n), *hit = malloc(n);
  uint32_t *order = malloc(n * sizeof *order);
  cr_assert(eps && shift && hits && called && dead && hit && order);
  double sys[CAS_NSEGMENTS];
  int deep = 0;
  for (uint64_t path = 0; path < 6; path++) {
    for (int s = 0; s < CAS_NSEGMENTS; s++) sys[s] = -1.2 - 0.1 * (double)path;
    cas_rng rng;
    cas_rng_init(&rng, 77, CAS_RNG_TEST, path);
    cas_cascade_begin(ws);
    size_t nd = 0;
    for (size_t k = 0; k < n; k++) {
      eps[k] = cas_rng_normal(&rng);
      if (eps_known) ws->eps[k] = eps[k];
      shift[k] = hits[k] = called[k] = 0.0;
      hit[k] = 0;
      dead[k] = sys[seg[k]] + plan->idio[seg[k]] * eps[k] < plan->loans[k].threshold;
      if (dead[k]) {
        order[nd++] = (uint32_t)k;
        cas_cascade_default0(ws, (uint32_t)k);
      }
    }
    double seg_loss[CAS_NSEGMENTS];
    int32_t by_round[51];
    cas_cascade_out out = {.seg_loss = seg_loss, .by_round = by_round};
    cas_cascade_run(c, plan, ws, path, sys, 1.0, NULL, &out);

    /* the direct cascade */
    int32_t want[51] = {(int32_t)nd};
    size_t f0 = 0, f1 = nd, n0 = nd;
    int rounds = 0;
    for (int r = 1; r <= 50 && f1 > f0; r++) {
      for (size_t d = f0; d < f1; d++)
        for (size_t e = first[order[d]]; e < first[order[d] + 1]; e++) {
          const direct_link *l = &links[e];
          if (l->guarantee) called[l->target] += l->amount_loss;
          if (dead[l->target] || l->weight == 0.0) continue;
          hits[l->target] = hit[l->target] ? hits[l->target] + l->weight : l->weight;
          hit[l->target] = 1;
        }
      size_t before = nd;
      for (size_t k = 0; k < n; k++) {
        if (!hit[k]) continue;
        hit[k] = 0;
        if (dead[k]) continue;
        shift[k] += hits[k];
        int s = seg[k];
        double w = plan->idio[s], th = plan->loans[k].threshold, dies;
        if (eps_known) {
          dies = sys[s] + w * eps[k] - shift[k] < th;
        } else {
          double t = (th - sys[s]) / w, t2 = (th + shift[k] - sys[s]) / w;
          double u = cas_rng_keyed_uniform(plan->seed, CAS_RNG_CONTAGION, path, k);
          dies = t2 > t && u * cas_norm_cdf(-t) > cas_norm_cdf(-t2);
        }
        if (dies) {
          dead[k] = 1;
          order[nd++] = (uint32_t)k;
        }
      }
      want[r] = (int32_t)(nd - before);
      if (nd > before) rounds = r;
      f0 = f1;
      f1 = nd;
    }
    double loss = 0.0, got = 0.0;
    for (size_t d = n0; d < nd; d++) loss += plan->loans[order[d]].loss;
    for (size_t k = 0; k < n; k++)
      if (dead[k]) loss += called[k];
    for (int s = 0; s < CAS_NSEGMENTS; s++) got += seg_loss[s];

    cr_assert_eq(out.rounds, rounds, "path %llu: %d rounds, direct %d", (unsigned long long)path,
                 out.rounds, rounds);
    for (int r = 0; r <= rounds + 1 && r <= 50; r++)
      cr_assert_eq(by_round[r], want[r], "path %llu round %d: %d defaults, direct %d",
                   (unsigned long long)path, r, by_round[r], want[r]);
    for (size_t k = 0; k < n; k++)
      cr_assert_eq(cas_cascade_is_defaulted(ws, (uint32_t)k), dead[k], "path %llu position %zu",
                   (unsigned long long)path, k);
    cr_assert(fabs(got - loss) <= 1e-9 * loss, "path %llu: contagion loss %.17g, direct %.17g",
              (unsigned long long)path, got, loss);
    if (rounds >= 3 && nd - n0 > 500) deep++;
  }
  cr_assert(deep >= 3, "only %d of 6 paths had a cascade of 3+ rounds and 500+ defaults", deep);
  free(eps); free(shift); free(hits); free(called); free(dead); free(hit); free(order);
  free(first); free(links); free(pos); free(seg);
  cas_cascade_ws_destroy(ws);
  cas_contagion_destroy(c);
  cas_plan_destroy(plan);
  cas_scenario_destroy(sc);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(contagion, cascade_matches_a_direct_implementation_eps_known) { check_against_direct(1); }
Test(contagion, cascade_matches_a_direct_implementation_sparse) { check_against_direct(0); }
