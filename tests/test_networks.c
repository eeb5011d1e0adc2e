/*
 * test_networks.c: the contract of every registered built-in network
 * (models/networks, networks.h), walked through the registry, so that a
 * new network is held to it as soon as it is registered. For every network
 * on the default book of 5,000 loans (two seeds):
 *  - the network depends on (book, seed) only: two draws are the same
 *    bytes, and so are the draws of 1 and 2 OpenMP threads (offsets,
 *    targets, types, weights, amounts, counts);
 *  - it refers to the book's loans: offsets from 0 to nlinks, never
 *    decreasing; every link joins two different loans of the book; types
 *    known; weights in [0, CAS_LINK_WEIGHT_MAX]; a guarantee's amount
 *    finite and > 0, a supply chain's 0; no (from, to, type) twice; the
 *    counts by type and across regions are those of the links;
 *  - a scenario that names the network gets it from cas_run_load_network
 *    (through the registry), the same bytes as the model's own draw.
 * The registry itself: names unique, found by lookup, listed, the default
 * registered, an unknown name NULL, nothing past the end.
 */
#include <criterion/criterion.h>

#include "timeout.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "books/books.h"
#include "network.h"
#include "networks/networks.h"
#include "portfolio.h"
#include "run.h"
#include "scenario.h"
#include "support.h"

enum { LOANS = 5000 };

static cas_network *draw(const cas_network_model *m, const cas_portfolio *pf, uint64_t seed,
                         int threads) {
  omp_set_num_threads(threads);
  cas_network *net = NULL;
  cas_error err = {0};
  cr_assert_eq(m->generate(pf, seed, &net, &err), CAS_OK, "%s on %s, seed %llu: %s",
               m->info.name, pf->source, (unsigned long long)seed, err.msg);
  cr_assert_not_null(net);
  return net;
}

static int same_bytes(const void *a, const void *b, size_t n) {
  return n == 0 || (a && b && memcmp(a, b, n) == 0);
}

static void expect_same_network(const cas_network *a, const cas_network *b, const char *what) {
  cr_assert_eq(a->nloans, b->nloans, "%s: loans", what);
  cr_assert_eq(a->nlinks, b->nlinks, "%s: links", what);
  size_t m = a->nlinks;
  cr_expect(same_bytes(a->offset, b->offset, (a->nloans + 1) * sizeof *a->offset), "%s: offsets",
            what);
  cr_expect(same_bytes(a->target, b->target, m * sizeof *a->target), "%s: targets", what);
  cr_expect(same_bytes(a->type, b->type, m * sizeof *a->type), "%s: types", what);
  cr_expect(same_bytes(a->weight, b->weight, m * sizeof *a->weight), "%s: weights", what);
  cr_expect(same_bytes(a->amount, b->amount, m * sizeof *a->amount), "%s: amounts", what);
  cr_expect(same_bytes(a->links_by_type, b->links_by_type, sizeof a->links_by_type),
            "%s: links by type", what);
  cr_expect_eq(a->cross_region_links, b->cross_region_links, "%s: cross-region links", what);
  cr_expect_str_eq(a->source, b->source, "%s: source", what);
}

static int cmp_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return (a > b) - (a < b);
}

static void expect_well_formed(const cas_network *net, const cas_portfolio *pf, const char *what) {
  cr_assert_eq(net->nloans, pf->n, "%s: a network of %zu loans for a book of %zu", what,
               net->nloans, pf->n);
  cr_assert_eq(net->offset[0], 0, "%s: first offset", what);
  cr_assert_eq(net->offset[net->nloans], net->nlinks, "%s: last offset", what);
  cr_assert_gt(net->nlinks, 0, "%s: no links", what);
  cr_expect(net->source[0] != '\0', "%s: no source", what);
  uint64_t *keys = malloc((net->nlinks ? net->nlinks : 1) * sizeof *keys);
  cr_assert_not_null(keys);
  uint64_t by_type[CAS_NLINK_TYPES] = {0}, cross = 0;
  size_t bad = 0, dups = 0;
  for (size_t i = 0; i < net->nloans; i++) {
    uint64_t lo = net->offset[i], hi = net->offset[i + 1];
    cr_assert_leq(lo, hi, "%s: offsets decrease at loan %zu", what, i);
    size_t k = 0;
    for (uint64_t p = lo; p < hi; p++) {
      uint32_t to = net->target[p];
      int type = net->type[p];
      double w = net->weight[p], amount = net->amount[p];
      int ok = to < pf->n && to != i && type < CAS_NLINK_TYPES && w >= 0.0 &&
               w <= CAS_LINK_WEIGHT_MAX &&
               (type == CAS_LINK_GUARANTEE ? isfinite(amount) && amount > 0.0 : amount == 0.0);
      if (!ok && bad++ < 5)
        cr_log_error("%s: link %llu from %zu to %u: type %d, weight %g, amount %g", what,
                     (unsigned long long)p, i, (unsigned)to, type, w, amount);
      if (!ok) continue;
      by_type[type]++;
      cross += pf->region[i] != pf->region[to];
      keys[k++] = (uint64_t)to << 1 | (uint64_t)type;
    }
    qsort(keys, k, sizeof *keys, cmp_u64);
    for (size_t j = 1; j < k; j++)
      if (keys[j] == keys[j - 1] && dups++ < 5)
        cr_log_error("%s: link from %zu to %llu of type %s twice", what, i,
                     (unsigned long long)(keys[j] >> 1), cas_link_type_names[keys[j] & 1]);
  }
  free(keys);
  cr_expect_eq(bad, 0, "%s: %zu links out of range", what, bad);
  cr_expect_eq(dups, 0, "%s: %zu repeated links", what, dups);
  for (int t = 0; t < CAS_NLINK_TYPES; t++)
    cr_expect_eq(net->links_by_type[t], by_type[t], "%s: %s links counted %llu, found %llu", what,
                 cas_link_type_names[t], (unsigned long long)net->links_by_type[t],
                 (unsigned long long)by_type[t]);
  cr_expect_eq(net->cross_region_links, cross, "%s: cross-region links counted %llu, found %llu",
               what, (unsigned long long)net->cross_region_links, (unsigned long long)cross);
}

