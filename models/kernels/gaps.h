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

#include "rng.h"

typedef struct cas_gaps {
  double inv_log_q;   /* 1 / log(1 - p) < 0; -0.0 when p == 1, so every gap is 0 */
  double remaining;   /* trials not yet passed */
  uint32_t next;      /* position of the next trial */
  int more;           /* 0 once a gap ran past the end */
} cas_gaps;

/* count trials of success probability p, 0 < p <= 1. */
static inline void cas_gaps_init(cas_gaps *g, double p, uint32_t count) {
  g->inv_log_q = 1.0 / log1p(-p);
  g->remaining = (double)count;
  g->next = 0;
  g->more = 1;
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
    double gap = floor(log(cas_rng_uniform_open(rng)) * g->inv_log_q);
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

#endif
