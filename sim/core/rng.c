/*
 * rng.c: PCG generators and stream selection.
 *
 * pcg32: 64-bit LCG state, XSH-RR output (xorshift high, random rotate).
 * pcg64: 128-bit LCG state, XSL-RR output (xor the halves, random rotate).
 * Both as in O'Neill (2014), section 6.3, with the reference implementation's
 * seeding and multipliers; outputs are pinned by known-answer tests.
 *
 * Jump-ahead: an LCG step is x -> a x + c, so k steps are x -> A x + C with
 * A = a^k and C = c (a^(k-1) + ... + 1). Both are built by squaring in
 * O(log k) steps (F. Brown, Trans. Am. Nucl. Soc. 71, 1994).
 *
 * Streams: cas_rng_init(seed, purpose, index) starts every (seed, purpose)
 * at its own pseudo-random point of one pcg64 sequence and gives each index
 * a segment of 2^40 draws from there:
 *     start  = pcg64 seeded with (mix(seed, purpose), CAS_RNG_SEQUENCE)
 *     offset = index * 2^40
 * so the streams of one purpose never overlap, and a stream depends on
 * nothing but its three coordinates. Two purposes (or two seeds) start at
 * unrelated points of the 2^128 period: with fewer than 2^40 indices in use
 * their ranges of 2^80 draws overlap with probability below 2^-47.
 *
 * Why not offsets of purpose x 2^104, as before 2026-11-30: two states of a
 * power-of-two LCG that are 2^k steps apart differ by a fixed constant in
 * their low k + 2 bits (a^(2^k) = 1 mod 2^(k+2)), and XSL-RR folds those
 * low bits into every output, so streams of different purposes were
 * correlated draw for draw (uniforms of the same draw number: correlation
 * about 0.03 between the factor and idiosyncratic streams of a path, 0.04
 * between years 2^120 apart; tests/test_rng.c, rng_streams::
 * purposes_are_uncorrelated). Paths 2^40 apart are not affected in any way
 * we can measure (the high bits differ), and jumps within a stream (the
 * sparse kernel's buckets) are short.
 */
#include "rng.h"

#include <math.h>
#include <pthread.h>

#include "normal.h"

#define PCG32_MULT 6364136223846793005ULL
#define PCG64_MULT CAS_PCG64_MULT

/* The pcg64 sequence (increment) every stream of the project lives on. */
#define CAS_RNG_SEQUENCE ((cas_u128)0xca5cadeULL)

static inline uint32_t rotr32(uint32_t x, unsigned r) { return (x >> r) | (x << ((-r) & 31u)); }

void cas_pcg32_seed(cas_pcg32 *rng, uint64_t initstate, uint64_t initseq) {
  rng->state = 0u;
  rng->inc = (initseq << 1u) | 1u;
  cas_pcg32_next(rng);
  rng->state += initstate;
  cas_pcg32_next(rng);
}

uint32_t cas_pcg32_next(cas_pcg32 *rng) {
  uint64_t old = rng->state;
  rng->state = old * PCG32_MULT + rng->inc;
  uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
  return rotr32(xorshifted, (unsigned)(old >> 59u));
}

void cas_pcg32_advance(cas_pcg32 *rng, uint64_t delta) {
  uint64_t acc_mult = 1u, acc_plus = 0u, cur_mult = PCG32_MULT, cur_plus = rng->inc;
  while (delta > 0) {
    if (delta & 1u) {
      acc_mult *= cur_mult;
      acc_plus = acc_plus * cur_mult + cur_plus;
    }
    cur_plus = (cur_mult + 1u) * cur_plus;
    cur_mult *= cur_mult;
    delta >>= 1u;
  }
  rng->state = acc_mult * rng->state + acc_plus;
}

static inline void pcg64_step(cas_pcg64 *rng) { rng->state = rng->state * PCG64_MULT + rng->inc; }

void cas_pcg64_seed(cas_pcg64 *rng, cas_u128 initstate, cas_u128 initseq) {
  rng->state = 0u;
  rng->inc = (initseq << 1u) | 1u;
  pcg64_step(rng);
  rng->state += initstate;
  pcg64_step(rng);
}

void cas_pcg64_advance(cas_pcg64 *rng, cas_u128 delta) {
  cas_u128 acc_mult = 1u, acc_plus = 0u, cur_mult = PCG64_MULT, cur_plus = rng->inc;
  while (delta > 0) {
    if (delta & 1u) {
      acc_mult *= cur_mult;
      acc_plus = acc_plus * cur_mult + cur_plus;
    }
    cur_plus = (cur_mult + 1u) * cur_plus;
    cur_mult *= cur_mult;
    delta >>= 1u;
  }
  rng->state = acc_mult * rng->state + acc_plus;
}

