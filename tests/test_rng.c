/*
 * test_rng.c: PCG generators, jump-ahead, the stream layout and the
 * derived draws (uniform, open uniform, normal, bounded integer).
 *
 * Known answers come from the PCG reference implementation's published
 * output; the project's own stream is pinned separately (see
 * rng_pinned). Statistical tests use fixed seeds, so they are
 * deterministic; their tolerance is 4 Monte Carlo standard errors, loose
 * enough that a correct generator passes for essentially every seed
 * (two-sided 4-sigma: 6e-5) and tight enough that a bias of a few
 * thousandths in a mean, variance or tail probability fails.
 */
#include <criterion/criterion.h>

#include "timeout.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "rng.h"
#include "vecmath.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const cas_u128 ONE = 1;

/* ------------------------------------------------------------------ */
/* Known answers: pcg32_srandom_r(42, 54) and pcg64_srandom_r(42, 54)   */

Test(rng_known_answer, pcg32) {
  static const uint32_t want[] = {0xa15c02b7u, 0x7b47f409u, 0xba1d3330u,
                                  0x83d2f293u, 0xbfa4784bu, 0xcbed606eu};
  cas_pcg32 rng;
  cas_pcg32_seed(&rng, 42u, 54u);
  for (size_t i = 0; i < COUNT(want); i++) {
    uint32_t got = cas_pcg32_next(&rng);
    cr_expect(got == want[i], "pcg32 output %zu: 0x%08x, want 0x%08x", i, got, want[i]);
  }
}

Test(rng_known_answer, pcg64) {
  static const uint64_t want[] = {0x86b1da1d72062b68u, 0x1304aa46c9853d39u, 0xa3670e9e0dd50358u};
  cas_pcg64 rng;
  cas_pcg64_seed(&rng, 42u, 54u);
  for (size_t i = 0; i < COUNT(want); i++) {
    uint64_t got = cas_pcg64_next(&rng);
    cr_expect(got == want[i], "pcg64 output %zu: 0x%016llx, want 0x%016llx", i,
              (unsigned long long)got, (unsigned long long)want[i]);
  }
}

/* ------------------------------------------------------------------ */
/* Jump-ahead                                                           */

static const uint64_t STEPS[] = {0, 1, 2, 3, 7, 64, 100, 1000, 4096, 5003};

Test(rng_advance, pcg32_equals_stepping) {
  for (size_t s = 0; s < COUNT(STEPS); s++) {
    cas_pcg32 stepped, jumped;
    cas_pcg32_seed(&stepped, 12345u, 678u);
    jumped = stepped;
    for (uint64_t k = 0; k < STEPS[s]; k++) cas_pcg32_next(&stepped);
    cas_pcg32_advance(&jumped, STEPS[s]);
    cr_expect(jumped.state == stepped.state, "pcg32 advance(%llu) != %llu steps",
              (unsigned long long)STEPS[s], (unsigned long long)STEPS[s]);
    cr_expect(cas_pcg32_next(&jumped) == cas_pcg32_next(&stepped));
  }
}

Test(rng_advance, pcg64_equals_stepping) {
  for (size_t s = 0; s < COUNT(STEPS); s++) {
    cas_pcg64 stepped, jumped;
    cas_pcg64_seed(&stepped, (ONE << 100) + 12345u, 678u);
    jumped = stepped;
    for (uint64_t k = 0; k < STEPS[s]; k++) cas_pcg64_next(&stepped);
    cas_pcg64_advance(&jumped, STEPS[s]);
    cr_expect(jumped.state == stepped.state, "pcg64 advance(%llu) != %llu steps",
              (unsigned long long)STEPS[s], (unsigned long long)STEPS[s]);
    cr_expect(cas_pcg64_next(&jumped) == cas_pcg64_next(&stepped));
  }
}

/* Advancing by 2^64 - k (pcg32) or 2^128 - k (pcg64) is k steps back. */
Test(rng_advance, wrap_goes_back) {
  for (size_t s = 0; s < COUNT(STEPS); s++) {
    uint64_t k = STEPS[s];
    cas_pcg32 a, start32;
    cas_pcg32_seed(&a, 99u, 7u);
    start32 = a;
    for (uint64_t i = 0; i < k; i++) cas_pcg32_next(&a);
    cas_pcg32_advance(&a, 0u - k);
    cr_expect(a.state == start32.state, "pcg32 advance(2^64 - %llu) did not go back",
              (unsigned long long)k);

    cas_pcg64 b, start64;
    cas_pcg64_seed(&b, 99u, 7u);
    start64 = b;
    for (uint64_t i = 0; i < k; i++) cas_pcg64_next(&b);
    cas_pcg64_advance(&b, (cas_u128)0 - k);
    cr_expect(b.state == start64.state, "pcg64 advance(2^128 - %llu) did not go back",
              (unsigned long long)k);
  }
}

