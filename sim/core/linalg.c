/* linalg.c: Cholesky-Banachiewicz factorisation, its solve, and a quadratic form. */
#include "linalg.h"

#include <math.h>

int cas_cholesky(size_t n, const double *a, double *l) {
  for (size_t i = 0; i < n * n; i++) l[i] = 0.0;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j <= i; j++) {
      double s = a[i * n + j];
      for (size_t k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i == j) {
        if (!(s > 1e-12)) return (int)i + 1;
        l[i * n + i] = sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  return 0;
}

void cas_cholesky_solve(size_t n, const double *l, const double *b, double *x) {
  /* l y = b forward, then l' x = y backward, in place. */
  for (size_t i = 0; i < n; i++) {
    double s = b[i];
    for (size_t k = 0; k < i; k++) s -= l[i * n + k] * x[k];
    x[i] = s / l[i * n + i];
  }
  for (size_t i = n; i-- > 0;) {
    double s = x[i];
    for (size_t k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
}

double cas_quadratic_form(size_t n, const double *a, const double *x, const double *y) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) s += x[i] * a[i * n + j] * y[j];
  return s;
}