/* spreads a small user seed over all bits of the initial state */
static uint64_t mix64(uint64_t z) {
  return cas_rng_mix64(z);
}

void cas_rng_init_book(cas_rng *rng, uint64_t seed, uint32_t purpose, uint64_t index) {
  cas_u128 initstate = ((cas_u128)mix64(seed) << 64) | mix64(seed ^ 0x5851f42d4c957f2dULL);
  cas_pcg64_seed(rng, initstate, CAS_RNG_SEQUENCE);
  cas_u128 offset = ((cas_u128)(purpose & 0xffffffu) << 104) |
                    ((cas_u128)index << CAS_RNG_SEGMENT_LOG2);
  cas_pcg64_advance(rng, offset);
}

/* The jumps by 2^(CAS_RNG_SEGMENT_LOG2 + j), j = 0..63, on the project's
 * sequence: the coefficients cas_pcg64_advance squares its way to, built
 * once by cas_rng_jump_by (pthread_once: threads start streams
 * concurrently), so that a stream's start composes one jump per set bit of
 * its index instead of squaring through 40 bits it does not have. The jumps are powers of one
 * affine map modulo 2^128, so they commute: the state is the one
 * cas_pcg64_advance reaches, bit for bit. */
static cas_rng_jump segment_jump[64];
static pthread_once_t segment_jump_once = PTHREAD_ONCE_INIT;

static void build_segment_jumps(void) {
  for (int j = 0; j < 64; j++)
    segment_jump[j] = cas_rng_jump_by((cas_u128)1 << (CAS_RNG_SEGMENT_LOG2 + j));
}

void cas_rng_init(cas_rng *rng, uint64_t seed, uint32_t purpose, uint64_t index) {
  /* (seed, purpose) through the SplitMix64 finaliser in a chain: every
   * input bit moves every bit of both halves of the start */
  uint64_t s = mix64(seed), p = (uint64_t)(purpose & 0xffffffu);
  uint64_t hi = mix64(s ^ mix64(p));
  uint64_t lo = mix64(hi ^ mix64(seed ^ 0x5851f42d4c957f2dULL) ^ p);
  cas_pcg64_seed(rng, ((cas_u128)hi << 64) | lo, CAS_RNG_SEQUENCE);
  /* advanced by index x 2^CAS_RNG_SEGMENT_LOG2 */
  pthread_once(&segment_jump_once, build_segment_jumps);
  for (uint64_t left = index; left; left &= left - 1)
    cas_rng_jump_from(rng, rng, &segment_jump[__builtin_ctzll(left)]);
}

/* The jump on the project's sequence (increment as cas_rng_init sets it):
 * the coefficients cas_pcg64_advance builds, kept instead of applied. */
cas_rng_jump cas_rng_jump_by(cas_u128 delta) {
  cas_u128 acc_mult = 1u, acc_plus = 0u, cur_mult = PCG64_MULT;
  cas_u128 cur_plus = (CAS_RNG_SEQUENCE << 1u) | 1u;
  while (delta > 0) {
    if (delta & 1u) {
      acc_mult *= cur_mult;
      acc_plus = acc_plus * cur_mult + cur_plus;
    }
    cur_plus = (cur_mult + 1u) * cur_plus;
    cur_mult *= cur_mult;
    delta >>= 1u;
  }
  return (cas_rng_jump){acc_mult, acc_plus};
}

double cas_rng_normal(cas_rng *rng) { return cas_norm_quantile(cas_rng_uniform_open(rng)); }

double cas_rng_gamma(cas_rng *rng, double shape) {
  /* outside its domain: no draw (an infinite or NaN shape never passes
   * the rejection test below: the loop would not end) */
  if (!(shape > 0.0) || !isfinite(shape)) return shape > 0.0 ? shape : NAN;
  if (shape < 1.0) {
    double g = cas_rng_gamma(rng, shape + 1.0);
    return g * pow(cas_rng_uniform_open(rng), 1.0 / shape);
  }
  double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x = cas_rng_normal(rng), v = 1.0 + c * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    double u = cas_rng_uniform_open(rng);
    if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
  }
}

