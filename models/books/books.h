/*
 * books.h: the registry of built-in books, loan portfolios drawn from a
 * size and a seed.
 *
 * A scenario names its book (portfolio: {builtin: NAME, loans, seed});
 * `cascade run` then generates it through this registry (run.c). One file
 * per model, each exporting one descriptor; the registry is a constant
 * table (books.c). "yrd" is the default Yangtze River Delta book
 * (models/books/yrd.c, calibration in docs/CALIBRATION.md).
 *
 * Every model must satisfy, and tests/test_books.c checks for every
 * registered one: the book has exactly `loans` loans and depends on
 * (loans, seed) only, the same bytes for any number of threads; every
 * field is in the range portfolio.h states (EAD > 0 and finite, PD in
 * (0, 1), LGD in [0, 1], region and sector codes of its classification,
 * city CAS_NONE or a city of it, park -1 or below npark); different seeds
 * give different books; a size out of the model's range is CAS_ERR_INPUT.
 * A book declares its classification (`classification`): a scenario on a
 * built-in book binds its names to it on load, before the book is drawn,
 * and the book drawn must be classified by an equal one (checked).
 */
#ifndef CASCADE_BOOKS_H
#define CASCADE_BOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "portfolio.h"
#include "registry.h"

typedef struct cas_book_model {
  cas_model_info info;  /* name and one-line description */
  /* Draws a book of `loans` loans from seed into *out (owned by the
   * caller, cas_portfolio_destroy); on failure *out is NULL and err says
   * why. */
  cas_status (*generate)(size_t loans, uint64_t seed, cas_portfolio **out, cas_error *err);
  /* A new copy of the classification of the books it draws (NULL out of
   * memory; cas_taxonomy_destroy). */
  cas_taxonomy *(*classification)(void);
} cas_book_model;

/* yrd: cas_portfolio_generate (portfolio.h). */
extern const cas_book_model cas_book_yrd;

/* The book a scenario's portfolio.builtin names unless it says otherwise. */
#define CAS_BOOK_DEFAULT "yrd"

/* The model called name, or NULL. */
const cas_book_model *cas_book_lookup(const char *name);
/* Comma-separated names of every registered model. */
void cas_book_list(char *buf, size_t size);
/* Registry walk: the i-th model, NULL past the end. */
const cas_book_model *cas_book_at(size_t i);

#endif
