/*
 * test_contagion.c: the cascade (models/contagion/contagion.c).
 *
 * Hand-worked graphs: a portfolio of a few loans, every loan with PD 1%
 * (threshold c = Phi^-1(0.01) = -2.3263), loadings {global 0.6} so the
 * idiosyncratic weight is b = 0.8; the systematic term is set to 0 and each
 * loan's idiosyncratic value eps chosen, so its latent variable is
 * X = 0.8 eps. Which loans default in which round then follows by hand from
 * X - (sum of weights of defaulted neighbours) < c; comments give the
 * arithmetic.
 *
 * Guarantees worked by hand: double defaults in round 0 (factor loss), a
 * guarantor that survives and pays, covers cut to the EAD and lost at each
 * guarantor's LGD, guarantors and borrowers broken by the cascade.
 *
 * Properties on random graphs: larger weights never lower any path's loss
 * (each loan keeps its draw, and the cascade is monotone in the shifts);
 * contagion with scales of 0 reproduces the run without contagion bit for
 * bit (guarantees booked in both); the dense and sparse kernels agree in
 * distribution with contagion and spill-over on (4 combined standard
 * errors and a two-sample KS test at level 1e-4, fixed seeds); the cascade
 * equals a direct implementation path by path; on the built-in network no
 * guaranteed loan books more than its EAD x the largest LGD involved.
 */
#include <criterion/criterion.h>

#include "timeout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contagion.h"
#include "kernel.h"
#include "ksum.h"
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

/* A row of a hand-made book: manufacturing loans, PD 1%. */
typedef struct row {
  const char *region;
  double ead, lgd;
} row;

/* Writes a CSV of loans (manufacturing, PD pd) and loads it. */
static cas_portfolio *book_of(size_t n, const row *rows, double pd) {
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
    fprintf(f, "L%zu,%s,manufacturing,%.17g,%.17g,%.17g\n", i, rows[i].region, rows[i].ead, pd,
            rows[i].lgd);
  fclose(f);
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(load_csv_yrd(path, &pf, &err), CAS_OK, "%s", err.msg);
  return pf;
}

/* Loans in the given regions, EAD 1000 * (i+1), LGD 0.5. */
static cas_portfolio *small_book(size_t n, const char *const *regions, double pd) {
  row rows[16];
  cr_assert(n <= 16);
  for (size_t i = 0; i < n; i++) rows[i] = (row){regions[i], 1000.0 * (double)(i + 1), 0.5};
  return book_of(n, rows, pd);
}

static cas_scenario *scenario(const char *extra) {
  char text[1024];
  snprintf(text, sizeof text,
           "name: t\npaths: 100\nportfolio: {builtin: yrd, loans: 10}\nnetwork: {builtin: yrd}\n"
           "model:\n  loadings:\n    manufacturing: {global: 0.6, region: 0, sector: 0}\n%s",
           extra);
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load_text(text, "/tmp/t.yaml", &sc, &err), CAS_OK, "%s", err.msg);
  return sc;
}

/* Runs the guarantees and the cascade of one path with chosen eps
 * (X = 0.8 eps) and the given round-0 defaults. factor_loss holds what the
 * guarantee accounting adds to the factor loss (the kernel's own part, the
 * plan's loss of each round-0 default, is not in it). */
typedef struct hand {
  cas_portfolio *pf;
  cas_scenario *sc;
  cas_plan *plan;
  cas_network *net;
  double guaranteed[16];
  cas_contagion *c;
  cas_cascade_ws *ws;
  double seg_loss[CAS_YRD_NSEGMENTS], factor_loss[CAS_YRD_NSEGMENTS];
  int32_t seg_defaults[CAS_YRD_NSEGMENTS];
  int32_t by_round[51];
  uint32_t pos[16];         /* plan position of portfolio loan i */
  cas_cascade_out out;
} hand;