/* Jumps too long to step: advance(a) then advance(b) equals advance(a + b),
 * which exercises the high bits of the delta. */
Test(rng_advance, pcg64_long_jumps_compose) {
  const cas_u128 a = (ONE << 104) * 99u + (ONE << 40) * 12345u + 17u;
  const cas_u128 b = (ONE << 127) + (ONE << 64) + 3u;
  cas_pcg64 two, one;
  cas_pcg64_seed(&two, 5u, 6u);
  one = two;
  cas_pcg64_advance(&two, a);
  cas_pcg64_advance(&two, b);
  cas_pcg64_advance(&one, a + b);
  cr_expect(two.state == one.state);
}

/* ------------------------------------------------------------------ */
/* Streams: (seed, purpose, index) -> a segment of one pcg64 sequence   */

static int same_draws(cas_rng a, cas_rng b, int n) {
  for (int i = 0; i < n; i++)
    if (cas_rng_u64(&a) != cas_rng_u64(&b)) return 0;
  return 1;
}

Test(rng_streams, same_coordinates_same_sequence) {
  cas_rng a, b;
  cas_rng_init(&a, 2024u, CAS_RNG_FACTORS, 31337u);
  cas_rng_init(&b, 2024u, CAS_RNG_FACTORS, 31337u);
  cr_expect(same_draws(a, b, 1000));
}

Test(rng_streams, any_coordinate_changes_the_sequence) {
  cas_rng base, other;
  cas_rng_init(&base, 2024u, CAS_RNG_FACTORS, 5u);
  struct { uint64_t seed; uint32_t purpose; uint64_t index; } nearby[] = {
      {2025u, CAS_RNG_FACTORS, 5u},       {2023u, CAS_RNG_FACTORS, 5u},
      {0u, CAS_RNG_FACTORS, 5u},          {2024u, CAS_RNG_IDIOSYNCRATIC, 5u},
      {2024u, CAS_RNG_PORTFOLIO, 5u},     {2024u, CAS_RNG_FACTORS, 4u},
      {2024u, CAS_RNG_FACTORS, 6u},       {2024u, CAS_RNG_FACTORS, 5u + (1ull << 63)},
  };
  for (size_t i = 0; i < COUNT(nearby); i++) {
    cas_rng_init(&other, nearby[i].seed, nearby[i].purpose, nearby[i].index);
    cas_rng a = base;
    int equal = 0;
    for (int k = 0; k < 4; k++) equal += cas_rng_u64(&a) == cas_rng_u64(&other);
    cr_expect(equal == 0, "stream %zu shares draws with the base stream", i);
  }
}

/* The documented layout: stream (seed, p, i) starts i * 2^40 steps after
 * stream (seed, p, 0), so the indices of a purpose own 2^40 draws each.
 * Checked without knowing how the seed and purpose are mixed. */
Test(rng_streams, layout) {
  static const struct { uint32_t purpose; uint64_t index; } at[] = {
      {0u, 1u},       {CAS_RNG_FACTORS, 0u}, {CAS_RNG_FACTORS, 1u},
      {CAS_RNG_IDIOSYNCRATIC, 123456789u},   {CAS_RNG_TEST, UINT64_MAX},
      {(1u << 24) - 1u, 1ull << 63},
  };
  const uint64_t seeds[] = {0u, 1u, 0xdeadbeefcafef00dull};
  for (size_t s = 0; s < COUNT(seeds); s++) {
    for (size_t i = 0; i < COUNT(at); i++) {
      cas_rng base, stream, jumped;
      cas_rng_init(&base, seeds[s], at[i].purpose, 0u);
      jumped = base;
      cas_rng_init(&stream, seeds[s], at[i].purpose, at[i].index);
      cas_pcg64_advance(&jumped, (cas_u128)at[i].index << CAS_RNG_SEGMENT_LOG2);
      cr_expect(stream.state == jumped.state && stream.inc == jumped.inc,
                "seed %zu: stream (%u, %llu) is not at its documented offset", s,
                at[i].purpose, (unsigned long long)at[i].index);

      /* The next index starts exactly one segment later. */
      if (at[i].index == UINT64_MAX) continue;
      cas_rng next;
      cas_rng_init(&next, seeds[s], at[i].purpose, at[i].index + 1u);
      cas_pcg64_advance(&stream, ONE << CAS_RNG_SEGMENT_LOG2);
      cr_expect(same_draws(stream, next, 8));
    }
  }
}