Test(networks, registry_is_walkable) {
  size_t count;
  EXPECT_REGISTRY(cas_network_model, cas_network_at, cas_network_lookup, cas_network_list,
                  CAS_NETWORK_DEFAULT, count);
  for (size_t i = 0; i < count; i++) {
    const cas_network_model *m = cas_network_at(i);
    cr_assert_not_null(m->generate, "%s: no generator", m->info.name);
    cr_assert_str_neq(m->info.name, "none", "'none' is the scenario's word for no network");
  }
}

Test(networks, every_network_keeps_the_contract, .timeout = CAS_TEST_TIMEOUT(120)) {
  const cas_book_model *book = cas_book_lookup(CAS_BOOK_DEFAULT);
  cr_assert_not_null(book);
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(book->generate(LOANS, 3, &pf, &err), CAS_OK, "%s", err.msg);
  for (size_t i = 0; cas_network_at(i); i++) {
    const cas_network_model *m = cas_network_at(i);
    for (uint64_t seed = 1; seed <= 2; seed++) {
      char what[640];
      snprintf(what, sizeof what, "%s on %s, seed %llu", m->info.name, pf->source,
               (unsigned long long)seed);
      cas_network *a = draw(m, pf, seed, 1), *b = draw(m, pf, seed, 1), *c = draw(m, pf, seed, 2);
      expect_well_formed(a, pf, what);
      expect_same_network(a, b, what);
      snprintf(what, sizeof what, "%s on %s, seed %llu, 1 and 2 threads", m->info.name,
               pf->source, (unsigned long long)seed);
      expect_same_network(a, c, what);
      cas_network_destroy(a);
      cas_network_destroy(b);
      cas_network_destroy(c);
    }
  }
  cas_portfolio_destroy(pf);
}

Test(networks, a_scenario_gets_its_network_through_the_registry) {
  for (size_t i = 0; cas_network_at(i); i++) {
    const cas_network_model *m = cas_network_at(i);
    char text[256];
    snprintf(text, sizeof text,
             "portfolio: {builtin: %s, loans: %d, seed: 3}\nnetwork: {builtin: %s, seed: 9}\n",
             CAS_BOOK_DEFAULT, LOANS, m->info.name);
    cas_scenario *sc = NULL;
    cas_error err = {0};
    cr_assert_eq(cas_scenario_load_text(text, "/nonexistent/network.yaml", &sc, &err), CAS_OK, "%s",
                 err.msg);
    cas_portfolio *pf = NULL;
    cas_network *net = NULL;
    cr_assert_eq(cas_run_load_portfolio(sc, &pf, &err), CAS_OK, "%s", err.msg);
    cr_assert_eq(cas_run_load_network(sc, pf, &net, &err), CAS_OK, "%s: %s", m->info.name, err.msg);
    cas_network *own = draw(m, pf, 9, 2);
    expect_same_network(net, own, m->info.name);
    cas_network_destroy(own);
    cas_network_destroy(net);
    /* A scenario built by hand with a name the registry does not have. */
    snprintf(sc->network.builtin, sizeof sc->network.builtin, "no-such-network");
    net = NULL;
    cr_expect_eq(cas_run_load_network(sc, pf, &net, &err), CAS_ERR_INPUT);
    cr_expect_null(net);
    cas_portfolio_destroy(pf);
    cas_scenario_destroy(sc);
  }
}
