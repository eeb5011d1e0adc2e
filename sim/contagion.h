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
 * Work per path: O(links leaving defaulted loans x log), plus one pass
 * over the buckets of segments hit by spill-over, and no random access into
 * anything the size of the book. A round collects the links of its
 * frontier as (target, weight) items in the order of the frontier, groups
 * them by block of positions (one stable counting-sort pass), adds up each
 * block's hits by target in a block-sized array that stays in cache, and
 * walks the targets in increasing order together with the sorted list of
 * survivors touched in earlier rounds (their accumulated shifts): every
 * read that depends on the target then runs forward through memory. A bitmap (one bit per loan, in cache at 10^6 loans) says which
 * loans have defaulted. The per-thread workspace grows with what the paths
 * touch (at most 16 bytes per link and 8 per loan, plus 8 bytes per loan for
 * the dense kernel's eps); the model takes 9 bytes per loan and 24 per link.
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

/* A link as the cascade reads it: 16 bytes, the target by plan position.
 * The links of a defaulted loan are read in sequence; what the target needs
 * (threshold, segment) is read after sorting, in target order. */
typedef struct cas_cascade_edge {
  uint32_t target;     /* plan position of the loan hit */
  uint32_t guarantee;  /* 1: a guarantee (its amount is in amount_loss[edge]) */
  double weight;       /* scaled weight [SD] */
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
  double *amount_loss;           /* [nedges] guarantees: scaled amount x the guarantor's LGD [CNY]; else 0 */
  uint8_t *segment;              /* [n] segment of plan position k */
  size_t nedges;
} cas_contagion;
cas_status cas_contagion_create(const cas_scenario *sc, const cas_plan *plan,
                                const cas_portfolio *pf, const cas_network *net,
                                cas_contagion **out, cas_error *err);
void cas_contagion_destroy(cas_contagion *c);

/* A loan and a number: a link's hit on its target (weight), a survivor's
 * accumulated shift, a guarantee called (amount x LGD). */
typedef struct cas_cascade_item {
  uint32_t pos;          /* plan position */
  uint32_t pad;
  double value;
} cas_cascade_item;

/* A growable array of items. */
typedef struct cas_cascade_list {
  cas_cascade_item *v;
  size_t n, cap;
} cas_cascade_list;

/* Per-thread workspace. Only the bitmap and eps are the size of the book;
 * the lists grow to what the paths need (a failed allocation sets oom, the
 * path stops, and the run reports it). */
typedef struct cas_cascade_ws {
  size_t n;
  uint64_t *dbits;       /* [ceil(n / 64)] bit k: plan position k has defaulted on this path */
  uint32_t *defaulted;   /* defaulted positions, round by round; [0, n0) is round 0 */
  size_t ndefaulted;
  double *eps;           /* [n] idiosyncratic values (dense kernel only, else NULL) */
  int eps_all_known;     /* the dense kernel writes eps of every loan */
  int oom;               /* a list could not grow */
  cas_cascade_list items, sorted; /* a round's hits, before and after grouping by block */
  unsigned block_shift;  /* positions are grouped in blocks of 2^block_shift */
  size_t nblocks;
  size_t *block_start;   /* [nblocks + 1] */
  double *sum;           /* [2^block_shift] a block's hits added up by target */
  uint64_t *hit;         /* [2^block_shift / 64] which targets of the block were hit */
  cas_cascade_list touched;       /* survivors touched in earlier rounds, sorted, with their shifts */
  cas_cascade_list recent, fresh, merged; /* touched in recent rounds (sorted); scratch */
  cas_cascade_list calls;         /* guarantees called on this path */
} cas_cascade_ws;

cas_status cas_cascade_ws_create(size_t n, int eps_all_known, cas_cascade_ws **out, cas_error *err);
void cas_cascade_ws_destroy(cas_cascade_ws *ws);

/* Starts a path: clears the previous path's defaults, O(their number). */
void cas_cascade_begin(cas_cascade_ws *ws);

static inline int cas_cascade_is_defaulted(const cas_cascade_ws *ws, uint32_t k) {
  return (int)((ws->dbits[k >> 6] >> (k & 63)) & 1u);
}

/* Records a round-0 default at plan position k (kernels call this; each
 * position once per path). */
static inline void cas_cascade_default0(cas_cascade_ws *ws, uint32_t k) {
  ws->dbits[k >> 6] |= (uint64_t)1 << (k & 63);
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