/* Streams of different purposes (and years: cas_rng_purpose_year) of the
 * same seed and index are uncorrelated draw for draw: the correlation of
 * the k-th uniforms of the two streams, over 2,000 indices x 1,000 draws,
 * within 4 standard errors (1 / sqrt(n)) of 0. Streams that start a
 * multiple of 2^104 steps apart, as before 2026-11-30, fail it (about
 * 0.03, 40 standard errors: rng.c). */
static double draw_correlation(uint32_t pa, uint32_t pb, uint64_t seed, long *n) {
  double sxy = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
  *n = 0;
  for (uint64_t i = 0; i < 2000; i++) {
    cas_rng a, b;
    cas_rng_init(&a, seed, pa, i);
    cas_rng_init(&b, seed, pb, i);
    for (int k = 0; k < 1000; k++, (*n)++) {
      double x = cas_rng_uniform(&a), y = cas_rng_uniform(&b);
      sxy += x * y, sx += x, sy += y, sxx += x * x, syy += y * y;
    }
  }
  double m = (double)*n, cov = sxy / m - sx / m * (sy / m);
  return cov / sqrt((sxx / m - sx / m * (sx / m)) * (syy / m - sy / m * (sy / m)));
}

Test(rng_streams, purposes_are_uncorrelated, .timeout = CAS_TEST_TIMEOUT(60)) {
  static const uint32_t pairs[][2] = {
      {CAS_RNG_FACTORS, CAS_RNG_IDIOSYNCRATIC}, {CAS_RNG_FACTORS, CAS_RNG_SPARSE},
      {CAS_RNG_PORTFOLIO, CAS_RNG_IDIOSYNCRATIC}, {CAS_RNG_IDIOSYNCRATIC, CAS_RNG_IDIOSYNCRATIC | (1u << 16)},
      {CAS_RNG_SPARSE, CAS_RNG_SPARSE | (2u << 16)}, {CAS_RNG_FACTORS, CAS_RNG_FACTORS | (1u << 23)},
  };
  for (size_t i = 0; i < COUNT(pairs); i++) {
    long n;
    double r = draw_correlation(pairs[i][0], pairs[i][1], 17u, &n);
    cr_log_info("purposes %u and %u: correlation %+.5f (%.2f s.e.)", pairs[i][0], pairs[i][1], r,
                r * sqrt((double)n));
    cr_expect_leq(fabs(r), 4.0 / sqrt((double)n), "purposes %u and %u: correlation %g",
                  pairs[i][0], pairs[i][1], r);
  }
}

/* ------------------------------------------------------------------ */
/* The project's own stream: the reproducibility contract               */

/* These values pin cas_rng_init's whole recipe (seed and purpose mixing,
 * the sequence constant, the offsets) and the conversions to uniforms.
 * Every result file is a function of them: change any and a run with the
 * same scenario and seed no longer reproduces old results. They come from
 * the recipe written again in Python integers from its description
 * (tests/data/rng_recipe.py), not from this implementation. Changed once,
 * on 2026-11-30 (version 0.2.0), announced in docs/MODEL.md (Random
 * numbers): the earlier recipe started purposes 2^104 steps apart, which
 * made their draws correlated (rng.c). */
Test(rng_pinned, stream_seed1_test0) {
  static const uint64_t want_u64[] = {0x5f35e46f8ff38312u, 0x430f8d4425d68ea0u,
                                      0xc0b601af409abda3u};
  static const double want_open[] = {0x1.698e6f31e160dp-1, 0x1.c7f492f7f1e42p-2,
                                      0x1.a7a0208748d36p-2};
  cas_rng rng;
  cas_rng_init(&rng, 1u, CAS_RNG_TEST, 0u);
  for (size_t i = 0; i < COUNT(want_u64); i++) {
    uint64_t got = cas_rng_u64(&rng);
    cr_expect(got == want_u64[i], "draw %zu: 0x%016llx, want 0x%016llx", i,
              (unsigned long long)got, (unsigned long long)want_u64[i]);
  }
  for (size_t i = 0; i < COUNT(want_open); i++) {
    double got = cas_rng_uniform_open(&rng);
    cr_expect(got == want_open[i], "uniform_open %zu: %a, want %a", i, got, want_open[i]);
  }
}

/* ------------------------------------------------------------------ */
/* Derived draws                                                        */

/* A generator whose next 64-bit output is `out_is_ones ? 2^64-1 : 0`:
 * XSL-RR outputs hi ^ lo rotated, so a state with lo = ~hi (or lo = hi)
 * gives all ones (or zero); stepping back once makes next() land on it. */
