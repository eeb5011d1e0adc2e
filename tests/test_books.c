/*
 * test_books.c: the contract of every registered built-in book
 * (models/books, books.h), walked through the registry, so that a new book
 * is held to it as soon as it is registered. For every book, at 1, 20,011
 * (several random blocks, the last one partial) and 5,000 loans:
 *  - the book depends on (loans, seed) only: two draws are the same bytes,
 *    and so are the draws of 1 and 2 OpenMP threads, in every array;
 *  - it has exactly `loans` loans, every field in range: EAD > 0 and
 *    finite, PD in (0, 1), LGD in [0, 1], region and sector codes below
 *    the counts of its classification, city CAS_NONE or a city of it, park
 *    -1 or below npark;
 *  - its classification is the one the model declares, which a scenario
 *    binds a built-in book's names to before the book is drawn
 *    (scenario.c);
 *  - another seed gives another book; no loans is CAS_ERR_INPUT;
 *  - a scenario that names the book gets it from cas_run_load_portfolio
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
#include <string.h>

#include "books/books.h"
#include "portfolio.h"
#include "run.h"
#include "scenario.h"
#include "support.h"
#include "taxonomy.h"

static const size_t sizes[] = {1, 20011, 5000};
enum { NSIZES = sizeof sizes / sizeof sizes[0] };

static cas_portfolio *draw(const cas_book_model *m, size_t loans, uint64_t seed, int threads) {
  omp_set_num_threads(threads);
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(m->generate(loans, seed, &pf, &err), CAS_OK, "%s: %zu loans, seed %llu: %s",
               m->info.name, loans, (unsigned long long)seed, err.msg);
  cr_assert_not_null(pf);
  return pf;
}

static int same_bytes(const void *a, const void *b, size_t n) {
  return (a == NULL && b == NULL) || (a && b && memcmp(a, b, n) == 0);
}

/* Every array and count of two books, byte for byte. */
static void expect_same_book(const cas_portfolio *a, const cas_portfolio *b, const char *what) {
  cr_assert_eq(a->n, b->n, "%s: loans", what);
  size_t n = a->n;
  cr_expect(same_bytes(a->ead, b->ead, n * sizeof *a->ead), "%s: ead", what);
  cr_expect(same_bytes(a->pd, b->pd, n * sizeof *a->pd), "%s: pd", what);
  cr_expect(same_bytes(a->lgd, b->lgd, n * sizeof *a->lgd), "%s: lgd", what);
  cr_expect(same_bytes(a->region, b->region, n * sizeof *a->region), "%s: region", what);
  cr_expect(same_bytes(a->sector, b->sector, n * sizeof *a->sector), "%s: sector", what);
  cr_expect(same_bytes(a->city, b->city, n * sizeof *a->city), "%s: city", what);
  cr_expect(same_bytes(a->park, b->park, n * sizeof *a->park), "%s: park", what);
  cr_expect_eq(a->npark, b->npark, "%s: npark", what);
  cr_expect_eq(a->id_pool_size, b->id_pool_size, "%s: id pool size", what);
  cr_expect(same_bytes(a->id_pool, b->id_pool, a->id_pool_size), "%s: ids", what);
  cr_expect(same_bytes(a->id_offset, b->id_offset, a->id_pool ? n * sizeof *a->id_offset : 0),
            "%s: id offsets", what);
  cr_expect_eq(a->npark_names, b->npark_names, "%s: park names", what);
  for (int32_t k = 0; k < a->npark_names && k < b->npark_names; k++)
    cr_expect_str_eq(a->park_names[k], b->park_names[k], "%s: park %d", what, (int)k);
  cr_expect(cas_taxonomy_equal(a->tax, b->tax), "%s: classification", what);
  cr_expect_str_eq(a->source, b->source, "%s: source", what);
}

