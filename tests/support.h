/*
 * support.h: statistics shared by the criterion tests (header-only: each
 * test is its own executable).
 */
#ifndef CASCADE_TEST_SUPPORT_H
#define CASCADE_TEST_SUPPORT_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "portfolio.h"
#include "taxonomy.h"

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

#endif
