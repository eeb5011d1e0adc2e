/*
 * test_vecmath.c: elementary functions over arrays (vecmath.h) against
 * libm's, one value at a time: within a relative 1e-14 (a few ulp, what
 * the callers' bounds allow for), over the ranges the sparse kernel uses
 * (log1p(-p) for p in (0, 1/2], exp down to -745), at lengths that are not
 * a multiple of 4 (the scalar tail), in place.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "vecmath.h"

enum { N = 4003 };

static double rel(double a, double b) { return a == b ? 0.0 : fabs(a - b) / fabs(b); }

Test(vecmath, log1p_many_is_log1p) {
  static double x[N], want[N];
  for (int i = 0; i < N; i++) {
    x[i] = -0.5 * pow(10.0, -12.0 * i / (N - 1));   /* -1/2 ... -5e-13 */
    if (i % 7 == 3) x[i] = -x[i];
    want[i] = log1p(x[i]);
  }
  cas_log1p_many(x, N);
  double worst = 0.0;
  for (int i = 0; i < N; i++) worst = fmax(worst, rel(x[i], want[i]));
  cr_log_info("log1p: worst relative difference %.3g (AVX2: %d)", worst, cas_cpu_has_avx2());
  cr_expect_leq(worst, 1e-14);
}

Test(vecmath, exp_many_is_exp) {
  static double x[N], want[N];
  for (int i = 0; i < N; i++) {
    x[i] = -745.0 + 760.0 * i / (N - 1);   /* to subnormal results and above 1 */
    want[i] = exp(x[i]);
  }
  cas_exp_many(x, N);
  double worst = 0.0;
  for (int i = 0; i < N; i++)
    if (want[i] >= 0x1p-1008) worst = fmax(worst, rel(x[i], want[i]));
    else cr_expect_leq(fabs(x[i] - want[i]), 0x1p-1008 * 1e-14, "exp(%g)", -745.0 + 760.0 * i / (N - 1));
  cr_log_info("exp: worst relative difference %.3g", worst);
  cr_expect_leq(worst, 1e-14);
  double e[3] = {0.0, -INFINITY, 1.0};
  cas_exp_many(e, 3);
  cr_expect(e[0] == 1.0 && e[1] == 0.0 && fabs(e[2] - M_E) < 1e-15);
}
