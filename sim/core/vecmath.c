/*
 * vecmath.c: elementary functions over arrays (vecmath.h).
 *
 * glibc's libmvec exports its AVX2 variants under the vector function ABI
 * names (_ZGVdN4v_<name>: 'd' for AVX2, 4 lanes, one vector argument);
 * log1p since GLIBC_2.35, exp since 2.22. Their documented error is a few
 * ulp. They are called only after a CPU check, so the program still runs
 * (one value at a time) on a CPU without AVX2.
 */
#include "vecmath.h"

#include <math.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx2"))) __m256d _ZGVdN4v_log1p(__m256d x);
__attribute__((target("avx2"))) __m256d _ZGVdN4v_exp(__m256d x);

__attribute__((target("avx2"))) static size_t log1p_avx2(double *x, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) _mm256_storeu_pd(x + i, _ZGVdN4v_log1p(_mm256_loadu_pd(x + i)));
  return i;
}

__attribute__((target("avx2"))) static size_t exp_avx2(double *x, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) _mm256_storeu_pd(x + i, _ZGVdN4v_exp(_mm256_loadu_pd(x + i)));
  return i;
}
#endif

int cas_cpu_has_avx2(void) {
#if defined(__x86_64__) && defined(__GNUC__)
  static int known = -1;
  int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
  if (k < 0) {
    __builtin_cpu_init();
    k = __builtin_cpu_supports("avx2") ? 1 : 0;
    __atomic_store_n(&known, k, __ATOMIC_RELAXED);
  }
  return k;
#else
  return 0;
#endif
}

void cas_log1p_many(double *x, size_t n) {
  size_t done = 0;
#if defined(__x86_64__) && defined(__GNUC__)
  if (cas_cpu_has_avx2()) done = log1p_avx2(x, n);
#endif
  for (size_t i = done; i < n; i++) x[i] = log1p(x[i]);
}

void cas_exp_many(double *x, size_t n) {
  size_t done = 0;
#if defined(__x86_64__) && defined(__GNUC__)
  if (cas_cpu_has_avx2()) done = exp_avx2(x, n);
#endif
  for (size_t i = done; i < n; i++) x[i] = exp(x[i]);
}
