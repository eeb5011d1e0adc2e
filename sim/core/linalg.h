/* linalg.h: the little dense linear algebra the factor model needs. */
#ifndef CASCADE_LINALG_H
#define CASCADE_LINALG_H

#include <stddef.h>

/* Cholesky factor of the symmetric n x n matrix a (row-major): writes the
 * lower-triangular l with a = l l' (upper part zeroed). Returns 0, or the
 * 1-based index of the first pivot that is not positive (a is not positive
 * definite). a and l may not alias. */
int cas_cholesky(size_t n, const double *a, double *l);

/* Solves l l' x = b for x, l the lower-triangular Cholesky factor of
 * cas_cholesky (n x n, row-major). b and x may alias. */
void cas_cholesky_solve(size_t n, const double *l, const double *b, double *x);

/* x' a y for the n x n matrix a. */
double cas_quadratic_form(size_t n, const double *a, const double *x, const double *y);

#endif