/* Counter-based: the SplitMix64 finaliser applied in a chain to the key and
 * the two counters (the construction of Salmon et al., "Parallel random
 * numbers: as easy as 1, 2, 3", SC 2011, with SplitMix64's bijective mixer
 * as the round function). Each input passes through a full-avalanche
 * bijection before the next is folded in, so neighbouring counters give
 * unrelated outputs. */
uint64_t cas_rng_keyed_prefix(uint64_t seed, uint32_t purpose, uint64_t a) {
  return mix64(mix64(mix64(seed) ^ ((uint64_t)purpose << 32)) ^ a);
}


double cas_rng_keyed_uniform(uint64_t seed, uint32_t purpose, uint64_t a, uint64_t b) {
  return cas_rng_keyed_next(cas_rng_keyed_prefix(seed, purpose, a), b);
}

/* Inversion (Devroye, "Non-Uniform Random Variate Generation", 1986,
 * X.4.3): K is the least k with U < F(k), F summed from f(0) = q^m by
 * f(k + 1) = f(k) (m - k) / (k + 1) p / q, over a run of m trials whose
 * f(0) = q^m = f0 >= e^-700. Most draws of a sparse bucket are 0, settled
 * by the first comparison. */
static uint32_t binomial_search(double u, uint32_t m, double p, double f0) {
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

static uint32_t binomial_run(cas_rng *rng, uint32_t m, double p, double f0) {
  return binomial_search(cas_rng_uniform(rng), m, p, f0);
}

/* Runs of at most 700 / -log(1 - p) trials keep f0 a normal number; their
 * counts add up to Binomial(n, p), the runs being independent. */
static uint32_t binomial_low(cas_rng *rng, uint32_t n, double p) {
  double lq = log1p(-p);
  if ((double)n * -lq <= 700.0) return binomial_run(rng, n, p, exp((double)n * lq));
  uint32_t run = (uint32_t)floor(700.0 / -lq);
  if (run < 1) run = 1;
  double f_run = exp((double)run * lq);
  uint32_t k = 0;
  for (uint32_t done = 0; done < n;) {
    uint32_t m = n - done < run ? n - done : run;
    k += binomial_run(rng, m, p, m == run ? f_run : exp((double)m * lq));
    done += m;
  }
  return k;
}

/* log(k!) - log(sqrt(2 pi)) - (k + 1/2) log(k + 1) + (k + 1): the error of
 * Stirling's formula for k!, exactly from lgamma below 10 and from its
 * series beyond (Hoermann 1993, below). */
static double stirling_tail(double k) {
  if (k < 10.0) return lgamma(k + 1.0) - 0.91893853320467274178 - (k + 0.5) * log(k + 1.0) + (k + 1.0);
  double r = 1.0 / (k + 1.0), r2 = r * r;
  return (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / 1260.0 * r2) * r2) * r;
}

/* Algorithm BTRD, transformed rejection with decomposition: W. Hoermann,
 * "The generation of binomial random variates", Journal of Statistical
 * Computation and Simulation 46 (1993) 101-110. For n p >= 10 and
 * p <= 1/2: O(1) expected time, about 1.2 uniforms a draw; most draws are
 * accepted by the first test, the rest by the ratio of the pmf at k and at
 * the mode m (recursively when |k - m| <= 15, else from Stirling's formula
 * with its exact tail), so the law is exactly the binomial's up to the
 * rounding of those evaluations. */