static cas_rng rng_with_next_output(int out_is_ones) {
  const uint64_t hi = 0x0123456789abcdefu;
  cas_rng rng;
  cas_rng_init(&rng, 7u, CAS_RNG_TEST, 0u);
  rng.state = ((cas_u128)hi << 64) | (out_is_ones ? ~hi : hi);
  cas_pcg64_advance(&rng, (cas_u128)0 - 1u);
  return rng;
}

Test(rng_uniform, extremes) {
  cas_rng r;
  r = rng_with_next_output(1);
  cr_assert(cas_rng_u64(&r) == UINT64_MAX, "test setup: could not force the all-ones output");
  r = rng_with_next_output(0);
  cr_assert(cas_rng_u64(&r) == 0u, "test setup: could not force the zero output");

  r = rng_with_next_output(0);
  cr_expect(cas_rng_uniform(&r) == 0.0);
  r = rng_with_next_output(1);
  double top = cas_rng_uniform(&r);
  cr_expect(top < 1.0, "uniform reached %a", top);

  r = rng_with_next_output(0);
  double open_lo = cas_rng_uniform_open(&r);
  r = rng_with_next_output(1);
  double open_hi = cas_rng_uniform_open(&r);
  cr_expect(open_lo > 0.0 && open_hi < 1.0, "uniform_open gave %a and %a", open_lo, open_hi);
  /* Symmetric: the largest value is 1 minus the smallest, so normal draws
   * by inversion are symmetric too. */
  cr_expect(open_hi == 1.0 - open_lo, "uniform_open range not symmetric: %a, %a", open_lo, open_hi);

  r = rng_with_next_output(0);
  double z_lo = cas_rng_normal(&r);
  r = rng_with_next_output(1);
  double z_hi = cas_rng_normal(&r);
  cr_expect(isfinite(z_lo) && isfinite(z_hi) && z_lo == -z_hi, "normal extremes %g, %g", z_lo,
            z_hi);
}

Test(rng_uniform, range) {
  cas_rng rng;
  cas_rng_init(&rng, 11u, CAS_RNG_TEST, 1u);
  for (int i = 0; i < 1000000; i++) {
    double u = cas_rng_uniform(&rng);
    cr_assert(u >= 0.0 && u < 1.0, "uniform draw %d = %a", i, u);
    double v = cas_rng_uniform_open(&rng);
    cr_assert(v > 0.0 && v < 1.0, "uniform_open draw %d = %a", i, v);
  }
}

/* Mean and variance of 10^6 uniforms. Standard errors: mean sqrt(1/12/n);
 * sample variance sqrt((mu4 - sigma^4)/n) with mu4 = 1/80, sigma^4 = 1/144,
 * i.e. sqrt(1/(180 n)). Tolerance 4 standard errors. */
Test(rng_statistics, uniform_moments) {
  const int n = 1000000;
  cas_rng rng;
  cas_rng_init(&rng, 12u, CAS_RNG_TEST, 2u);
  double sum = 0.0, sumsq = 0.0;
  for (int i = 0; i < n; i++) {
    double u = cas_rng_uniform(&rng) - 0.5;
    sum += u;
    sumsq += u * u;
  }
  double mean = sum / n, var = sumsq / n - mean * mean;
  double se_mean = sqrt(1.0 / 12.0 / n), se_var = sqrt(1.0 / (180.0 * n));
  cr_expect(fabs(mean) <= 4 * se_mean, "uniform mean off by %g (4 SE = %g)", mean, 4 * se_mean);
  cr_expect(fabs(var - 1.0 / 12.0) <= 4 * se_var, "uniform variance %g (4 SE = %g)", var,
            4 * se_var);
}

/* 10^6 normals. Standard errors: mean 1/sqrt(n); variance sqrt(2/n)
 * (mu4 = 3); P(Z < -2.326) = 0.0100092753... (mpmath), SE sqrt(p(1-p)/n).
 * Tolerance 4 standard errors. */
