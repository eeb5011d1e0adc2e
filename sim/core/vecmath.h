/*
 * vecmath.h: elementary functions over arrays, four at a time where the CPU
 * allows (glibc's vector math library, libmvec, with AVX2), else one at a
 * time with libm.
 *
 * The results are libm's within a few ulp, not bit for bit: use them where
 * a bound or an approximation is checked before it decides anything (the
 * sparse kernel's binomial draws start from one and check it, rng.c). The
 * same CPU always gives the same bits.
 */
#ifndef CASCADE_VECMATH_H
#define CASCADE_VECMATH_H

#include <stddef.h>

/* 1 when the CPU has AVX2 (and libmvec's AVX2 variants may be called). */
int cas_cpu_has_avx2(void);

/* x[i] = log1p(x[i]), i < n, in place. */
void cas_log1p_many(double *x, size_t n);
/* x[i] = exp(x[i]), i < n, in place. */
void cas_exp_many(double *x, size_t n);

#endif