static uint32_t binomial_btrd(cas_rng *rng, uint32_t n, double p) {
  double q = 1.0 - p, np = (double)n * p;
  double m = floor(((double)n + 1.0) * p), r = p / q, nr = ((double)n + 1.0) * r;
  double npq = np * q, spq = sqrt(npq);
  double b = 1.15 + 2.53 * spq, a = -0.0873 + 0.0248 * b + 0.01 * p, c = np + 0.5;
  double alpha = (2.83 + 5.1 / b) * spq, vr = 0.92 - 4.2 / b, urvr = 0.86 * vr;
  for (;;) {
    double v = cas_rng_uniform(rng), u;
    if (v <= urvr) {
      u = v / vr - 0.43;
      return (uint32_t)floor((2.0 * a / (0.5 - fabs(u)) + b) * u + c);
    }
    if (v >= vr) {
      u = cas_rng_uniform(rng) - 0.5;
    } else {
      u = v / vr - 0.93;
      u = (u < 0.0 ? -0.5 : 0.5) - u;
      v = cas_rng_uniform(rng) * vr;
    }
    double us = 0.5 - fabs(u);
    double kd = floor((2.0 * a / us + b) * u + c);
    if (kd < 0.0 || kd > (double)n) continue;
    v = v * alpha / (a / (us * us) + b);
    double km = fabs(kd - m);
    if (km <= 15.0) {   /* f(k) / f(m) by the ratios f(i) / f(i - 1) = nr / i - r */
      double f = 1.0;
      if (m < kd)
        for (double i = m + 1.0; i <= kd; i += 1.0) f *= nr / i - r;
      else
        for (double i = kd + 1.0; i <= m; i += 1.0) v *= nr / i - r;
      if (v <= f) return (uint32_t)kd;
      continue;
    }
    v = log(v);   /* squeeze on the log scale, then Stirling */
    double rho = (km / npq) * (((km / 3.0 + 0.625) * km + 1.0 / 6.0) / npq + 0.5);
    double t = -km * km / (2.0 * npq);
    if (v < t - rho) return (uint32_t)kd;
    if (v > t + rho) continue;
    double nm = (double)n - m + 1.0, nk = (double)n - kd + 1.0;
    double h = (m + 0.5) * log((m + 1.0) / (r * nm)) + stirling_tail(m) + stirling_tail((double)n - m);
    if (v <= h + ((double)n + 1.0) * log(nm / nk) + (kd + 0.5) * log(nk * r / (kd + 1.0)) -
                 stirling_tail(kd) - stirling_tail((double)n - kd))
      return (uint32_t)kd;
  }
}

/* Inversion for small means (its cost grows with the mean), BTRD beyond. */
static uint32_t binomial_half(cas_rng *rng, uint32_t n, double p) {
  return (double)n * p < 10.0 ? binomial_low(rng, n, p) : binomial_btrd(rng, n, p);
}

uint32_t cas_rng_binomial(cas_rng *rng, uint32_t n, double p) {
  if (!(p > 0.0) || n == 0) return 0;
  if (p >= 1.0) return n;
  /* 1 - p is exact for p >= 1/2 (Sterbenz) */
  return p <= 0.5 ? binomial_half(rng, n, p) : n - binomial_half(rng, n, 1.0 - p);
}

uint32_t cas_rng_binomial_inverse(cas_rng *rng, uint32_t n, double p) {
  if (!(p > 0.0) || n == 0) return 0;
  if (p >= 1.0) return n;
  return p <= 0.5 ? binomial_low(rng, n, p) : n - binomial_low(rng, n, 1.0 - p);
}

/* The search of binomial_search from an approximate f0, f0h: its partial
 * sums s'_j are the exact search's s_j computed from f0h instead of f0 by
 * the same operations, so |s'_j / s_j - 1| <= |f0h / f0 - 1| + (2 j + 2)
 * 2^-53 or so (each product and sum rounds on its own): below 1e-10 while
 * f0h is within 1e-11 of f0 and j <= 10^5. Both sequences increase with j
 * and K is the least j with u < s_j (or m): when u clears s'_(K-1) and
 * s'_K by a relative margin above that, every comparison falls as it
 * would with s_j, and K is the exact search's. Else (odds of about
 * 2 margin a draw, or K > 10^5) f0 is computed exactly and the search run
 * again with the same u. Only for one run (f0h >= 2^-1008 > e^-699, so
 * that (1 - p)^m >= e^-700 whatever f0h's error). */
uint32_t cas_rng_binomial_search_hinted(double u, uint32_t m, double p, double f0h, double margin) {
  if (u < f0h * (1.0 - margin)) return 0;
  if (u > f0h * (1.0 + margin)) {
    double r = p / (1.0 - p), f = f0h, sum = f0h, below = f0h;
    uint32_t j = 0;
    while (u >= sum && j < m) {
      f *= r * (double)(m - j) / (double)(j + 1);
      j++;
      below = sum;
      sum += f;
    }
    if (j <= 100000 && below <= u * (1.0 - margin) && (j == m || u < sum * (1.0 - margin))) return j;
  }
  return binomial_search(u, m, p, exp((double)m * log1p(-p)));
}

uint32_t cas_rng_binomial_inverse_hinted(cas_rng *rng, uint32_t n, double p, double f0h) {
  if (n > 0 && p > 0.0 && p <= 0.5 && f0h >= 0x1p-1008 && f0h <= 1.0)
    return cas_rng_binomial_search_hinted(cas_rng_uniform(rng), n, p, f0h,
                                          CAS_BINOMIAL_HINT_MARGIN);
  return cas_rng_binomial_inverse(rng, n, p);
}