Test(rng_statistics, normal_moments_and_tail) {
  const int n = 1000000;
  const double p_tail = 0.010009275340867665;
  cas_rng rng;
  cas_rng_init(&rng, 13u, CAS_RNG_TEST, 3u);
  double sum = 0.0, sumsq = 0.0;
  long tail = 0;
  for (int i = 0; i < n; i++) {
    double z = cas_rng_normal(&rng);
    sum += z;
    sumsq += z * z;
    tail += z < -2.326;
  }
  double mean = sum / n, var = sumsq / n - mean * mean, frac = (double)tail / n;
  double se_mean = 1.0 / sqrt(n), se_var = sqrt(2.0 / n), se_tail = sqrt(p_tail * (1 - p_tail) / n);
  cr_expect(fabs(mean) <= 4 * se_mean, "normal mean %g (4 SE = %g)", mean, 4 * se_mean);
  cr_expect(fabs(var - 1.0) <= 4 * se_var, "normal variance %g (4 SE = %g)", var, 4 * se_var);
  cr_expect(fabs(frac - p_tail) <= 4 * se_tail, "P(Z < -2.326) = %g, want %g (4 SE = %g)", frac,
            p_tail, 4 * se_tail);
}

Test(rng_below, range) {
  static const uint64_t ns[] = {1u, 2u, 3u, 7u, 1000u, (1ull << 32) + 1u, 1ull << 63,
                                (1ull << 63) + 1u, UINT64_MAX};
  cas_rng rng;
  cas_rng_init(&rng, 14u, CAS_RNG_TEST, 4u);
  for (size_t i = 0; i < COUNT(ns); i++)
    for (int k = 0; k < 20000; k++) {
      uint64_t v = cas_rng_below(&rng, ns[i]);
      cr_assert(v < ns[i], "below(%llu) gave %llu", (unsigned long long)ns[i],
                (unsigned long long)v);
    }
}

/* n = 3 * 2^62 is where the two classic shortcuts are most biased: plain
 * modulo puts probability 1/2 (not 1/3) on [0, n/3), and multiply-shift
 * without rejection puts 1/2 (not 1/3) on multiples of 3. Both fractions
 * must be 1/3 within 4 standard errors, sqrt((1/3)(2/3)/N). A small n is
 * checked bucket by bucket the same way. */
Test(rng_below, unbiased) {
  const int N = 300000;
  const uint64_t n = 3ull << 62;
  cas_rng rng;
  cas_rng_init(&rng, 15u, CAS_RNG_TEST, 5u);
  long low_third = 0, mult3 = 0;
  for (int i = 0; i < N; i++) {
    uint64_t v = cas_rng_below(&rng, n);
    low_third += v < (1ull << 62);
    mult3 += v % 3u == 0u;
  }
  double se = sqrt((1.0 / 3.0) * (2.0 / 3.0) / N);
  cr_expect(fabs((double)low_third / N - 1.0 / 3.0) <= 4 * se, "modulo bias: P(v < n/3) = %g",
            (double)low_third / N);
  cr_expect(fabs((double)mult3 / N - 1.0 / 3.0) <= 4 * se, "multiply bias: P(3 | v) = %g",
            (double)mult3 / N);

  enum { K = 6 };
  long count[K] = {0};
  for (int i = 0; i < N; i++) count[cas_rng_below(&rng, K)]++;
  double se_k = sqrt((1.0 / K) * (1.0 - 1.0 / K) / N);
  for (int k = 0; k < K; k++)
    cr_expect(fabs((double)count[k] / N - 1.0 / K) <= 4 * se_k, "below(6): P(%d) = %g", k,
              (double)count[k] / N);
}

/* The keyed draws of a cascade: the two-step form is the one-step function,
 * bit for bit; every coordinate matters; the values are uniform (mean 1/2
 * and variance 1/12 over 200,000 keys, within 5 standard errors:
 * SE of the mean 0.2887/sqrt(M), of the mean square about 0.2981/sqrt(M)). */
Test(rng_keyed, prefix_form_is_the_same_function) {
  for (uint64_t a = 0; a < 50; a++) {
    uint64_t pre = cas_rng_keyed_prefix(12345, CAS_RNG_CONTAGION, a);
    for (uint64_t b = 0; b < 200; b++)
      cr_assert_eq(cas_rng_keyed_next(pre, b * 7919),
                   cas_rng_keyed_uniform(12345, CAS_RNG_CONTAGION, a, b * 7919));
  }
  double x = cas_rng_keyed_uniform(1, CAS_RNG_CONTAGION, 2, 3);
  cr_assert_neq(x, cas_rng_keyed_uniform(2, CAS_RNG_CONTAGION, 2, 3));
  cr_assert_neq(x, cas_rng_keyed_uniform(1, CAS_RNG_TEST, 2, 3));
  cr_assert_neq(x, cas_rng_keyed_uniform(1, CAS_RNG_CONTAGION, 3, 3));
  cr_assert_neq(x, cas_rng_keyed_uniform(1, CAS_RNG_CONTAGION, 2, 4));
  const int m = 200000;
  double s1 = 0.0, s2 = 0.0;
  uint64_t pre = cas_rng_keyed_prefix(9, CAS_RNG_CONTAGION, 17);
  for (int k = 0; k < m; k++) {
    double u = cas_rng_keyed_next(pre, (uint64_t)k);
    cr_assert(u > 0.0 && u < 1.0);
    s1 += u;
    s2 += u * u;
  }
  cr_assert(fabs(s1 / m - 0.5) < 5 * 0.2887 / sqrt(m), "mean %g", s1 / m);
  cr_assert(fabs(s2 / m - 1.0 / 3.0) < 5 * 0.2981 / sqrt(m), "mean square %g", s2 / m);
}

