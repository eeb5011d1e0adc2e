/*
 * support.h: statistics shared by the criterion tests (header-only: each
 * test is its own executable).
 */
#ifndef CASCADE_TEST_SUPPORT_H
#define CASCADE_TEST_SUPPORT_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portfolio.h"
#include "run.h"
#include "taxonomy.h"

/* The contract every registry keeps (sim/core/registry.h), for a family
 * whose descriptors (of type TYPE) start with their cas_model_info: each
 * has a name and a description, names are unique, LOOKUP finds the entry
 * itself and LIST names it; DEFAULT (a name, or NULL) is registered; an
 * unknown name and the index past the end give NULL. Sets COUNT. */
#define EXPECT_REGISTRY(TYPE, AT, LOOKUP, LIST, DEFAULT, COUNT)                                   \
  do {                                                                                           \
    char names_[1024];                                                                           \
    LIST(names_, sizeof names_);                                                                 \
    size_t n_ = 0;                                                                               \
    for (const TYPE *m_; (m_ = AT(n_)) != NULL; n_++) {                                          \
      cr_assert(m_->info.name && m_->info.name[0] && m_->info.description &&                     \
                    m_->info.description[0],                                                     \
                "entry %zu: no name or description", n_);                                        \
      cr_assert_eq(LOOKUP(m_->info.name), m_, "%s: lookup finds another entry", m_->info.name);  \
      cr_assert_not_null(strstr(names_, m_->info.name), "%s missing from the list '%s'",          \
                         m_->info.name, names_);                                                 \
      for (size_t j_ = 0; j_ < n_; j_++)                                                         \
        cr_assert_str_neq(AT(j_)->info.name, m_->info.name, "two entries called %s",             \
                          m_->info.name);                                                        \
    }                                                                                            \
    cr_assert_gt(n_, 0, "an empty registry");                                                    \
    const char *default_ = (DEFAULT);                                                            \
    if (default_) cr_assert_not_null(LOOKUP(default_), "the default %s is not registered", default_); \
    cr_assert_null(LOOKUP("no-such-model"));                                                     \
    cr_assert_null(AT(n_));                                                                      \
    (COUNT) = n_;                                                                                \
  } while (0)

/* The delta's segments and the default factor model's size on it. */
#define YRD_SEG(r, s) ((r) * CAS_YRD_NSECTORS + (s))
enum { YRD_NFACTORS = 1 + CAS_YRD_NREGIONS + CAS_YRD_NSECTORS };

/* Loads a CSV of the delta's names with the delta's classification (so
 * that its codes are the built-in book's). */
static inline cas_status load_csv_yrd(const char *path, cas_portfolio **pf, cas_error *err) {
  cas_taxonomy *yrd = cas_taxonomy_yrd();
  cr_assert_not_null(yrd);
  cas_status st = cas_portfolio_load_csv_as(path, yrd, pf, err);
  cas_taxonomy_destroy(yrd);
  return st;
}

static inline int cas_test_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Two-sample Kolmogorov-Smirnov statistic sup |F_x - F_y|. */
static inline double ks_statistic(const double *x, size_t n, const double *y, size_t m) {
  double *a = malloc(n * sizeof *a), *b = malloc(m * sizeof *b);
  cr_assert(a && b);
  memcpy(a, x, n * sizeof *a);
  memcpy(b, y, m * sizeof *b);
  qsort(a, n, sizeof *a, cas_test_cmp_double);
  qsort(b, m, sizeof *b, cas_test_cmp_double);
  size_t i = 0, j = 0;
  double d = 0;
  while (i < n && j < m) {
    double v = a[i] < b[j] ? a[i] : b[j];
    while (i < n && a[i] <= v) i++;
    while (j < m && b[j] <= v) j++;
    d = fmax(d, fabs((double)i / n - (double)j / m));
  }
  free(a);
  free(b);
  return d;
}

/* A small real result (the baseline scenario, `paths` paths on `loans`
 * loans, one thread) written to DIR/r.h5 of a new folder DIR made from
 * dir_template (mkdtemp's XXXXXX, rewritten in place); the path in out. */
static inline void cas_test_small_result(char *dir_template, char *out, size_t size,
                                         uint64_t paths, uint64_t loans) {
  cr_assert_not_null(mkdtemp(dir_template));
  snprintf(out, size, "%s/r.h5", dir_template);
  cas_run_options opt = {0};
  opt.scenario_path = CASCADE_SOURCE_DIR "/scenarios/baseline.yaml";
  opt.output_path = out;
  opt.paths = paths;
  opt.loans = loans;
  opt.threads = 1;
  cas_run_report rep;
  cas_error err = {0};
  cr_assert_eq(cas_run(&opt, &rep, &err), CAS_OK, "%s", err.msg);
}

#endif
