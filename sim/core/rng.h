/*
 * rng.h: PCG random number generators and the project's stream scheme.
 *
 * Generators: pcg32 (XSH-RR 64/32) and pcg64 (XSL-RR 128/64), written from
 * M. E. O'Neill, "PCG: A Family of Simple Fast Space-Efficient Statistically
 * Good Algorithms for Random Number Generation", HMC-CS-2014-0905 (2014),
 * with O(log n) jump-ahead (Brown, "Random number generation with arbitrary
 * strides", Trans. Am. Nucl. Soc. 1994).
 *
 * Streams: every random number the simulation uses comes from a stream
 * chosen by (seed, purpose, index) only - index is a path, a block of paths
 * or a block of loans - never by thread id or time, so results are
 * bit-identical for any number of threads. See rng.c for the layout.
 */
#ifndef CASCADE_RNG_H
#define CASCADE_RNG_H

#include <stdint.h>

typedef unsigned __int128 cas_u128;

typedef struct cas_pcg32 { uint64_t state, inc; } cas_pcg32;
typedef struct cas_pcg64 { cas_u128 state, inc; } cas_pcg64;

/* Seeding as in the reference implementation (pcg32_srandom_r). */
void cas_pcg32_seed(cas_pcg32 *rng, uint64_t initstate, uint64_t initseq);
uint32_t cas_pcg32_next(cas_pcg32 *rng);
/* Moves the generator delta steps ahead (delta may wrap: going back). */
void cas_pcg32_advance(cas_pcg32 *rng, uint64_t delta);

void cas_pcg64_seed(cas_pcg64 *rng, cas_u128 initstate, cas_u128 initseq);
/* The generator's multiplier (O'Neill's default 128-bit LCG multiplier). */
#define CAS_PCG64_MULT \
  (((cas_u128)2549297995355413924ULL << 64) | (cas_u128)4865540595714422341ULL)
/* One draw: the LCG step, then the XSL-RR output function. Inline, since
 * the kernels draw once or twice per candidate default. */
static inline uint64_t cas_pcg64_next(cas_pcg64 *rng) {
  rng->state = rng->state * CAS_PCG64_MULT + rng->inc;
  cas_u128 s = rng->state;
  uint64_t x = (uint64_t)(s >> 64u) ^ (uint64_t)s;
  unsigned r = (unsigned)(s >> 122u);
  return (x >> r) | (x << ((-r) & 63u));
}
void cas_pcg64_advance(cas_pcg64 *rng, cas_u128 delta);

/* What a stream is used for. Values are part of the reproducibility
 * contract: never renumber, only append. */
typedef enum cas_rng_purpose {
  CAS_RNG_PORTFOLIO = 1,   /* built-in portfolio generator, index = loan block */
  CAS_RNG_FACTORS = 2,     /* systematic factors, index = path */
  CAS_RNG_IDIOSYNCRATIC = 3, /* idiosyncratic terms, index = path */
  CAS_RNG_LGD = 4,         /* stochastic LGD (reserved), index = path */
  CAS_RNG_CONTAGION = 5,   /* contagion draws (reserved), index = path */
  CAS_RNG_NETWORK = 6,     /* built-in network generator (reserved) */
  CAS_RNG_SPARSE = 7,      /* sparse kernel's defaulter sampling, index = path */
  CAS_RNG_TEST = 99        /* tests */
} cas_rng_purpose;

typedef cas_pcg64 cas_rng;

/* The purpose of a stream in year `year` (0-based) of a multi-year horizon:
 * year 0 keeps the one-year streams, year t > 0 moves the purpose to
 * purpose + t 2^16 (purposes in use are below 2^16, years below 2^8), so
 * each (seed, purpose, year, index) is a stream of its own, starting at a
 * point unrelated to the others (cas_rng_init). */
static inline uint32_t cas_rng_purpose_year(uint32_t purpose, int year) {
  return purpose | ((uint32_t)year << 16);
}

/* Each (seed, purpose) starts at its own pseudo-random point of one pcg64
 * sequence, and each index owns the segment of 2^40 draws index x 2^40
 * steps from there (see rng.c). index < 2^64, purpose < 2^24. */
enum { CAS_RNG_SEGMENT_LOG2 = 40 };
void cas_rng_init(cas_rng *rng, uint64_t seed, uint32_t purpose, uint64_t index);

/* The recipe before 2026-11-30 (purpose p starting p x 2^104 steps in, see
 * rng.c), kept for the generators of the built-in books and networks
 * (models/books, models/networks) so that the books stay the same loans
 * and links: each generator draws from one purpose, where that recipe's
 * flaw (draws of different purposes correlated) does not arise. Simulation
 * streams use cas_rng_init. */
void cas_rng_init_book(cas_rng *rng, uint64_t seed, uint32_t purpose, uint64_t index);

/* A jump of a fixed number of draws along the project's sequence, as the
 * affine map of the LCG state it is (state -> mult state + plus):
 * computed once (O(log delta)), applied with one multiply-add, so that a
 * stream can hand out disjoint sub-streams cheaply (the sparse kernel's
 * regions by bucket, models/kernels/sparse.c). */
typedef struct cas_rng_jump { cas_u128 mult, plus; } cas_rng_jump;
cas_rng_jump cas_rng_jump_by(cas_u128 delta);
/* dst = src advanced by the jump (src is not changed). */
static inline void cas_rng_jump_from(cas_rng *dst, const cas_rng *src, const cas_rng_jump *j) {
  dst->state = j->mult * src->state + j->plus;
  dst->inc = src->inc;
}