/* ------------------------------------------------------------------ */
/* Binomial(n, p): the law by a chi-square test against the pmf (from
 * lgamma, not the generator's recursion), cells with fewer than 5
 * expected draws merged into their neighbours; 200,000 draws per case,
 * fixed seeds; the critical value is the chi-square's at level 1e-6
 * (Wilson and Hilferty's approximation, z = 4.75). Cases cover the search
 * from 0, several runs of trials (n (-log(1 - p)) > 700), each branch of
 * BTRD (means from 10 to 1.2e6) and p > 1/2 (failures counted). A 2% error
 * in p moves the mean of the (700, 0.011) case by 25 standard errors.                                         */

static double binomial_log_pmf(uint32_t n, double p, uint32_t k) {
  return lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0) + k * log(p) +
         (n - k) * log1p(-p);
}

static void binomial_fits(uint32_t n, double p, uint64_t seed) {
  enum { DRAWS = 200000 };
  double mean = n * p, sd = sqrt(n * p * (1 - p));
  /* cells over mean +- 8 sd (the rest merged into the end cells) */
  uint32_t lo = mean - 8 * sd > 0 ? (uint32_t)(mean - 8 * sd) : 0;
  uint32_t hi = mean + 8 * sd < n ? (uint32_t)(mean + 8 * sd) + 1 : n;
  size_t cells = hi - lo + 1;
  double *seen = calloc(cells, sizeof *seen), *want = calloc(cells, sizeof *want);
  cr_assert(seen && want);
  cas_rng rng;
  cas_rng_init(&rng, seed, CAS_RNG_TEST, 0);
  double sum = 0.0;
  for (int i = 0; i < DRAWS; i++) {
    uint32_t k = cas_rng_binomial(&rng, n, p);
    cr_assert_leq(k, n);
    sum += k;
    seen[(k < lo ? lo : k > hi ? hi : k) - lo] += 1;
  }
  double below = 0.0;
  for (uint32_t k = 0; k < lo; k++) below += exp(binomial_log_pmf(n, p, k));
  for (uint32_t k = lo; k <= hi; k++) want[k - lo] = DRAWS * exp(binomial_log_pmf(n, p, k));
  want[0] += DRAWS * below;
  double inside = 0.0;
  for (size_t c = 0; c < cells; c++) inside += want[c];
  want[cells - 1] += DRAWS - inside;   /* the upper tail */
  /* merge small cells from both ends inwards */
  double chi2 = 0.0, o = 0.0, e = 0.0;
  int df = -1;
  for (size_t c = 0; c < cells; c++) {
    o += seen[c];
    e += want[c];
    if (e >= 5.0 || c == cells - 1) {
      if (e > 0) chi2 += (o - e) * (o - e) / e, df++;
      o = e = 0.0;
    }
  }
  double h = 2.0 / (9.0 * df), crit = df * pow(1.0 - h + 4.75 * sqrt(h), 3.0);
  double got = sum / DRAWS, se = sd / sqrt(DRAWS);
  cr_log_info("binomial(%u, %g): mean %.4f (want %.4f, se %.4f), chi2 %.1f on %d df (critical %.1f)",
              n, p, got, mean, se, chi2, df, crit);
  cr_expect_leq(fabs(got - mean), 4 * se + 1e-12, "binomial(%u, %g): mean %g, want %g", n, p, got, mean);
  cr_expect_lt(chi2, crit, "binomial(%u, %g): chi2 %g on %d df", n, p, chi2, df);
  free(seen);
  free(want);
}