static void expect_in_range(const cas_book_model *m, const cas_portfolio *pf, size_t loans,
                            const char *what) {
  cr_assert_eq(pf->n, loans, "%s: %zu loans, expected %zu", what, pf->n, loans);
  const cas_taxonomy *tax = pf->tax;
  cr_assert_not_null(tax, "%s: no classification", what);
  cas_taxonomy *own = m->classification();
  cr_assert_not_null(own);
  cr_expect(cas_taxonomy_equal(tax, own),
            "%s: not the classification the model declares, which scenarios bind its books to",
            what);
  cas_taxonomy_destroy(own);
  cr_expect(pf->npark >= 0, "%s: npark %d", what, (int)pf->npark);
  cr_expect(pf->source[0] != '\0', "%s: no source", what);
  size_t bad = 0;
  for (size_t i = 0; i < pf->n; i++) {
    int ok = isfinite(pf->ead[i]) && pf->ead[i] > 0 && pf->pd[i] > 0 && pf->pd[i] < 1 &&
             pf->lgd[i] >= 0 && pf->lgd[i] <= 1 && pf->region[i] < tax->regions.n &&
             pf->sector[i] < tax->sectors.n &&
             (pf->city[i] == CAS_NONE || pf->city[i] < tax->cities.n) &&
             (pf->park[i] == -1 || (pf->park[i] >= 0 && pf->park[i] < pf->npark));
    if (!ok && bad++ < 5)
      cr_log_error("%s: loan %zu: ead %g, pd %g, lgd %g, region %u, sector %u, city %u, park %d",
                   what, i, pf->ead[i], pf->pd[i], pf->lgd[i], (unsigned)pf->region[i],
                   (unsigned)pf->sector[i], (unsigned)pf->city[i], (int)pf->park[i]);
  }
  cr_expect_eq(bad, 0, "%s: %zu loans out of range", what, bad);
}

Test(books, registry_is_walkable) {
  size_t count;
  EXPECT_REGISTRY(cas_book_model, cas_book_at, cas_book_lookup, cas_book_list, CAS_BOOK_DEFAULT,
                  count);
  for (size_t i = 0; i < count; i++) {
    cr_assert_not_null(cas_book_at(i)->generate, "%s: no generator", cas_book_at(i)->info.name);
    cr_assert_not_null(cas_book_at(i)->classification, "%s: no classification",
                       cas_book_at(i)->info.name);
  }
}

Test(books, every_book_keeps_the_contract, .timeout = CAS_TEST_TIMEOUT(120)) {
  for (size_t i = 0; cas_book_at(i); i++) {
    const cas_book_model *m = cas_book_at(i);
    for (int s = 0; s < NSIZES; s++) {
      size_t loans = sizes[s];
      char what[96];
      snprintf(what, sizeof what, "%s of %zu loans", m->info.name, loans);
      cas_portfolio *a = draw(m, loans, 7, 1), *b = draw(m, loans, 7, 1);
      cas_portfolio *c = draw(m, loans, 7, 2);
      expect_in_range(m, a, loans, what);
      expect_same_book(a, b, what);
      snprintf(what, sizeof what, "%s of %zu loans, 1 and 2 threads", m->info.name, loans);
      expect_same_book(a, c, what);
      if (loans > 1) {
        cas_portfolio *d = draw(m, loans, 8, 2);
        expect_in_range(m, d, loans, what);
        cr_expect(memcmp(a->ead, d->ead, loans * sizeof *a->ead) != 0 ||
                      memcmp(a->pd, d->pd, loans * sizeof *a->pd) != 0,
                  "%s: seeds 7 and 8 give the same book", m->info.name);
        cas_portfolio_destroy(d);
      }
      cas_portfolio_destroy(a);
      cas_portfolio_destroy(b);
      cas_portfolio_destroy(c);
    }
    cas_portfolio *none = NULL;
    cas_error err = {0};
    cr_expect_eq(m->generate(0, 1, &none, &err), CAS_ERR_INPUT, "%s: a book of no loans",
                 m->info.name);
    cr_expect_null(none);
    cr_expect(err.msg[0] != '\0', "%s: no message for a book of no loans", m->info.name);
  }
}

Test(books, a_scenario_gets_its_book_through_the_registry) {
  for (size_t i = 0; cas_book_at(i); i++) {
    const cas_book_model *m = cas_book_at(i);
    char text[256];
    snprintf(text, sizeof text, "portfolio: {builtin: %s, loans: 3000, seed: 11}\n", m->info.name);
    cas_scenario *sc = NULL;
    cas_error err = {0};
    cr_assert_eq(cas_scenario_load_text(text, "/nonexistent/book.yaml", &sc, &err), CAS_OK, "%s",
                 err.msg);
    cas_portfolio *pf = NULL;
    cr_assert_eq(cas_run_load_portfolio(sc, &pf, &err), CAS_OK, "%s: %s", m->info.name, err.msg);
    cas_portfolio *own = draw(m, 3000, 11, 2);
    expect_same_book(pf, own, m->info.name);
    cas_portfolio_destroy(own);
    cas_portfolio_destroy(pf);
    /* A scenario built by hand with a name the registry does not have. */
    snprintf(sc->portfolio.builtin, sizeof sc->portfolio.builtin, "no-such-book");
    pf = NULL;
    cr_expect_eq(cas_run_load_portfolio(sc, &pf, &err), CAS_ERR_INPUT);
    cr_expect_null(pf);
    cas_scenario_destroy(sc);
  }
}
