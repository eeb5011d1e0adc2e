/*
 * portfolio.h: a loan book as a structure of arrays.
 *
 * A portfolio comes from a CSV file (cas_portfolio_load_csv) or from a
 * built-in book of models/books (books.h), such as the default Yangtze
 * River Delta book (cas_portfolio_generate, models/books/yrd.c,
 * calibration in docs/CALIBRATION.md). Arrays are indexed by loan,
 * 0..n-1, in file order or generation order; the order is part of the
 * result (a path's random numbers are consumed in loan order).
 *
 * Memory: 8 (ead) + 8 (pd) + 8 (lgd) + 2 + 2 (region, sector) + 2 (city)
 * + 4 (park) = 34 bytes per loan, plus the ids of a CSV portfolio (the id
 * text, a NUL and an 8-byte offset per loan; built-in loans have implicit
 * ids "YRD" + 9 digits, loan i being "YRD%09zu"), plus the optional
 * columns' arrays when the CSV has them (credit lines 16, maturity and
 * amortisation 9, collateral 8 bytes per loan).
 *
 * CSV error messages are "path:line:col: reason (got X, expected Y)" with
 * col the 1-based character (UTF-8 code point) column where the offending
 * field starts; the accepted format is described at the top of portfolio.c.
 */
#ifndef CASCADE_PORTFOLIO_H
#define CASCADE_PORTFOLIO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "taxonomy.h"

/* The largest amount a book may hold (an EAD, a credit line, collateral,
 * a guarantee, a pool's cap) [CNY]: 1e15, twice the assets of the whole
 * Chinese banking system, far below where a double loses units. With at
 * most 10^9 loans and EAD multipliers of at most 1000 (scenario.h) every
 * total stays finite and exact to rounding. Checked on load, at the
 * value's place. */
#define CAS_AMOUNT_MAX 1e15

typedef struct cas_portfolio {
  size_t n;            /* number of loans */
  double *ead;         /* exposure at default [CNY], > 0; for a credit line its drawn amount */
  double *pd;          /* one-year probability of default, in (0, 1) */
  double *lgd;         /* loss given default [fraction of EAD], in [0, 1] */
  uint16_t *region;    /* index into tax->regions */
  uint16_t *sector;    /* index into tax->sectors */
  uint16_t *city;      /* index into tax->cities, or CAS_NONE */
  int32_t *park;       /* industrial park number, or -1 for none */

  /* Ids of a CSV portfolio: id of loan i is id_pool + id_offset[i]
   * (NUL-terminated). NULL for the built-in book (implicit ids). */
  char *id_pool;
  uint64_t *id_offset;
  size_t id_pool_size;

  /* Parks are numbered 0..npark-1 (built-in: every park of the book,
   * some possibly without loans; CSV: the distinct park texts). */
  int32_t npark;

  /* Parks of a CSV portfolio by number: park_names[k] is the text of park
   * k as given in the file, numbered in order of first appearance. One
   * allocation (pointers followed by the strings). NULL for the built-in
   * book, whose parks are named "park-%d". */
  char **park_names;
  int32_t npark_names;

  /* Credit lines (CSV columns limit and ccf), else both NULL: the line's
   * limit [CNY] (its ead, the drawn amount, for a term loan) and the credit
   * conversion factor, the share of the undrawn part drawn by default
   * [0, 1] (0 for a term loan). A loan's EAD is ead + ccf x (limit - ead)
   * (cas_portfolio_ead; scenarios may raise the factor: shock ccf_add).
   * 16 more bytes per loan. */
  double *limit;
  double *ccf;

  /* Maturity and amortisation (CSV columns maturity and amortisation),
   * else both NULL (docs/MODEL.md, Maturity and amortisation): the years
   * until the loan matures, > 0 and finite, or INFINITY for none inside any
   * horizon; and how it repays, CAS_AMORTISATION_BULLET (all at maturity)
   * or CAS_AMORTISATION_LINEAR (in equal parts until maturity). The loan is
   * in the book in year t (1-based) while t - 1 < maturity, i.e. it is
   * repaid at the end of year ceil(maturity); a linear loan's EAD at the
   * start of year t is its EAD x (1 - (t - 1) / maturity)
   * (cas_portfolio_amortised). 9 more bytes per loan. */
  double *maturity;
  uint8_t *amortisation;

  /* Collateral (CSV column collateral), else NULL: the value of the
   * collateral pledged for the loan [CNY], >= 0 (0: unsecured). The loan's
   * lgd already reflects it; a scenario's collateral haircut raises the
   * LGD of a secured loan (docs/MODEL.md, Collateral haircuts). 8 more
   * bytes per loan. */
  double *collateral;

  /* The classification: the delta's for the built-in book; for a CSV
   * book the declared one or the values of its columns in order of first
   * appearance (cas_portfolio_load_csv). Owned. */
  cas_taxonomy *tax;

  /* Where it came from, for the record in result files:
   * "builtin:yrd loans=100000 seed=1" or "file:PATH". */
  char source[512];
} cas_portfolio;

/* Totals by segment (region x sector): arrays of n entries. */
typedef struct cas_segment_totals {
  int n;
  uint64_t *loans;
  double *ead;                /* [CNY] */
  double *expected_loss;      /* sum of PD x LGD x EAD [CNY] */
  double *expected_defaults;  /* sum of PD: expected defaults per path */
} cas_segment_totals;

/* Allocates zeroed totals of n segments (CAS_ERR_NOMEM); free with
 * cas_segment_totals_free (also after a failed init). */
cas_status cas_segment_totals_init(cas_segment_totals *t, int n, cas_error *err);
void cas_segment_totals_free(cas_segment_totals *t);