Test(rng_binomial, law, .timeout = CAS_TEST_TIMEOUT(120)) {
  binomial_fits(10, 0.3, 1);         /* inversion (mean < 10) */
  binomial_fits(700, 0.011, 2);      /* a PD grade's bucket: mostly 0 to 20 */
  binomial_fits(200000, 4.9e-5, 3);  /* inversion in 14 runs, mean 9.8 */
  binomial_fits(1000, 0.01, 4);      /* BTRD from here: mean 10, |k - m| <= 15 mostly */
  binomial_fits(200, 0.1, 5);        /* mean 20 */
  binomial_fits(5000, 0.011, 6);     /* mean 55: the squeeze and Stirling's formula */
  binomial_fits(100, 0.5, 7);
  binomial_fits(3000, 0.5, 8);
  binomial_fits(5000, 0.8, 9);       /* failures counted */
  binomial_fits(100000, 0.02, 10);   /* mean 2000 */
  binomial_fits(4000000, 0.3, 11);   /* mean 1.2e6, sd 917 */
  binomial_fits(1, 0.999, 12);
}

/* The inversion: the same law (means 3 to 2000), and monotone in p for
 * one stream, as common random numbers between scenarios need. */
static void inverse_fits(uint32_t n, double p, uint64_t seed) {
  enum { DRAWS = 100000 };
  cas_rng rng;
  cas_rng_init(&rng, seed, CAS_RNG_TEST, 1);
  double sum = 0.0, sum2 = 0.0;
  for (int i = 0; i < DRAWS; i++) {
    double k = cas_rng_binomial_inverse(&rng, n, p);
    sum += k;
    sum2 += k * k;
  }
  double mean = n * p, var = n * p * (1 - p), m = sum / DRAWS, v = sum2 / DRAWS - m * m;
  /* the variance's standard error: sqrt((mu4 - var^2) / D), mu4 ~ 3 var^2 */
  cr_expect_leq(fabs(m - mean), 4 * sqrt(var / DRAWS), "inverse(%u, %g): mean %g", n, p, m);
  cr_expect_leq(fabs(v - var), 4 * var * sqrt(2.0 / DRAWS) + 1e-9, "inverse(%u, %g): var %g", n, p, v);
}

Test(rng_binomial, inversion_law_and_monotone) {
  inverse_fits(300, 0.01, 1);
  inverse_fits(5000, 0.011, 2);
  inverse_fits(100000, 0.02, 3);
  inverse_fits(900, 0.7, 4);
  for (int s = 0; s < 2000; s++) {
    uint32_t last = 0;
    for (double p = 0.001; p < 0.999; p *= 1.37) {
      cas_rng rng;
      cas_rng_init(&rng, 77, CAS_RNG_TEST, (uint64_t)s);
      uint32_t k = cas_rng_binomial_inverse(&rng, 700, p);
      if (p <= 0.5) cr_assert_geq(k, last, "stream %d: p %g gave %u after %u", s, p, k, last);
      last = p <= 0.5 ? k : 0;
    }
  }
}

Test(rng_binomial, ends) {
  cas_rng rng;
  cas_rng_init(&rng, 7, CAS_RNG_TEST, 0);
  for (int i = 0; i < 100; i++) {
    cr_assert_eq(cas_rng_binomial(&rng, 1000, 0.0), 0);
    cr_assert_eq(cas_rng_binomial(&rng, 1000, 1.0), 1000);
    cr_assert_eq(cas_rng_binomial(&rng, 0, 0.5), 0);
    cr_assert_eq(cas_rng_binomial(&rng, UINT32_MAX, 1e-300), 0);
  }
}

/* The inversion from an approximate start, (1 - p)^m within 1e-11 (the
 * sparse kernel's, from vector log1p and exp): the same count as the
 * exact search for every u, also for the u that sit on or next to the
 * boundaries s_j of the exact search (the reference below is that search,
 * Devroye's inversion as rng.c writes it). Without its margin the
 * approximate search does miss some of them (so the boundaries are
 * where this test looks). */
static uint32_t exact_search(double u, uint32_t m, double p) {
  double f0 = exp((double)m * log1p(-p));
  if (u < f0) return 0;
  double r = p / (1.0 - p), f = f0, sum = f0;
  uint32_t j = 0;
  while (u >= sum && j < m) {
    f *= r * (double)(m - j) / (double)(j + 1);
    j++;
    sum += f;
  }
  return j;
}