static void run_hand(hand *h, const double *latent, const uint32_t *first, size_t nfirst) {
  cas_error err = {0};
  cr_assert(h->pf->n <= 16);
  cas_network_guaranteed(h->net, h->guaranteed);
  cas_plan_options opt = {.grades_per_decade = CAS_PLAN_DEFAULT_GRADES,
                          .guaranteed = h->guaranteed};
  cr_assert_eq(cas_plan_build(h->sc, h->pf, &opt, &h->plan, &err), CAS_OK, "%s", err.msg);
  cr_assert_float_eq(h->plan->idio[YRD_SEG(CAS_REGION_SHANGHAI, CAS_SECTOR_MANUFACTURING)],
                     0.8, 1e-15);
  cr_assert_eq(cas_contagion_create(h->sc, h->plan, h->pf, h->net, &h->c, &err), CAS_OK, "%s",
               err.msg);
  cr_assert_eq(cas_cascade_ws_create(h->plan, 1, h->c->max_rounds, &h->ws, &err), CAS_OK);
  /* as the engine does: round 0's borrowers with calls listed as they default */
  if (h->c->ncalls) cr_assert_eq(cas_cascade_watch_calls(h->ws, h->c, &err), CAS_OK, "%s", err.msg);
  /* The workspace is indexed by plan position. */
  for (size_t k = 0; k < h->pf->n; k++) h->pos[h->plan->loan_index[k]] = (uint32_t)k;
  cas_cascade_begin(h->ws);
  for (size_t i = 0; i < h->pf->n; i++) h->ws->eps[h->pos[i]] = latent[i] / 0.8;
  for (size_t k = 0; k < nfirst; k++) {
    uint32_t i = first[k];
    cas_cascade_default0(h->ws, h->pos[i]);
  }
  double sys[CAS_YRD_NSEGMENTS] = {0};
  int cascade = h->c->max_rounds > 0;
  h->out = (cas_cascade_out){.factor_seg_loss = h->factor_loss,
                             .seg_loss = cascade ? h->seg_loss : NULL,
                             .seg_defaults = h->seg_defaults,
                             .by_round = cascade ? h->by_round : NULL};
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

/* The plan's loss of portfolio loan i: its uncovered part x LGD. */
static double plan_loss(const hand *h, uint32_t i) { return h->plan->loans[h->pos[i]].loss; }

static double total(const double *seg) {
  double t = 0;
  for (int s = 0; s < CAS_YRD_NSEGMENTS; s++) t += seg[s];
  return t;
}

static const int MANUF = CAS_SECTOR_MANUFACTURING;

Test(contagion, hand_worked_supply_chain_and_guarantees, .fini = cleanup) {
  static const char *const sh[5] = {"shanghai", "shanghai", "shanghai", "shanghai", "shanghai"};
  hand h = {0};
  h.pf = small_book(5, sh, 0.01);
  h.sc = scenario("contagion: {enabled: true}\n");
  /* c = -2.3263. Latent values X (the loan defaults when X - shift < c):
   *   L0 -3.0 (defaults in round 0, given), L1 -1.5, L2 -1.0, L3 0.0, L4 -1.5.
   * EAD 1000 (i+1), LGD 0.5.
   * Links: L0 -> L1 supply 1.0; L0 -> L2 supply 0.5; L1 -> L2 supply 1.0;
   *        L2 -> L3 guarantee (w 0.2, amount 100); L1 -> L4 guarantee (w 0.9, amount 50).
   * Round 1 (L0 spreads): L1 -1.5-1.0 = -2.5 < c: defaults; L2 -1.0-0.5 = -1.5: survives.
   * Round 2 (L1 spreads): L2 -1.5-1.0 = -2.5: defaults; L4 -1.5-0.9 = -2.4: defaults.
   * Round 3 (L2 and L4 spread): L3 0.0-0.2 = -0.2: survives, and pays L2's guarantee.
   * Contagion loss: L1 uncovered (2000-50) x 0.5 = 975, L2 uncovered (3000-100) x 0.5
   * = 1450, L4 5000 x 0.5 = 2500, and L1's covered 50 lost through L4 at L4's LGD:
   * 25. In all 4950, of which 25 double default. */
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
  cr_expect_float_eq(plan_loss(&h, 1), 975.0, 1e-9);
  cr_expect_float_eq(plan_loss(&h, 2), 1450.0, 1e-9);
  cr_expect_float_eq(total(h.seg_loss), 4950.0, 1e-9, "contagion loss %g", total(h.seg_loss));
  cr_expect_float_eq(h.out.double_default, 25.0, 1e-9);
  cr_expect_float_eq(total(h.factor_loss), 0.0, 0);
  cr_expect_eq(h.seg_defaults[YRD_SEG(CAS_REGION_SHANGHAI, MANUF)], 3);
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
  cr_expect_float_eq(h.seg_loss[YRD_SEG(CAS_REGION_SHANGHAI, MANUF)], 0.0, 0);
  cr_expect_float_eq(h.seg_loss[YRD_SEG(CAS_REGION_JIANGSU, MANUF)], 1000.0, 1e-9);
  cr_expect_float_eq(h.seg_loss[YRD_SEG(CAS_REGION_ZHEJIANG, MANUF)], 1500.0, 1e-9);
  cr_expect_float_eq(h.seg_loss[YRD_SEG(CAS_REGION_ANHUI, MANUF)], 2000.0, 1e-9);
  release_hand(&h);
}

/* --- guarantees, worked by hand (double default) ------------------------ */

Test(guarantees, double_default_in_round_0_is_factor_loss_in_the_guarantors_segment,
     .fini = cleanup) {
  static const char *const reg[2] = {"shanghai", "jiangsu"};
  hand h = {0};
  h.pf = small_book(2, reg, 0.01);
  h.sc = scenario("contagion: {enabled: true}\n");
  /* L0 (EAD 1000, LGD 0.5) guaranteed by L1 for 300. Both default in round
   * 0: L0 loses its uncovered 700 x 0.5 = 350 (the plan's loss, booked by
   * the kernel), and the covered 300 at the guarantor's LGD 0.5 = 150,
   * factor loss in L1's segment (Jiangsu): nothing is contagion. */
  edge links[] = {{0, 1, CAS_LINK_GUARANTEE, 0.7, 300}};
  h.net = make_network(2, links, 1, h.pf);
  double latent[2] = {-3.0, -3.0};
  uint32_t first[] = {0, 1};
  run_hand(&h, latent, first, 2);
  cr_expect_float_eq(plan_loss(&h, 0), 350.0, 1e-9);
  cr_expect_float_eq(plan_loss(&h, 1), 1000.0, 1e-9);
  cr_expect_eq(h.out.rounds, 0);
  cr_expect_eq(h.by_round[0], 2);
  cr_expect_eq(h.by_round[1], 0);
  cr_expect_float_eq(total(h.seg_loss), 0.0, 0, "no contagion loss");
  cr_expect_float_eq(h.factor_loss[YRD_SEG(CAS_REGION_JIANGSU, MANUF)], 150.0, 1e-9);
  cr_expect_float_eq(total(h.factor_loss), 150.0, 1e-9);
  cr_expect_float_eq(h.out.double_default, 150.0, 1e-9);
  release_hand(&h);
}

Test(guarantees, a_surviving_guarantor_pays, .fini = cleanup) {
  static const char *const reg[2] = {"shanghai", "shanghai"};
  for (int on = 0; on <= 1; on++) {
    hand h = {0};
    h.pf = small_book(2, reg, 0.01);
    h.sc = scenario(on ? "contagion: {enabled: true}\n" : "");
    /* L0 (EAD 1000) guaranteed by L1 for 400, weight 0.5: L0 defaults,
     * L1 (X = 0.0, 0.5 after the call) survives and pays. The bank loses
     * only the uncovered 600 x 0.5 = 300, with contagion on or off. */
    edge links[] = {{0, 1, CAS_LINK_GUARANTEE, 0.5, 400}};
    h.net = make_network(2, links, 1, h.pf);
    double latent[2] = {-3.0, 0.0};
    uint32_t first[] = {0};
    run_hand(&h, latent, first, 1);
    cr_expect_eq(h.c->max_rounds, on ? 50u : 0u);
    cr_expect_float_eq(plan_loss(&h, 0), 300.0, 1e-9);
    cr_expect_float_eq(total(h.factor_loss), 0.0, 0);
    if (on) cr_expect_float_eq(total(h.seg_loss), 0.0, 0);
    cr_expect_float_eq(h.out.double_default, 0.0, 0);
    cr_expect(!is_default_of(&h, 1));
    release_hand(&h);
  }
}

Test(guarantees, amounts_beyond_the_ead_are_cut_and_lost_at_each_guarantors_lgd, .fini = cleanup) {
  /* L0: EAD 1000, LGD 0.6, guaranteed by L1 for 800 (LGD 0.3) and by L2
   * for 700 (LGD 0.9). 1500 > 1000: each cover is cut by 1000/1500, to
   * 533.33 and 466.67; nothing is uncovered. */
  row rows[3] = {{"shanghai", 1000, 0.6}, {"jiangsu", 5000, 0.3}, {"zhejiang", 5000, 0.9}};
  edge links[] = {{0, 1, CAS_LINK_GUARANTEE, 0.0, 800}, {0, 2, CAS_LINK_GUARANTEE, 0.0, 700}};
  double latent[3] = {-3.0, -3.0, -3.0};
  /* (a) L0 and L1 default, L2 pays: 800 x 2/3 x 0.3 = 160.
   * (b) all three default: 160 + 700 x 2/3 x 0.9 = 580, never more than
   *     EAD x the largest LGD, 1000 x 0.9 = 900. */
  for (int all = 0; all <= 1; all++) {
    hand h = {0};
    h.pf = book_of(3, rows, 0.01);
    h.sc = scenario("");
    h.net = make_network(3, links, 2, h.pf);
    uint32_t first[] = {0, 1, 2};
    run_hand(&h, latent, first, all ? 3 : 2);
    cr_expect_float_eq(h.guaranteed[0], 1500.0, 0);
    cr_expect_float_eq(plan_loss(&h, 0), 0.0, 0, "fully covered");
    cr_expect_float_eq(h.c->guaranteed_ead, 1000.0, 1e-9);
    double want = all ? 580.0 : 160.0;
    cr_expect_float_eq(total(h.factor_loss), want, 1e-9, "got %.17g", total(h.factor_loss));
    cr_expect_float_eq(h.factor_loss[YRD_SEG(CAS_REGION_JIANGSU, MANUF)], 160.0, 1e-9);
    cr_expect_leq(plan_loss(&h, 0) + total(h.factor_loss), 1000.0 * 0.9);
    release_hand(&h);
  }
}

Test(guarantees, a_guarantor_broken_by_the_call_loses_the_covered_part_as_contagion,
     .fini = cleanup) {
  static const char *const reg[2] = {"shanghai", "jiangsu"};
  hand h = {0};
  h.pf = small_book(2, reg, 0.01);
  h.sc = scenario("contagion: {enabled: true}\n");
  /* L0 (EAD 1000) defaults in round 0; its guarantee (400, weight 0.9)
   * takes L1 (X = -1.5) to -2.4 < c: L1 defaults in round 1. Factor loss:
   * L0's uncovered 600 x 0.5 (the kernel's). Contagion: L1's own 2000 x 0.5
   * = 1000 and the covered 400 x 0.5 = 200. */
  edge links[] = {{0, 1, CAS_LINK_GUARANTEE, 0.9, 400}};
  h.net = make_network(2, links, 1, h.pf);
  double latent[2] = {-3.0, -1.5};
  uint32_t first[] = {0};
  run_hand(&h, latent, first, 1);
  cr_expect_eq(h.out.rounds, 1);
  cr_expect_float_eq(plan_loss(&h, 0), 300.0, 1e-9);
  cr_expect_float_eq(total(h.factor_loss), 0.0, 0);
  cr_expect_float_eq(h.seg_loss[YRD_SEG(CAS_REGION_JIANGSU, MANUF)], 1200.0, 1e-9);
  cr_expect_float_eq(total(h.seg_loss), 1200.0, 1e-9);
  cr_expect_float_eq(h.out.double_default, 200.0, 1e-9);
  release_hand(&h);
}

Test(guarantees, a_borrower_broken_by_the_cascade_costs_its_defaulted_guarantor_too,
     .fini = cleanup) {
  static const char *const reg[2] = {"shanghai", "shanghai"};
  hand h = {0};
  h.pf = small_book(2, reg, 0.01);
  h.sc = scenario("contagion: {enabled: true}\n");
  /* L0 (EAD 1000, the guarantor) defaults in round 0 and hits its supplier
   * L1 (EAD 2000, X = -2.0) by 1.0: L1 defaults in round 1. L1's guarantee
   * from L0 (500) is lost at L0's LGD: 250, contagion (L1 did not default
   * by itself), besides L1's uncovered (2000 - 500) x 0.5 = 750. */
  edge links[] = {{0, 1, CAS_LINK_SUPPLY_CHAIN, 1.0, 0}, {1, 0, CAS_LINK_GUARANTEE, 0.0, 500}};
  h.net = make_network(2, links, 2, h.pf);
  double latent[2] = {-3.0, -2.0};
  uint32_t first[] = {0};
  run_hand(&h, latent, first, 1);
  cr_expect_eq(h.out.rounds, 1);
  cr_expect_float_eq(total(h.factor_loss), 0.0, 0);
  cr_expect_float_eq(total(h.seg_loss), 1000.0, 1e-9, "got %.17g", total(h.seg_loss));
  cr_expect_float_eq(h.out.double_default, 250.0, 1e-9);
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
   * L1: -0.5 - 2.0 = -2.5 < c: defaults (round 1). Round 2: 2 of 3, a move
   * of -4.0: L2 0.8 - 4.0 = -3.2 defaults too. */
  h.net = make_network(3, NULL, 0, h.pf);
  double latent[3] = {-3.0, -0.5, 0.8};
  uint32_t first[] = {0};
  run_hand(&h, latent, first, 1);
  cr_expect_eq(h.by_round[1], 1);
  cr_expect_eq(h.by_round[2], 1);
  cr_expect_eq(h.out.rounds, 2);
  cr_expect(is_default_of(&h, 1) && is_default_of(&h, 2));
  cr_expect_float_eq(total(h.seg_loss), 1000.0 + 1500.0, 1e-9);
  release_hand(&h);
}

Test(contagion, spillover_feeds_back_every_round_and_adds_to_network_hits, .fini = cleanup) {
  static const char *const sh[4] = {"shanghai", "shanghai", "shanghai", "shanghai"};
  hand h = {0};
  h.pf = small_book(4, sh, 0.01);
  h.sc = scenario("contagion:\n  enabled: true\n  spillover:\n"
                  "    - {region: shanghai, sector: manufacturing, factor: global, beta: 10}\n");
  /* 4 loans in one segment, loading 0.6: k defaults move the term by
   * -0.6 x 10 x k/4 = -1.5 k. c = -2.3263.
   * Round 1 (1 default, -1.5): L1 -1.0 - 1.5 = -2.5: defaults.
   * Round 2 (2 defaults, -3.0): L2 -0.5 - 3.0 = -3.5: defaults. Spill-over
   *   computed once, after round 0, would stop here.
   * Round 3 (3 defaults, -4.5): L3 2.5 - 4.5 = -2.0 survives the spill-over,
   *   then the link L2 -> L3 (0.5) takes it to -2.5: defaults. */
  edge links[] = {{2, 3, CAS_LINK_SUPPLY_CHAIN, 0.5, 0}};
  h.net = make_network(4, links, 1, h.pf);
  double latent[4] = {-3.0, -1.0, -0.5, 2.5};
  uint32_t first[] = {0};
  run_hand(&h, latent, first, 1);
  for (int r = 0; r <= 3; r++) cr_expect_eq(h.by_round[r], 1, "round %d: %d", r, h.by_round[r]);
  cr_expect_eq(h.out.rounds, 3);
  cr_expect(is_default_of(&h, 3));
  release_hand(&h);
}

/* --- properties on a random network over the built-in book ------------ */

typedef struct sim {
  cas_plan *plan;
  cas_contagion *c;
  cas_results *res;
  double *guaranteed;
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

/* The plan and the network model of sc on pf and net, the network's
 * guarantees booked, as the engine builds them (no kernel, no results). */
static sim plan_and_model(cas_scenario *sc, const cas_portfolio *pf,
                          const cas_network *net) {
  sim s = {0};
  cas_error err = {0};
  s.guaranteed = malloc(pf->n * sizeof *s.guaranteed);
  cr_assert_not_null(s.guaranteed);
  cas_network_guaranteed(net, s.guaranteed);
  cas_plan_options opt = {.grades_per_decade = CAS_PLAN_DEFAULT_GRADES, .guaranteed = s.guaranteed};
  cr_assert_eq(cas_plan_build(sc, pf, &opt, &s.plan, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_contagion_create(sc, s.plan, pf, net, &s.c, &err), CAS_OK, "%s", err.msg);
  return s;
}

/* A run of the kernel k on the book with the network (guarantees booked;
 * the cascade if the scenario has contagion on). */
static sim simulate(cas_scenario *sc, const cas_portfolio *pf, const cas_network *net,
                    const cas_kernel *k) {
  sim s = plan_and_model(sc, pf, net);
  cas_error err = {0};
  uint32_t rounds = s.c->max_rounds ? s.c->max_rounds + 1 : 0;
  cr_assert_eq(cas_results_create(sc->paths, rounds, s.c->ncalls > 0, &s.res, &err), CAS_OK);
  cas_kernel_options kopt = {.threads = 2};
  cr_assert_eq(cas_kernel_run(k, s.plan, s.c, s.res, &kopt, &err), CAS_OK, "%s", err.msg);
  return s;
}

static void release(sim *s) {
  cas_results_destroy(s->res);
  cas_contagion_destroy(s->c);
  cas_plan_destroy(s->plan);
  free(s->guaranteed);
}

static cas_scenario *book_scenario(uint64_t paths, const char *contagion) {
  char text[1024];
  snprintf(text, sizeof text,
           "name: t\nseed: 8\npaths: %llu\nportfolio: {builtin: yrd, loans: 20000, seed: 2}\n"
           "network: {builtin: yrd}\n%s",
           (unsigned long long)paths, contagion);
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load_text(text, "/tmp/t.yaml", &sc, &err), CAS_OK, "%s", err.msg);
  return sc;
}

/* Path by path: the dense kernel keeps every loan's eps, and the sparse
 * kernel draws the eps of the survivors the network touches by keys, so
 * both are monotone in the weights. The sparse kernel's spill-over passes
 * draw from the path's stream, and how much they draw depends on how far
 * the default rates moved, so with spill-over it is monotone in
 * distribution only: it is checked here without. */
static void check_monotone(const cas_kernel *k, int with_spillover) {
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(20000, 2, &pf, &err), CAS_OK);
  cas_network *net = random_network(pf, 60000, 3);
  const char *spill = with_spillover
                          ? "  spillover:\n"
                            "    - {region: zhejiang, sector: inclusive_micro, factor: global, beta: 5}\n"
                          : "";
  char lo_text[512], hi_text[512];
  snprintf(lo_text, sizeof lo_text, "contagion:\n  enabled: true\n%s", spill);
  snprintf(hi_text, sizeof hi_text,
           "contagion:\n  enabled: true\n  supply_chain_scale: 1.5\n  guarantee_scale: 1.5\n%s",
           spill);
  cas_scenario *lo = book_scenario(300, lo_text), *hi = book_scenario(300, hi_text);
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

Test(contagion, larger_weights_never_lower_a_path_loss_dense) {
  check_monotone(&cas_kernel_dense, 1);
}
Test(contagion, larger_weights_never_lower_a_path_loss_sparse) {
  check_monotone(&cas_kernel_sparse, 0);
}

/* Contagion off (the network's guarantees still booked) against contagion
 * on with every weight 0 and no spill-over: the same bytes. */
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
  cr_assert_eq(a.c->max_rounds, 0u);
  cr_assert_eq(memcmp(a.res->loss, b.res->loss, m * sizeof(double)), 0, "%s: loss", k->info.name);
  cr_assert_eq(memcmp(a.res->loss_by_segment, b.res->loss_by_segment,
                      m * CAS_YRD_NSEGMENTS * sizeof(double)), 0);
  cr_assert_eq(memcmp(a.res->defaults, b.res->defaults, m * sizeof(int64_t)), 0);
  cr_assert_eq(memcmp(a.res->defaults_by_segment, b.res->defaults_by_segment,
                      m * CAS_YRD_NSEGMENTS * sizeof(int32_t)), 0);
  cr_assert_eq(memcmp(a.res->loss_double_default, b.res->loss_double_default, m * sizeof(double)),
               0);
  double dd = 0.0;
  for (uint64_t p = 0; p < m; p++) {
    cr_assert_eq(b.res->loss_contagion[p], 0.0);
    dd += a.res->loss_double_default[p];
  }
  cr_assert_gt(dd, 0.0, "no double default: the guarantees were not exercised");
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

Test(contagion, dense_and_sparse_agree_with_contagion_on, .timeout = CAS_TEST_TIMEOUT(300)) {
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(20000, 2, &pf, &err), CAS_OK);
  cas_network *net = random_network(pf, 60000, 5);
  const char *cont = "contagion:\n  enabled: true\n  spillover:\n"
                     "    - {region: zhejiang, sector: inclusive_micro, factor: region.jiangsu, beta: 4}\n"
                     "    - {region: shanghai, sector: manufacturing, factor: global, beta: 3}\n";
  cas_scenario *sd = book_scenario(4000, cont), *ss = book_scenario(4000, cont);
  sd->seed = 1001;
  ss->seed = 2002;
  sim d = simulate(sd, pf, net, &cas_kernel_dense), s = simulate(ss, pf, net, &cas_kernel_sparse);
  cas_summary a, b;
  cr_assert_eq(cas_summary_compute(sd->paths, d.res->loss, NULL, d.res->defaults, &a, &err), CAS_OK);
  cr_assert_eq(cas_summary_compute(ss->paths, s.res->loss, NULL, s.res->defaults, &b, &err), CAS_OK);
  double ca = 0, cb = 0;
  int32_t rounds_d = 0, rounds_s = 0;
  for (uint64_t p = 0; p < sd->paths; p++) {
    ca += d.res->loss_contagion[p];
    cb += s.res->loss_contagion[p];
    /* spill-over in round 2 or later: the feedback the test must cover */
    rounds_d += d.res->defaults_by_round[p * d.res->rounds_cap + 2] > 0;
    rounds_s += s.res->defaults_by_round[p * s.res->rounds_cap + 2] > 0;
  }
  cr_log_info("EL dense %.6g sparse %.6g (4 SE %.3g); contagion share dense %.3f sparse %.3f; "
              "paths with round-2 defaults %d / %d",
              a.el, b.el, 4 * hypot(a.el_se, b.el_se), ca / (a.el * sd->paths),
              cb / (b.el * ss->paths), rounds_d, rounds_s);
  cr_assert_gt(ca, 0.0, "no contagion loss: the comparison would not test the cascade");
  cr_assert_gt(rounds_d, 100, "few cascades reach round 2: the comparison would be weak");
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
  double *da = malloc(sd->paths * sizeof *da), *db = malloc(sd->paths * sizeof *db);
  cr_assert(da && db);
  for (uint64_t p = 0; p < sd->paths; p++) {
    da[p] = (double)d.res->defaults[p];
    db[p] = (double)s.res->defaults[p];
  }
  double ks_n = ks_statistic(da, sd->paths, db, sd->paths);
  cr_log_info("KS on the number of defaults %.4f", ks_n);
  cr_expect_lt(ks_n, crit);
  free(da);
  free(db);
  release(&d);
  release(&s);
  cas_scenario_destroy(sd);
  cas_scenario_destroy(ss);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

/* --- spill-over passes decided from their first uniform ------------------
 *
 * A sparse spill-over pass over a bucket whose first geometric gap surely
 * runs past its end (from a bound on its probability) stops after drawing
 * that gap's uniform, without evaluating Phi. The same cascade with every
 * pass run in full (full_spill) must make the same draws: the same
 * defaults, round by round, and the same losses, bit for bit, on paths
 * whose default rates move the factors in many rounds. A bound too small
 * would skip a bucket whose first candidate falls inside it, and the
 * stream of every later pass of the path would differ. */
Test(contagion, spillover_passes_decided_early_draw_as_full_passes) {
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(20000, 2, &pf, &err), CAS_OK);
  cas_network *net = random_network(pf, 60000, 43);
  cas_scenario *sc = book_scenario(
      100, "contagion:\n  enabled: true\n  max_rounds: 50\n  spillover:\n"
           "    - {region: zhejiang, sector: inclusive_micro, factor: global, beta: 6}\n"
           "    - {region: jiangsu, sector: manufacturing, factor: region.zhejiang, beta: 8}\n"
           "    - {region: anhui, sector: household, factor: region.shanghai, beta: 8}\n");
  sim s = plan_and_model(sc, pf, net);
  const cas_plan *plan = s.plan;
  size_t n = pf->n;
  cas_cascade_ws *ws[2] = {NULL, NULL};
  for (int i = 0; i < 2; i++)
    cr_assert_eq(cas_cascade_ws_create(plan, 0, s.c->max_rounds, &ws[i], &err), CAS_OK);
  ws[1]->full_spill = 1;
  double sys[CAS_YRD_NSEGMENTS];
  uint64_t full_passes_with_defaults = 0;
  for (uint64_t path = 0; path < 24; path++) {
    double loss[2][CAS_YRD_NSEGMENTS], factor[2][CAS_YRD_NSEGMENTS];
    int32_t by_round[2][51], seg_defaults[2][CAS_YRD_NSEGMENTS];
    cas_cascade_out out[2];
    for (int i = 0; i < 2; i++) {
      /* the same systematic state and round-0 defaults on both sides */
      for (int s2 = 0; s2 < CAS_YRD_NSEGMENTS; s2++)
        sys[s2] = -0.6 - 0.05 * (double)path - 0.01 * (double)(s2 % 7);
      cas_rng rng;
      cas_rng_init(&rng, 91, CAS_RNG_TEST, path);
      cas_cascade_begin(ws[i]);
      for (uint32_t b = 0; b < plan->nbuckets; b++) {
        const cas_bucket *bk = &plan->buckets[b];
        for (uint32_t j = 0; j < bk->count; j++) {
          uint32_t k = bk->first + j;
          double eps = cas_rng_normal(&rng);
          if (sys[bk->segment] + plan->idio[bk->segment] * eps < plan->loans[k].threshold)
            cas_cascade_default0(ws[i], k);
        }
      }
      memset(factor[i], 0, sizeof factor[i]);
      memset(seg_defaults[i], 0, sizeof seg_defaults[i]);
      out[i] = (cas_cascade_out){.factor_seg_loss = factor[i], .seg_loss = loss[i],
                                 .seg_defaults = seg_defaults[i], .by_round = by_round[i]};
      /* the cascade's spill-over passes draw from the rest of the stream */
      cas_cascade_run(s.c, plan, ws[i], path, sys, 1.0, &rng, &out[i]);
    }
    cr_assert_eq(out[0].rounds, out[1].rounds, "path %llu: rounds", (unsigned long long)path);
    for (int r = 0; r <= out[0].rounds; r++)
      cr_assert_eq(by_round[0][r], by_round[1][r], "path %llu round %d: %d defaults, full %d",
                   (unsigned long long)path, r, by_round[0][r], by_round[1][r]);
    for (size_t k = 0; k < n; k++)
      cr_assert_eq(cas_cascade_is_defaulted(ws[0], (uint32_t)k),
                   cas_cascade_is_defaulted(ws[1], (uint32_t)k), "path %llu position %zu",
                   (unsigned long long)path, k);
    cr_assert_eq(memcmp(loss[0], loss[1], sizeof loss[0]), 0, "path %llu: losses",
                 (unsigned long long)path);
    for (int r = 1; r <= out[0].rounds; r++) full_passes_with_defaults += by_round[0][r] > 0;
  }
  cr_log_info("bucket passes decided from the first uniform: %llu; rounds with defaults: %llu",
              (unsigned long long)ws[0]->spill_decided,
              (unsigned long long)full_passes_with_defaults);
  cr_assert_eq(ws[1]->spill_decided, 0u);
  cr_assert_gt(ws[0]->spill_decided, 1000u, "few passes were decided early: the test is weak");
  cr_assert_gt(full_passes_with_defaults, 48u, "short cascades: the spill-over ran few passes");
  for (int i = 0; i < 2; i++) cas_cascade_ws_destroy(ws[i]);
  release(&s);
  cas_scenario_destroy(sc);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

/* --- the cascade against a direct implementation ------------------------
 *
 * The same cascade written the obvious way: arrays the size of the book,
 * each round's spill-over applied to every survivor, then the round's hits
 * added up per loan in frontier order and every hit survivor checked in
 * increasing position, then the guarantees booked by looking at both ends.
 * On the built-in book (20,000 loans, hundreds of PD buckets) with 3 random
 * links per loan and a bad systematic state, so that cascades run for
 * several rounds and rounds have thousands of hits (the grouping by block,
 * the galloping lookups and the merges of the touched lists all run). Both
 * sides see the same round-0 defaults; with eps known (dense) a survivor
 * defaults when sys + dsys + b eps - shift < c; without (sparse), from its
 * keyed uniform and its law given survival, by the exact test without any
 * squeeze (no spill-over there: its pass draws from the kernel's stream). */
/* eps_known: the dense kernel's cascade; else the sparse one's, whose
 * exact tests take pass 1b's vector CDF or, with scalar_exact, the scalar
 * fallback for all (which the vector values send it to only when they are
 * too close to call, rarely). watch: round 0's borrowers with calls are
 * listed as they default (cas_cascade_watch_calls, as the engine does);
 * 2: with no room in the list, so that the path finds them from its
 * defaults instead, as when a path has more than the list holds; 0: never
 * listed. */
static void check_against_direct(int eps_known, int scalar_exact, int watch) {
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(20000, 2, &pf, &err), CAS_OK);
  cas_network *net = random_network(pf, 60000, 41);
  const char *spill = eps_known ? "  spillover:\n"
                                  "    - {region: zhejiang, sector: manufacturing, factor: global, beta: 3}\n"
                                  "    - {region: jiangsu, sector: household, factor: region.anhui, beta: 8}\n"
                                : "";
  char text[512];
  snprintf(text, sizeof text, "contagion:\n  enabled: true\n  max_rounds: 50\n%s", spill);
  cas_scenario *sc = book_scenario(100, text);
  sim s = plan_and_model(sc, pf, net);
  cas_plan *plan = s.plan;
  const cas_contagion *c = s.c;
  size_t n = pf->n;
  uint32_t *pos = malloc(n * sizeof *pos);
  int *seg = malloc(n * sizeof *seg);
  cr_assert(pos && seg);
  for (size_t k = 0; k < n; k++) pos[plan->loan_index[k]] = (uint32_t)k;
  for (size_t i = 0; i < n; i++) seg[pos[i]] = YRD_SEG(pf->region[i], pf->sector[i]);
  double seg_loans[CAS_YRD_NSEGMENTS] = {0};
  for (size_t k = 0; k < n; k++) seg_loans[seg[k]] += 1.0;
  /* links by source position, in network order; covers cut to the EAD */
  typedef struct direct_link {
    uint32_t target;
    int guarantee;
    double weight, cover_loss;
  } direct_link;
  size_t *first = calloc(n + 1, sizeof *first);
  direct_link *links = malloc(net->nlinks * sizeof *links);
  cr_assert(first && links);
  for (size_t i = 0; i < n; i++) first[pos[i] + 1] = net->offset[i + 1] - net->offset[i];
  for (size_t k = 0; k < n; k++) first[k + 1] += first[k];
  for (size_t i = 0; i < n; i++) {
    size_t at = first[pos[i]];
    double ead = pf->ead[i] * plan->seg_ead_mult[seg[pos[i]]];
    double cut = s.guaranteed[i] > ead ? ead / s.guaranteed[i] : 1.0;
    for (uint64_t e = net->offset[i]; e < net->offset[i + 1]; e++) {
      int g = net->type[e] == CAS_LINK_GUARANTEE;
      uint32_t v = net->target[e];
      double scale = g ? sc->contagion.guarantee_scale : sc->contagion.supply_chain_scale;
      double lgd = fmin(fmax(pf->lgd[v] + plan->seg_lgd_add[seg[pos[v]]], 0.0), 1.0);
      links[at++] = (direct_link){pos[v], g, net->weight[e] * scale,
                                  g ? net->amount[e] * cut * lgd : 0.0};
    }
  }
  cas_cascade_ws *ws = NULL;
  cr_assert_eq(cas_cascade_ws_create(plan, eps_known, c->max_rounds, &ws, &err), CAS_OK);
  ws->scalar_exact = scalar_exact;
  if (watch) cr_assert_eq(cas_cascade_watch_calls(ws, c, &err), CAS_OK, "%s", err.msg);
  if (watch == 2) ws->called_cap = 0;
  double *eps = malloc(n * sizeof *eps), *shift = malloc(n * sizeof *shift);
  double *hits = malloc(n * sizeof *hits);
  char *dead = malloc(n), *dead0 = malloc(n), *hit = malloc(n);
  uint32_t *order = malloc(n * sizeof *order);
  cr_assert(eps && shift && hits && dead && dead0 && hit && order);
  double sys[CAS_YRD_NSEGMENTS];
  int deep = 0, spilled = 0;
  for (uint64_t path = 0; path < 6; path++) {
    for (int s2 = 0; s2 < CAS_YRD_NSEGMENTS; s2++) sys[s2] = -1.2 - 0.1 * (double)path;
    cas_rng rng;
    cas_rng_init(&rng, 77, CAS_RNG_TEST, path);
    cas_cascade_begin(ws);
    size_t nd = 0;
    for (size_t k = 0; k < n; k++) {
      eps[k] = cas_rng_normal(&rng);
      if (eps_known) ws->eps[k] = eps[k];
      shift[k] = hits[k] = 0.0;
      hit[k] = 0;
      dead[k] = dead0[k] = sys[seg[k]] + plan->idio[seg[k]] * eps[k] < plan->loans[k].threshold;
      if (dead[k]) {
        order[nd++] = (uint32_t)k;
        cas_cascade_default0(ws, (uint32_t)k);
      }
    }
    double seg_loss[CAS_YRD_NSEGMENTS], factor_loss[CAS_YRD_NSEGMENTS] = {0};
    int32_t by_round[51], seg_defaults[CAS_YRD_NSEGMENTS] = {0};
    cas_cascade_out out = {.factor_seg_loss = factor_loss, .seg_loss = seg_loss,
                           .seg_defaults = seg_defaults, .by_round = by_round};
    cas_cascade_run(c, plan, ws, path, sys, 1.0, NULL, &out);

    /* the direct cascade */
    int32_t want[51] = {(int32_t)nd};
    double dsys[CAS_YRD_NSEGMENTS] = {0};
    size_t f0 = 0, f1 = nd, n0 = nd;
    int rounds = 0;
    for (int r = 1; r <= 50; r++) {
      size_t before = nd;
      /* spill-over from the default rates so far, only ever down */
      double count[CAS_YRD_NSEGMENTS] = {0}, dz[YRD_NFACTORS] = {0};
      for (size_t d = 0; d < nd; d++) count[seg[order[d]]] += 1.0;
      for (size_t t = 0; t < sc->contagion.nspillover; t++) {
        const cas_spillover *sp = &sc->contagion.spillover[t];
        dz[sp->factor] -= sp->beta * count[sp->segment] / seg_loans[sp->segment];
      }
      for (int s2 = 0; s2 < CAS_YRD_NSEGMENTS; s2++) {
        double v = 0.0;
        for (int f = 0; f < YRD_NFACTORS; f++) v += cas_plan_loading(plan, s2)[f] * dz[f];
        if (v < dsys[s2]) dsys[s2] = v;
      }
      for (size_t k = 0; k < n && eps_known; k++)
        if (!dead[k] && sys[seg[k]] + dsys[seg[k]] + plan->idio[seg[k]] * eps[k] - shift[k] <
                            plan->loans[k].threshold) {
          dead[k] = 1;
          order[nd++] = (uint32_t)k;
          spilled++;
        }
      for (size_t d = f0; d < f1; d++)
        for (size_t e = first[order[d]]; e < first[order[d] + 1]; e++) {
          const direct_link *l = &links[e];
          if (dead[l->target] || l->weight == 0.0) continue;
          hits[l->target] = hit[l->target] ? hits[l->target] + l->weight : l->weight;
          hit[l->target] = 1;
        }
      for (size_t k = 0; k < n; k++) {
        if (!hit[k]) continue;
        hit[k] = 0;
        if (dead[k]) continue;
        shift[k] += hits[k];
        int s2 = seg[k];
        double w = plan->idio[s2], th = plan->loans[k].threshold, dies;
        if (eps_known) {
          dies = sys[s2] + dsys[s2] + w * eps[k] - shift[k] < th;
        } else {
          double t = (th - sys[s2]) / w, t2 = (th + shift[k] - sys[s2]) / w;
          double u = cas_rng_keyed_uniform(plan->seed, CAS_RNG_CONTAGION, path, k);
          dies = t2 > t && u * cas_norm_cdf(-t) > cas_norm_cdf(-t2);
        }
        if (dies) {
          dead[k] = 1;
          order[nd++] = (uint32_t)k;
        }
      }
      want[r] = (int32_t)(nd - before);
      if (nd == before) break;
      rounds = r;
      f0 = before;
      f1 = nd;
    }
    /* losses: uncovered parts of the cascade's defaults, and every covered
     * part whose borrower and guarantor both defaulted - factor loss if
     * both did in round 0, contagion loss otherwise */
    double loss = 0.0, factor = 0.0, got = 0.0;
    for (size_t d = n0; d < nd; d++) loss += plan->loans[order[d]].loss;
    for (size_t b = 0; b < n; b++)
      for (size_t e = first[b]; e < first[b + 1]; e++) {
        const direct_link *l = &links[e];
        if (!l->guarantee || !dead[b] || !dead[l->target]) continue;
        if (dead0[b] && dead0[l->target]) factor += l->cover_loss;
        else loss += l->cover_loss;
      }
    for (int s2 = 0; s2 < CAS_YRD_NSEGMENTS; s2++) got += seg_loss[s2];

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
    cr_assert(fabs(total(factor_loss) - factor) <= 1e-9 * factor,
              "path %llu: double defaults in round 0 %.17g, direct %.17g", (unsigned long long)path,
              total(factor_loss), factor);
    cr_assert_gt(factor, 0.0, "path %llu: no double default in round 0", (unsigned long long)path);
    if (rounds >= 3 && nd - n0 > 500) deep++;
  }
  cr_assert(deep >= 3, "only %d of 6 paths had a cascade of 3+ rounds and 500+ defaults", deep);
  if (eps_known) cr_assert_gt(spilled, 100, "the spill-over made only %d defaults", spilled);
  free(eps); free(shift); free(hits); free(dead); free(dead0); free(hit); free(order);
  free(first); free(links); free(pos); free(seg);
  cas_cascade_ws_destroy(ws);
  release(&s);
  cas_scenario_destroy(sc);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(contagion, cascade_matches_a_direct_implementation_eps_known) { check_against_direct(1, 0, 1); }
Test(contagion, cascade_matches_a_direct_implementation_sparse) { check_against_direct(0, 0, 1); }
Test(contagion, cascade_matches_a_direct_implementation_sparse_scalar_tests) {
  check_against_direct(0, 1, 0);
}
Test(contagion, cascade_matches_a_direct_implementation_calls_not_listed) {
  check_against_direct(0, 0, 0);
}
Test(contagion, cascade_matches_a_direct_implementation_call_list_full) {
  check_against_direct(0, 0, 2);
}

/* --- guarantees on the built-in network ----------------------------------
 *
 * Every guaranteed loan of the built-in network, on every path: what is
 * booked for it (its uncovered part at its LGD, and each covered part lost
 * through a defaulted guarantor at that guarantor's LGD) never exceeds its
 * EAD times the larger of its LGD and its guarantors' LGDs; and these
 * per-loan amounts, added up over every defaulted loan, are the path's
 * loss (so the ledger is the one the engine books). */
typedef struct ledger {
  const cas_plan *plan;
  const cas_contagion *c;
  const cas_portfolio *pf;
  const cas_results *res;
  const double *ead, *lgd;   /* by plan position, stressed */
  uint64_t checked[8], violations[8], mismatches[8];
  double worst[8];           /* largest booked / (EAD x max LGD) */
} ledger;

static void audit_path(void *ctx, int thread, uint64_t path, const cas_cascade_ws *ws) {
  ledger *lg = ctx;
  const cas_contagion *c = lg->c;
  double sum = 0.0;
  for (size_t d = 0; d < ws->ndefaulted; d++) {
    uint32_t b = ws->defaulted[d];
    double booked = lg->plan->loans[b].loss, top = lg->lgd[b];
    for (uint32_t k = c->call_start[b]; k < c->call_start[b + 1]; k++) {
      uint32_t g = c->call[k].pos;
      top = fmax(top, lg->lgd[g]);
      if (cas_cascade_is_defaulted(ws, g)) booked += c->call[k].value;
    }
    sum += booked;
    if (c->call_start[b + 1] == c->call_start[b]) continue;
    lg->checked[thread]++;
    double cap = lg->ead[b] * top;
    if (booked > cap * (1.0 + 1e-12)) lg->violations[thread]++;
    if (cap > 0.0) lg->worst[thread] = fmax(lg->worst[thread], booked / cap);
  }
  double loss = lg->res->loss[path];
  if (fabs(sum - loss) > 1e-9 * fmax(loss, 1.0)) lg->mismatches[thread]++;
}

Test(guarantees, no_guaranteed_loan_books_more_than_its_ead_times_the_largest_lgd, .timeout = CAS_TEST_TIMEOUT(300)) {
  cas_portfolio *pf = NULL;
  cas_network *net = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(20000, 1, &pf, &err), CAS_OK);
  cr_assert_eq(cas_network_generate(pf, 1, &net, &err), CAS_OK, "%s", err.msg);
  cas_scenario *sc = book_scenario(600, "contagion:\n  enabled: true\n  spillover:\n"
                                        "    - {region: zhejiang, sector: inclusive_micro, "
                                        "factor: region.jiangsu, beta: 5}\n"
                                        "shocks:\n  - {factor_shift: -1.0}\n");
  double *guaranteed = malloc(pf->n * sizeof *guaranteed);
  double *ead = malloc(pf->n * sizeof *ead), *lgd = malloc(pf->n * sizeof *lgd);
  cr_assert(guaranteed && ead && lgd);
  cas_network_guaranteed(net, guaranteed);
  cas_plan *plan = NULL;
  cas_contagion *c = NULL;
  cas_results *res = NULL;
  cas_plan_options opt = {.grades_per_decade = CAS_PLAN_DEFAULT_GRADES, .guaranteed = guaranteed};
  cr_assert_eq(cas_plan_build(sc, pf, &opt, &plan, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_contagion_create(sc, plan, pf, net, &c, &err), CAS_OK, "%s", err.msg);
  cr_assert_gt(c->ncalls, 1000u);
  for (size_t k = 0; k < pf->n; k++) {
    size_t i = plan->loan_index[k];
    int s = YRD_SEG(pf->region[i], pf->sector[i]);
    ead[k] = pf->ead[i] * plan->seg_ead_mult[s];
    lgd[k] = fmin(fmax(pf->lgd[i] + plan->seg_lgd_add[s], 0.0), 1.0);
  }
  cr_assert_eq(cas_results_create(sc->paths, c->max_rounds + 1, 1, &res, &err), CAS_OK);
  ledger lg = {.plan = plan, .c = c, .pf = pf, .res = res, .ead = ead, .lgd = lgd};
  cas_kernel_options kopt = {.threads = 2, .path_hook = audit_path, .path_hook_ctx = &lg};
  cr_assert_eq(cas_kernel_run(&cas_kernel_sparse, plan, c, res, &kopt, &err), CAS_OK, "%s", err.msg);
  uint64_t checked = 0, bad = 0, mism = 0;
  double worst = 0.0, dd = 0.0;
  for (int t = 0; t < 8; t++) {
    checked += lg.checked[t];
    bad += lg.violations[t];
    mism += lg.mismatches[t];
    worst = fmax(worst, lg.worst[t]);
  }
  for (uint64_t p = 0; p < sc->paths; p++) dd += res->loss_double_default[p];
  cr_log_info("%llu defaulted guaranteed loans checked over %llu paths; largest booked / (EAD x max "
              "LGD) %.4f; mean double-default loss %.4g CNY",
              (unsigned long long)checked, (unsigned long long)sc->paths, worst,
              dd / (double)sc->paths);
  cr_assert_gt(checked, 10000u, "too few guaranteed defaults for the check to mean much");
  cr_assert_gt(dd, 0.0, "no double default on any path");
  cr_assert_eq(bad, 0u, "%llu guaranteed loans booked more than EAD x their largest LGD",
               (unsigned long long)bad);
  cr_assert_eq(mism, 0u, "%llu paths where the loans' ledger is not the path's loss",
               (unsigned long long)mism);
  cas_results_destroy(res);
  cas_contagion_destroy(c);
  cas_plan_destroy(plan);
  free(guaranteed);
  free(ead);
  free(lgd);
  cas_scenario_destroy(sc);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

/* The analytic double-default term (bivariate normal joint PDs, used in
 * stressed_expected_loss) against the simulated covered parts lost, with
 * contagion off, a factor shift and correlated factors: within 3 Monte
 * Carlo standard errors (fixed seed; 20,000 paths). A joint PD taken as the
 * product of the marginals (correlation ignored) is far outside. */
Test(guarantees, analytic_double_default_matches_the_simulation, .timeout = CAS_TEST_TIMEOUT(300)) {
  cas_portfolio *pf = NULL;
  cas_network *net = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(20000, 3, &pf, &err), CAS_OK);
  cr_assert_eq(cas_network_generate(pf, 2, &net, &err), CAS_OK, "%s", err.msg);
  cas_scenario *sc = book_scenario(20000, "model: {region_correlation: 0.5, sector_correlation: 0.3}\n"
                                          "shocks:\n  - {factor_shift: -0.7}\n");
  sim s = simulate(sc, pf, net, &cas_kernel_sparse);
  cr_assert_eq(s.c->max_rounds, 0u);
  double analytic[CAS_YRD_NSEGMENTS] = {0}, total = 0.0;
  cas_contagion_expected_double_default(s.c, s.plan, analytic);
  for (int k = 0; k < CAS_YRD_NSEGMENTS; k++) total += analytic[k];
  double mean = 0.0, m2 = 0.0;
  for (uint64_t p = 0; p < sc->paths; p++) {
    double x = s.res->loss_double_default[p], d = x - mean;
    mean += d / (double)(p + 1);
    m2 += d * (x - mean);
  }
  double se = sqrt(m2 / (double)(sc->paths - 1) / (double)sc->paths);
  /* the same term with independent defaults, to show what the test rules out */
  double independent = 0.0;
  for (size_t b = 0; b < s.plan->n; b++)
    for (uint32_t k = s.c->call_start[b]; k < s.c->call_start[b + 1]; k++) {
      uint32_t g = s.c->call[k].pos;
      int sb = s.c->segment[b], sg = s.c->segment[g];
      double mb = 0.0, mg = 0.0;
      for (int f = 0; f < YRD_NFACTORS; f++) {
        mb += cas_plan_loading(s.plan, sb)[f] * s.plan->shift[f];
        mg += cas_plan_loading(s.plan, sg)[f] * s.plan->shift[f];
      }
      independent += s.c->call[k].value * cas_norm_cdf(s.plan->loans[b].threshold - mb) *
                     cas_norm_cdf(s.plan->loans[g].threshold - mg);
    }
  cr_log_info("double default: simulated %.6g +- %.3g, analytic %.6g (z %+.2f); with independent "
              "defaults %.6g (z %+.1f)",
              mean, se, total, (mean - total) / se, independent, (mean - independent) / se);
  cr_assert_gt(mean, 0.0);
  cr_expect_leq(fabs(mean - total), 3.0 * se);
  cr_expect_gt(fabs(mean - independent), 3.0 * se, "the test cannot tell the joint PD apart");
  release(&s);
  cas_scenario_destroy(sc);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

/* A book whose PDs come from a rating scale (150 grades) under the t
 * copula, whose thresholds, shifted PDs and joint PDs are costly and are
 * kept by their arguments' bits (plan.c, contagion.c): every threshold is
 * the copula's own for the loan's stressed PD, each segment's analytic EL
 * is the sum (in plan order, as the plan adds it) of the copula's own
 * shifted PDs, and the guarantees' expected double default is the same,
 * bit for bit, as with the table turned off (the copula marked cheap). */
Test(guarantees, rating_scale_tables_give_the_copulas_own_values, .timeout = CAS_TEST_TIMEOUT(300)) {
  cas_portfolio *pf = NULL;
  cas_network *net = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(20000, 1, &pf, &err), CAS_OK);
  /* 150 grades from 0.03% to 30%, evenly in log PD: more distinct
   * values in a segment than fit the tables without collisions, so that rows are
   * taken over and keys collide, and each value still repeated */
  for (size_t i = 0; i < pf->n; i++) {
    double g = round(149.0 * log(pf->pd[i] / 0.0003) / log(1000.0));
    pf->pd[i] = 0.0003 * pow(1000.0, fmin(fmax(g, 0.0), 149.0) / 149.0);
  }
  cr_assert_eq(cas_network_generate(pf, 1, &net, &err), CAS_OK, "%s", err.msg);
  cas_scenario *sc = book_scenario(100, "model: {copula: t, degrees_of_freedom: 5}\n"
                                        "shocks:\n  - {factor_shift: -1.0}\n"
                                        "  - {sector: household, pd_multiplier: 1.7}\n");
  double *guaranteed = malloc(pf->n * sizeof *guaranteed);
  cr_assert_not_null(guaranteed);
  cas_network_guaranteed(net, guaranteed);
  cas_plan *plan = NULL;
  cas_contagion *c = NULL;
  cas_plan_options opt = {.grades_per_decade = CAS_PLAN_DEFAULT_GRADES, .guaranteed = guaranteed};
  cr_assert_eq(cas_plan_build(sc, pf, &opt, &plan, &err), CAS_OK, "%s", err.msg);
  cr_assert(plan->copula->costly_pd);
  cr_assert_eq(cas_contagion_create(sc, plan, pf, net, &c, &err), CAS_OK, "%s", err.msg);
  cr_assert_gt(c->ncalls, 1000u);
  for (size_t k = 0; k < plan->n; k++) {
    size_t i = plan->loan_index[k];
    double t = cas_plan_threshold(plan->copula, cas_plan_stressed_pd(pf->pd[i], cas_plan_pd_mult(plan, pf, i)));
    cr_assert_eq(memcmp(&t, &plan->loans[k].threshold, sizeof t), 0, "position %zu", k);
  }
  for (int s = 0; s < plan->nsegments; s++) {
    double mean = 0.0;
    const double *a = cas_plan_loading(plan, s);
    for (int f = 0; f < plan->nfactors; f++) mean += a[f] * plan->shift[f];
    cas_ksum sum = {0};
    for (size_t b = 0; b < plan->nbuckets; b++) {
      const cas_bucket *bk = &plan->buckets[b];
      if (bk->segment != s) continue;
      for (size_t k = bk->first; k < (size_t)bk->first + bk->count; k++)
        cas_ksum_add(&sum, plan->copula->shifted_pd(plan->copula, plan->loans[k].threshold, mean) *
                               plan->loans[k].loss);
    }
    double el = cas_ksum_value(&sum);
    cr_assert_eq(memcmp(&el, &plan->stressed.expected_loss[s], sizeof el), 0,
                 "segment %d: %.17g against %.17g", s, plan->stressed.expected_loss[s], el);
  }
  double *with = calloc((size_t)plan->nsegments, sizeof *with);
  double *without = calloc((size_t)plan->nsegments, sizeof *without);
  cr_assert(with && without);
  cas_contagion_expected_double_default(c, plan, with);
  cas_copula_model cheap = *plan->copula;
  cheap.costly_pd = 0;
  cas_plan copy = *plan;
  copy.copula = &cheap;
  cas_contagion_expected_double_default(c, &copy, without);
  double total = 0.0;
  for (int s = 0; s < plan->nsegments; s++) {
    cr_assert_eq(memcmp(&with[s], &without[s], sizeof *with), 0, "segment %d: %.17g against %.17g",
                 s, with[s], without[s]);
    total += with[s];
  }
  cr_assert_gt(total, 0.0);
  free(with);
  free(without);
  free(guaranteed);
  cas_contagion_destroy(c);
  cas_plan_destroy(plan);
  cas_scenario_destroy(sc);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}