/* Loads a CSV portfolio. Header row required; columns in any order:
 * id (text, unique), region, sector, ead [CNY, > 0], pd (in (0, 1)),
 * lgd ([0, 1]) required; city (empty for none) and park (any text, empty
 * for none) optional; limit and ccf optional, for credit lines: a row
 * with a limit is a line whose drawn amount is ead (limit >= ead), its ccf
 * in [0, 1] (empty: CAS_CCF_DEFAULT); a ccf without a limit is an error;
 * maturity (years > 0, empty for none) and amortisation (linear, bullet or
 * empty for bullet; linear needs a maturity on the row) optional;
 * collateral [CNY, >= 0, empty for none] optional. Regions, sectors and
 * cities are identifiers
 * (cas_name_check). With declared == NULL they make the book's
 * classification in order of first appearance; otherwise every value must
 * be one of the declared names (and a city tied to a region must appear
 * with that region), and the classification is a copy of declared.
 * Accepted: UTF-8 BOM, CRLF, spaces around fields, blank lines, fields in
 * double quotes ("" inside for a quote). The first bad line gives
 * CAS_ERR_INPUT with "file:line:col: reason (got X, expected Y)"; a file
 * that cannot be opened also gives CAS_ERR_INPUT ("file: cannot open
 * (reason)"). On failure *out is NULL. */
cas_status cas_portfolio_load_csv_as(const char *path, const cas_taxonomy *declared,
                                     cas_portfolio **out, cas_error *err);
/* As cas_portfolio_load_csv_as, reading the size bytes at data as the
 * file path's contents (data NULL: the file itself). */
cas_status cas_portfolio_load_csv_mem(const char *path, const void *data, size_t size,
                                      const cas_taxonomy *declared, cas_portfolio **out,
                                      cas_error *err);
/* cas_portfolio_load_csv_as with the classification from the data. */
cas_status cas_portfolio_load_csv(const char *path, cas_portfolio **out, cas_error *err);

/* The built-in default Yangtze River Delta portfolio of `loans` loans
 * (1 to 10^9; otherwise CAS_ERR_INPUT), deterministic from (loans, seed)
 * and identical for any thread count: the book model "yrd" (books.h),
 * defined in models/books/yrd.c. */
enum { CAS_PORTFOLIO_DEFAULT_LOANS = 100000 };
cas_status cas_portfolio_generate(size_t loans, uint64_t seed, cas_portfolio **out,
                                  cas_error *err);

/* Expected shares of loans (by count) in the built-in book, from its
 * calibration table (models/books/yrd.c): by region, by sector (after the city tilts) and, if
 * city is not NULL, by city (cas_yrd_ncities entries, taxonomy order). Any
 * output may be NULL. Fails (CAS_ERR_INTERNAL) only if the calibration and
 * taxonomy.c disagree. */
cas_status cas_portfolio_builtin_shares(double region[CAS_YRD_NREGIONS],
                                        double sector[CAS_YRD_NSECTORS], double *city,
                                        cas_error *err);

/* Writes the portfolio as CSV (all columns, with header; numbers as %.17g
 * so that loading the file back gives the same doubles) to "path.tmp.PID"
 * and renames it to path when complete; on failure (CAS_ERR_IO) the
 * temporary file is removed and path is untouched. */
cas_status cas_portfolio_export_csv(const cas_portfolio *p, const char *path, cas_error *err);

/* Id of loan i: a pointer into the portfolio, or the implicit id written
 * into buf (at least 16 bytes). */
const char *cas_portfolio_id(const cas_portfolio *p, size_t i, char *buf, size_t size);

/* Name of park number park (0..npark-1): a pointer into the portfolio, or
 * "park-%d" written into buf (at least 24 bytes); "" for -1 (no park). */
const char *cas_portfolio_park_name(const cas_portfolio *p, int32_t park, char *buf, size_t size);

/* The credit conversion factor of a line without one in the CSV: the
 * Basel foundation-IRB 75% for undrawn commitments (CRE32.29). */
#define CAS_CCF_DEFAULT 0.75

/* EAD of loan i before shocks: drawn + ccf x (limit - drawn) for a credit line. */
static inline double cas_portfolio_ead(const cas_portfolio *p, size_t i) {
  return p->limit ? p->ead[i] + p->ccf[i] * (p->limit[i] - p->ead[i]) : p->ead[i];
}

/* How a loan with a maturity repays (portfolio column amortisation). */
enum { CAS_AMORTISATION_BULLET = 0, CAS_AMORTISATION_LINEAR = 1 };

/* The share of loan i's EAD still outstanding at the start of year
 * (0-based, so year 0 is the first year of a horizon): 1 in year 0 and for
 * a loan without a maturity; 0 once the loan has matured (year >= its
 * maturity); for a linear loan (maturity - year) / maturity, i.e.
 * 1 - year / maturity, > 0 while the loan is in the book. */
static inline double cas_portfolio_amortised(const cas_portfolio *p, size_t i, int year) {
  if (!p->maturity || year == 0) return 1.0;
  double m = p->maturity[i], t = (double)year;
  if (t >= m) return 0.0;
  return p->amortisation[i] == CAS_AMORTISATION_LINEAR ? (m - t) / m : 1.0;
}

/* Totals by segment of the portfolio's classification (allocates out). */
cas_status cas_portfolio_totals(const cas_portfolio *p, cas_segment_totals *out, cas_error *err);

/* Frees p and everything it owns; NULL is a no-op. */
void cas_portfolio_destroy(cas_portfolio *p);

#endif