static inline uint64_t cas_rng_u64(cas_rng *rng) { return cas_pcg64_next(rng); }

/* Uniform on [0, 1) with 53 random bits. */
static inline double cas_rng_uniform(cas_rng *rng) {
  return (double)(cas_pcg64_next(rng) >> 11) * 0x1.0p-53;
}

/* Uniform on the open interval (0, 1): safe for quantile functions.
 * (k + 1/2) 2^-52 with 52 random bits k: k + 1/2 needs 53 bits, exactly
 * what a double holds (with 53 random bits the top value rounds to 1.0).
 * Range [2^-53, 1 - 2^-53], symmetric about 1/2. */
static inline double cas_rng_uniform_open(cas_rng *rng) {
  return ((double)(cas_pcg64_next(rng) >> 12) + 0.5) * 0x1.0p-52;
}

/* Standard normal by inversion (one uniform per draw, so that a path's
 * draws stay aligned with loans whatever happens to other draws). */
double cas_rng_normal(cas_rng *rng);

/* Gamma(shape, 1), shape > 0: Marsaglia and Tsang, "A simple method for
 * generating gamma variables", ACM TOMS 26(3), 2000 (shape < 1 through
 * Gamma(shape + 1) U^(1 / shape), their section 7). Draws a random number of
 * normals and uniforms (rejection). A shape that is not a finite positive
 * number draws nothing and gives NaN (+infinity for +infinity). */
double cas_rng_gamma(cas_rng *rng, double shape);

/* A uniform on (0, 1) that is a function of (seed, purpose, a, b) alone:
 * a counter-based draw for values needed in an order that is not known in
 * advance (e.g. a firm touched by a cascade), where a sequential stream
 * would make the value depend on the order of touching. See rng.c. */
double cas_rng_keyed_uniform(uint64_t seed, uint32_t purpose, uint64_t a, uint64_t b);

/* The same values in two steps, for many b under one (seed, purpose, a):
 * cas_rng_keyed_next(cas_rng_keyed_prefix(seed, purpose, a), b) ==
 * cas_rng_keyed_uniform(seed, purpose, a, b), bit for bit. */
uint64_t cas_rng_keyed_prefix(uint64_t seed, uint32_t purpose, uint64_t a);

/* SplitMix64's finaliser (Steele, Lea and Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014). */
static inline uint64_t cas_rng_mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Inline: the cascade draws one for every survivor it touches. */
static inline double cas_rng_keyed_next(uint64_t prefix, uint64_t b) {
  uint64_t h = cas_rng_mix64(prefix ^ b);
  return ((double)(h >> 12) + 0.5) * 0x1.0p-52; /* in [2^-53, 1 - 2^-53], as cas_rng_uniform_open */
}

/* Uniform integer in [0, n), unbiased, n > 0: Lemire, "Fast random
 * integer generation in an interval", ACM TOMACS 29(1), 2019
 * (multiply-shift, rejecting the biased low range). */
static inline uint64_t cas_rng_below(cas_rng *rng, uint64_t n) {
  cas_u128 m = (cas_u128)cas_pcg64_next(rng) * n;
  uint64_t low = (uint64_t)m;
  if (low < n) {
    uint64_t threshold = (0u - n) % n;
    while (low < threshold) {
      m = (cas_u128)cas_pcg64_next(rng) * n;
      low = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

/* Binomial(n, p): the number of successes among n independent trials of
 * probability p (0 <= p <= 1); p > 1/2 counts the failures instead. Mean
 * n p < 10: by inversion, one uniform per run of at most ~700 / -log(1 - p)
 * trials (so that (1 - p)^m, where the search starts, stays a normal
 * number) and O(mean) arithmetic. Beyond: Hoermann's BTRD, O(1), about
 * 1.2 uniforms (rng.c). Exact to the rounding of the probabilities they
 * evaluate. */
uint32_t cas_rng_binomial(cas_rng *rng, uint32_t n, double p);

/* Binomial(n, p) by inversion at every mean: O(mean), but monotone: with
 * the same stream, a larger p never gives fewer successes (p <= 1/2, and
 * p > 1/2), so two scenarios that move p a little draw nearly the same
 * count (common random numbers), which BTRD's rejection does not give. */
uint32_t cas_rng_binomial_inverse(cas_rng *rng, uint32_t n, double p);

/* cas_rng_binomial_inverse's draw, the same bits from the same stream,
 * given f0h, an approximation of (1 - p)^n within a relative 1e-11 (from
 * vectorised log1p and exp, vecmath.h), where its search starts: the
 * exact value is computed only when the uniform falls within a relative
 * CAS_BINOMIAL_HINT_MARGIN of a boundary the approximation draws (about 2
 * draws in 10^9; rng.c says why the answer is then the same). An f0h
 * outside [2^-1008, 1] (NaN, 0) is not used. */
#define CAS_BINOMIAL_HINT_MARGIN 1e-9
uint32_t cas_rng_binomial_inverse_hinted(cas_rng *rng, uint32_t n, double p, double f0h);
/* Its search for a given uniform u, one run of m <= n trials, p in
 * (0, 1/2], with the margin as a parameter (for the tests). */
uint32_t cas_rng_binomial_search_hinted(double u, uint32_t m, double p, double f0h, double margin);

#endif
