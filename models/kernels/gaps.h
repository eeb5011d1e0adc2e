/*
 * gaps.h: the positions of successes among independent Bernoulli(p)
 * trials, drawn by geometric gaps without visiting the failures: the gap to
 * the next success is G = floor(log U / log(1 - p)) (the "geometric
 * shortcut" of Sak and Hoermann, "Fast simulations in credit risk",
 * Quantitative Finance 12(10), 2012). The sparse kernel draws its candidate
 * defaulters this way and the cascade its spill-over candidates; both then
 * thin the candidates to each loan's own probability.
 *
 * Positions come in batches so that the caller can prefetch their records
 * before using them. One uniform of the stream per gap, plus one for the gap
 * that runs past the end.
 */
#ifndef CASCADE_GAPS_H
#define CASCADE_GAPS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "normal.h"
#include "rng.h"
#include "vecmath.h"

typedef struct cas_gaps {
  double inv_log_q;   /* 1 / log(1 - p) < 0; -0.0 when p == 1, so every gap is 0 */
  double remaining;   /* trials not yet passed */
  uint32_t next;      /* position of the next trial */
  int more;           /* 0 once a gap ran past the end */
  double first;       /* the uniform of the first gap, drawn already; 0: none */
} cas_gaps;

/* count trials of success probability p, 0 < p <= 1. */
static inline void cas_gaps_init(cas_gaps *g, double p, uint32_t count) {
  g->inv_log_q = 1.0 / log1p(-p);
  g->remaining = (double)count;
  g->next = 0;
  g->more = 1;
  g->first = 0.0;
}

/* The first gap's uniform u in (0, 1), drawn from the stream by the caller
 * before cas_gaps_next, which would draw it (the cascade's spill-over
 * decides most buckets from it alone). */
static inline void cas_gaps_first(cas_gaps *g, double u) {
  g->first = u;
}

/* Up to max next success positions (0-based, increasing) into pos; returns
 * how many. Fewer than max means the trials are exhausted. If records is
 * not NULL, the record of each position (records + position x stride bytes)
 * is prefetched as soon as the position is known, so that the cache misses
 * of a batch overlap with the drawing of the rest. */
static inline int cas_gaps_next(cas_gaps *g, cas_rng *rng, uint32_t *pos, int max,
                                const void *records, size_t stride) {
  int m = 0;
  while (g->more && m < max) {
    double u = g->first > 0.0 ? g->first : cas_rng_uniform_open(rng);
    g->first = 0.0;
    double gap = floor(log(u) * g->inv_log_q);
    if (gap >= g->remaining) {
      g->more = 0;
      break;
    }
    g->next += (uint32_t)gap;
    g->remaining -= gap + 1.0;
    if (records) __builtin_prefetch((const char *)records + (size_t)g->next * stride);
    pos[m++] = g->next++;
  }
  return m;
}

/* Thinning of a bucket's candidates: a candidate of latent bound x is kept
 * when v < Phi(x), v = U p_max uniform on [0, p_max), p_max = Phi(x_max).
 * Phi is the expensive part, so two straight lines bracket it over the
 * bucket's [x_min, x_max] and decide most candidates without it: Phi is
 * convex for x <= 0, so there its tangent at x_max is below it and the
 * chord from x_min to x_max above it; for x >= 0 it is concave, the chord
 * is below and the tangent at x_min above. A bucket straddling 0 has no
 * bracket (Phi is evaluated for every candidate above p_min).
 *
 * The lines are widened by tol = 1e-9 p_max, many orders of magnitude more
 * than the rounding of Phi, of the lines and of the phi in their slopes
 * (each relative 1e-14 at most), so the bracket decides only where the
 * exact test would decide the same: the kept candidates are those of
 * v < Phi(x) bit for bit. x values come from the thresholds by the same
 * operations as x_min and x_max, and rounding is monotone, so every x lies
 * in [x_min, x_max]. Deep tails (p_max < 1e-280) go to Phi directly. */
typedef struct cas_thin {
  double p_min;            /* Phi(x_min): below it every candidate is kept */
  double lo_p, lo_x, lo_slope;   /* lower line: lo_p + lo_slope (x - lo_x) */
  double hi_p, hi_x, hi_slope;   /* upper line */
  double tol;
  int bracket;             /* 0: no lines */
} cas_thin;

/* phi_end: the normal density at the end of [x_min, x_max] nearer 0 (x_max
 * when x_max <= 0, x_min when x_min >= 0; cas_norm_pdf, or within a
 * relative 1e-14 of it), the tangent's slope. */
static inline void cas_thin_init(cas_thin *t, double x_min, double x_max, double p_min,
                                 double p_max, double phi_end) {
  *t = (cas_thin){.p_min = p_min};
  if (!(p_max > 1e-280) || !(x_max > x_min) || !isfinite(x_min) || !isfinite(x_max)) return;
  double chord = (p_max - p_min) / (x_max - x_min);
  if (x_max <= 0.0) {
    t->lo_p = p_max, t->lo_x = x_max, t->lo_slope = phi_end;
    t->hi_p = p_min, t->hi_x = x_min, t->hi_slope = chord;
  } else if (x_min >= 0.0) {
    t->lo_p = p_min, t->lo_x = x_min, t->lo_slope = chord;
    t->hi_p = p_min, t->hi_x = x_min, t->hi_slope = phi_end;
  } else {
    return;
  }
  t->tol = 1e-9 * p_max;
  t->bracket = 1;
}

/* The slopes cas_thin_init takes for n buckets at once, xb holding each
 * bucket's (x_max, x_min) pair: phi at the end nearer 0, from the vector
 * exp (vecmath.h) as cas_norm_pdf computes it, with its correction of the
 * rounding of x^2; within a relative 1e-14 of cas_norm_pdf, far inside the
 * bracket's tolerance. Infinite or NaN ends give 0 (no bracket then). */
static inline void cas_thin_slopes(const double *xb, double *phi, size_t n) {
  for (size_t b = 0; b < n; b++) {
    double x = xb[2 * b] <= 0.0 ? xb[2 * b] : xb[2 * b + 1];
    phi[b] = isfinite(x) ? -0.5 * (x * x) : 0.0;
  }
  cas_exp_many(phi, n);
  for (size_t b = 0; b < n; b++) {
    double x = xb[2 * b] <= 0.0 ? xb[2 * b] : xb[2 * b + 1];
    phi[b] = isfinite(x) ? phi[b] * (CAS_INV_SQRT_2PI * (1.0 - 0.5 * fma(x, x, -(x * x)))) : 0.0;
  }
}

/* Whether a candidate of latent bound x (from its threshold, computed as
 * x_min and x_max were) is kept, given v = U p_max. */
static inline int cas_thin_keep(const cas_thin *t, double v, double x) {
  if (v < t->p_min) return 1;
  if (t->bracket) {
    if (v < t->lo_p + t->lo_slope * (x - t->lo_x) - t->tol) return 1;
    if (v >= t->hi_p + t->hi_slope * (x - t->hi_x) + t->tol) return 0;
  }
  return v < cas_norm_cdf(x);
}

#endif