Test(rng_binomial, hinted_search_is_the_exact_search) {
  static const uint32_t ms[] = {1, 7, 50, 700, 5000, 200000};
  static const double ps[] = {1e-6, 1e-3, 0.011, 0.1, 0.3, 0.5};
  static const double err[] = {0.0, 1e-11, -1e-11, 3e-12};
  cas_rng rng;
  cas_rng_init(&rng, 11, CAS_RNG_TEST, 0);
  long checked = 0, missed_without_margin = 0;
  for (size_t a = 0; a < COUNT(ms); a++)
    for (size_t b = 0; b < COUNT(ps); b++) {
      uint32_t m = ms[a];
      double p = ps[b];
      if ((double)m * -log1p(-p) > 690.0) continue;   /* one run only */
      double f0 = exp((double)m * log1p(-p));
      /* the boundaries s_0 .. s_40 and their neighbours, and 200 uniforms */
      double us[3 * 41 + 200];
      int nu = 0;
      double r = p / (1.0 - p), f = f0, sum = f0;
      for (uint32_t j = 0; j <= 40 && j <= m; j++) {
        us[nu++] = sum;
        us[nu++] = nextafter(sum, 0.0);
        us[nu++] = nextafter(sum, 1.0);
        f *= r * (double)(m - j) / (double)(j + 1);
        sum += f;
      }
      for (int i = 0; i < 200; i++) us[nu++] = cas_rng_uniform(&rng);
      for (size_t e = 0; e < COUNT(err); e++) {
        double f0h = f0 * (1.0 + err[e]);
        for (int i = 0; i < nu; i++) {
          if (!(us[i] < 1.0)) continue;
          uint32_t want = exact_search(us[i], m, p);
          cr_assert_eq(cas_rng_binomial_search_hinted(us[i], m, p, f0h, CAS_BINOMIAL_HINT_MARGIN),
                       want, "m %u, p %g, u %.17g, f0 off by %g", m, p, us[i], err[e]);
          checked++;
          if (cas_rng_binomial_search_hinted(us[i], m, p, f0h, 0.0) != want) missed_without_margin++;
        }
      }
    }
  cr_log_info("hinted search: %ld draws checked, %ld missed without the margin", checked,
              missed_without_margin);
  cr_expect_gt(missed_without_margin, 0, "the boundaries were not exercised");
}

/* From a stream: the same counts and the same draws used as
 * cas_rng_binomial_inverse, with the start from the vector functions, and
 * with starts it must not use (p > 1/2, several runs, NaN, 0). */
Test(rng_binomial, hinted_draws_are_the_inverse_draws) {
  static const uint32_t ns[] = {3, 700, 5000, 100000, 2000000};
  static const double ps[] = {2e-5, 0.004, 0.02, 0.25, 0.5, 0.7};
  double start[COUNT(ns) * COUNT(ps)];
  for (size_t a = 0; a < COUNT(ns); a++)
    for (size_t b = 0; b < COUNT(ps); b++) start[a * COUNT(ps) + b] = -ps[b];
  cas_log1p_many(start, COUNT(start));
  for (size_t a = 0; a < COUNT(ns); a++)
    for (size_t b = 0; b < COUNT(ps); b++) start[a * COUNT(ps) + b] *= (double)ns[a];
  cas_exp_many(start, COUNT(start));
  for (size_t i = 0; i < COUNT(start); i++)
    for (int bad = 0; bad < 3; bad++) {
      uint32_t n = ns[i / COUNT(ps)];
      double p = ps[i % COUNT(ps)], f0h = bad == 0 ? start[i] : bad == 1 ? NAN : 0.0;
      if ((double)n * fmin(p, 1.0 - p) > 30000.0) continue;   /* O(mean) a draw */
      cas_rng x, y;
      cas_rng_init(&x, 5, CAS_RNG_TEST, i);
      cas_rng_init(&y, 5, CAS_RNG_TEST, i);
      for (int d = 0; d < 300; d++) {
        uint32_t want = cas_rng_binomial_inverse(&x, n, p);
        cr_assert_eq(cas_rng_binomial_inverse_hinted(&y, n, p, f0h), want, "n %u, p %g, draw %d", n,
                     p, d);
      }
      cr_assert_eq(cas_rng_uniform(&x), cas_rng_uniform(&y), "n %u, p %g: draws used differ", n, p);
    }
}

/* The gamma sampler outside its domain draws nothing and ends: an
 * infinite or NaN shape never passed its rejection test (a hang, reached
 * through the beta LGD model with a vanishing standard deviation). */
Test(rng_gamma, shapes_outside_the_domain_end, .timeout = CAS_TEST_TIMEOUT(10)) {
  cas_rng r;
  cas_rng_init(&r, 1, CAS_RNG_TEST, 0);
  cr_assert(isnan(cas_rng_gamma(&r, NAN)));
  cr_assert(isnan(cas_rng_gamma(&r, 0.0)));
  cr_assert(isnan(cas_rng_gamma(&r, -1.0)));
  cr_assert(isinf(cas_rng_gamma(&r, INFINITY)));
  double big = cas_rng_gamma(&r, 1e300);   /* finite: its mean, to rounding */
  cr_assert(isfinite(big) && fabs(big / 1e300 - 1.0) < 1e-9, "%g", big);
}
