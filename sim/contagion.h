/*
 * contagion.h: defaults spreading along the network, path by path.
 *
 * After a kernel has drawn a path's factor-driven defaults (round 0), the
 * cascade runs in rounds until no new default (or max_rounds):
 *   - regional spill-over, once, after round 0: factor f moves by
 *     -sum beta x (round-0 default rate of the term's segment) [SD], which
 *     lowers the latent variable of every loan loading on f;
 *   - every loan that defaulted in the previous round hits its out-links:
 *     a supply-chain link shifts the target's latent variable down by
 *     weight x supply_chain_scale; a guarantee link calls the guarantee (the
 *     guarantor owes amount x guarantee_scale more) and shifts the guarantor
 *     down by weight x guarantee_scale;
 *   - a surviving loan defaults in the round in which its shifted latent
 *     variable scale (a.z + dsys + b eps) - shift falls below its threshold.
 * Each loan keeps one idiosyncratic value eps for the whole path: the dense
 * kernel knows every eps; with the sparse kernel a survivor's eps is drawn
 * only when the cascade first needs it, from its law given that it has
 * survived so far (exact), with a counter-based draw keyed by (seed, path,
 * loan) so that the value does not depend on the order of the cascade.
 *
 * Losses: a loan that defaults in round >= 1 loses its EAD x LGD; a
 * defaulted guarantor also loses LGD x the amounts called on it, whichever
 * round it defaulted in. Both are contagion loss; the rest of the path's loss
 * is factor loss. With every scale 0 and no spill-over the cascade changes
 * nothing, bit for bit.
 *
 * Work per path: O(links leaving defaulted loans + loans they touch), plus
 * one pass over the buckets of segments hit by spill-over. Everything is
 * indexed by plan position, the kernels' own order. The per-thread
 * workspace holds 40 bytes per loan (a 32-byte record and two lists),
 * allocated before the parallel region; records are valid only when stamped
 * with the current path, so nothing is cleared per path. The model takes
 * 9 bytes per loan and 32 per link.
 */
#ifndef CASCADE_CONTAGION_H
#define CASCADE_CONTAGION_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "network.h"
#include "plan.h"
#include "portfolio.h"
#include "rng.h"
#include "scenario.h"

typedef struct cas_spill_term {
  int segment, factor;
  double beta;       /* [SD per unit default rate] */
} cas_spill_term;

/* A link as the cascade reads it: 32 bytes, the target by plan position,
 * with everything that hitting and evaluating the target needs, so that the
 * links of a defaulted loan are read in sequence and the target's own
 * record is the only random access. */
typedef struct cas_cascade_edge {
  uint32_t target;     /* plan position of the loan hit */
  uint16_t segment;    /* its segment */
  uint16_t guarantee;  /* 1: a guarantee */
  double weight;       /* scaled weight [SD] */
  double threshold;    /* the target's default threshold (plan->loans[target].threshold) */
  double amount_loss;  /* guarantees: scaled amount x the guarantor's LGD [CNY]; else 0 */
} cas_cascade_edge;

/* The cascade model of a run: built before the parallel region. Links
 * with nothing to pass on (weight and amount 0 after scaling) are dropped,
 * so a scale of 0 removes its channel entirely. */
typedef struct cas_contagion {
  uint32_t max_rounds;
  cas_spill_term *spill;
  size_t nspill;
  uint64_t *offset;              /* [n + 1] links of plan position k: offset[k] .. offset[k+1]-1 */
  cas_cascade_edge *edge;        /* [nedges] */
  uint8_t *segment;              /* [n] segment of plan position k */
  size_t nedges;
} cas_contagion;

cas_status cas_contagion_create(const cas_scenario *sc, const cas_plan *plan,
                                const cas_portfolio *pf, const cas_network *net,
                                cas_contagion **out, cas_error *err);
void cas_contagion_destroy(cas_contagion *c);

enum { CAS_CASCADE_DEFAULTED = 1, CAS_CASCADE_CALLED = 2 };

/* One loan's cascade state on the current path: one cache line holds two. */
typedef struct cas_cascade_loan {
  uint32_t stamp;        /* valid iff == ws->now */
  uint16_t state;        /* CAS_CASCADE_* bits */
  uint16_t segment;      /* set when first touched */
  double shift;          /* accumulated network shift [latent SD] */
  double called;         /* guarantee amounts called x LGD [CNY] */
  double eps;            /* idiosyncratic value (dense kernel only) */
} cas_cascade_loan;

/* Per-thread workspace, indexed by plan position. */
typedef struct cas_cascade_ws {
  size_t n;
  uint32_t now;          /* stamp of the current path */
  cas_cascade_loan *loan;
  uint32_t *defaulted;   /* defaulted positions, round by round; [0, n0) is round 0 */
  uint32_t *callees;     /* positions with a called guarantee */
  size_t ndefaulted, ncallees;
  int eps_all_known;     /* the dense kernel writes eps of every loan */
} cas_cascade_ws;

cas_status cas_cascade_ws_create(size_t n, int eps_all_known, cas_cascade_ws **out, cas_error *err);
void cas_cascade_ws_destroy(cas_cascade_ws *ws);

/* Starts a path: invalidates every entry in O(1). */
void cas_cascade_begin(cas_cascade_ws *ws);

/* Records a round-0 default at plan position k of segment s (kernels call
 * this). */
static inline void cas_cascade_default0(cas_cascade_ws *ws, uint32_t k, int segment) {
  cas_cascade_loan *l = &ws->loan[k];
  l->stamp = ws->now;
  l->state = CAS_CASCADE_DEFAULTED;
  l->segment = (uint16_t)segment;
  l->shift = 0.0;
  l->called = 0.0;
  ws->defaulted[ws->ndefaulted++] = k;
}

/* What one path's cascade adds. */
typedef struct cas_cascade_out {
  double *seg_loss;        /* [CAS_NSEGMENTS] contagion loss by segment [CNY] (written) */
  int32_t *by_round;       /* [max_rounds + 1] defaults by round (written) */
  int32_t rounds;          /* last round with new defaults (0: none) */
  int truncated;           /* stopped at max_rounds with defaults still spreading */
} cas_cascade_out;

/* Runs the cascade of one path after round 0. sys are the segments'
 * systematic terms a.z, scale the copula's mixing scale; rng is the path's
 * sparse stream (used by the spill-over pass when eps are not all known). */
void cas_cascade_run(const cas_contagion *c, const cas_plan *plan, cas_cascade_ws *ws,
                     uint64_t path, const double *sys, double scale, cas_rng *rng,
                     cas_cascade_out *out);

#endif
