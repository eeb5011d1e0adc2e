/*
 * contagion.h: guarantees booked as a bank books them, and defaults that
 * spread along the network, path by path.
 *
 * After a kernel has drawn a path's factor-driven defaults (round 0):
 *
 * Guarantees (whenever the scenario has a network, contagion on or off).
 * A guarantee link b -> g covers part of borrower b's loan: the covered
 * amount is the link's amount, scaled down if b's guarantees together
 * exceed its (stressed) EAD. The bank loses the uncovered part of a
 * defaulted loan at the borrower's LGD (the plan's loss of the loan), and a
 * covered part only if the guarantor defaults too (double default), at the
 * guarantor's LGD: the call is a claim on the guarantor, booked in the
 * guarantor's segment. So a guaranteed loan never costs more than its EAD
 * times the larger of its LGD and its guarantors' LGDs.
 *
 * The cascade (contagion on): rounds until a round adds no default (or
 * max_rounds). Each round starts with the regional spill-over: factor f
 * moves by -sum beta x (default rate of the term's segment so far) [SD],
 * which lowers the latent variable of every loan loading on f (a segment's
 * systematic term only ever moves down); then every loan that defaulted in
 * the previous round hits its out-links: a supply-chain link shifts the
 * target's latent variable down by weight x supply_chain_scale, a guarantee
 * link shifts the guarantor down by weight x guarantee_scale (the stress of
 * the call). A surviving loan defaults in the round in which
 * scale (a.z + dsys + b eps) - shift falls below its threshold. Each loan
 * keeps one idiosyncratic value eps for the whole path: the dense kernel
 * knows every eps; with the sparse kernel a survivor's eps is drawn only
 * when the cascade first needs it, from its law given what is known of it
 * so far (exact), with a counter-based draw keyed by (seed, path, loan), so
 * that the value does not depend on the order of the cascade.
 *
 * Factor and contagion loss: the factor loss of a path is what its round-0
 * defaults cost by themselves, double defaults between two round-0
 * defaults included; everything else is contagion loss: loans that default
 * in round >= 1, and covered parts lost because a guarantor or a borrower
 * defaulted in the cascade. With every weight 0 and no spill-over the
 * cascade changes nothing, bit for bit.
 *
 * Work per path: O(links leaving defaulted loans x log), plus the buckets
 * of segments moved by spill-over in each round, and no random access into
 * anything the size of the book. A round collects the links of its
 * frontier as (target, weight) items in the order of the frontier, groups
 * them by block of positions (one stable counting-sort pass), adds up each
 * block's hits by target in a block-sized array that stays in cache, and
 * walks the targets in increasing order together with the sorted lists of
 * survivors touched in earlier rounds (their accumulated shifts): every
 * read that depends on the target then runs forward through memory. A
 * bitmap (one bit per loan) says which loans have defaulted. The
 * per-thread workspace grows with what the paths touch (at most 16 bytes
 * per link and 8 per loan, plus 8 bytes per loan for the dense kernel's
 * eps); the model takes 13 bytes per loan, 16 per weighted link and 16 per
 * guarantee.
 */
#ifndef CASCADE_CONTAGION_H
#define CASCADE_CONTAGION_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "error.h"
#include "network.h"
#include "registry.h"
#include "plan.h"
#include "portfolio.h"
#include "rng.h"
#include "scenario.h"

typedef struct cas_spill_term {
  int segment, factor;
  double beta;       /* [SD per unit default rate] */
} cas_spill_term;

/* A link as the cascade reads it: 8 bytes, the target by plan position and
 * its weight by index into the model's table of distinct weights (a
 * network has few: the built-in one seven), so that the links of a
 * defaulted loan, read at a random place, span fewer cache lines and the
 * array stays smaller than the last-level cache holds for longer. What
 * the target needs (threshold, segment) is read after sorting, in target
 * order. */
typedef struct cas_cascade_edge {
  uint32_t target;     /* plan position of the loan hit */
  uint32_t weight;     /* index into cas_contagion.weight */
} cas_cascade_edge;

/* A round's hit as gathered: the target and the link's weight index. */
typedef struct cas_cascade_hit {
  uint32_t pos;
  uint32_t weight;
} cas_cascade_hit;

/* A loan and a number: a link's hit on its target (weight), a guarantee
 * (the guarantor and the covered amount x the guarantor's LGD). */
typedef struct cas_cascade_item {
  uint32_t pos;          /* plan position */
  uint32_t aux;          /* a guarantee call: the segment of pos; a round's exact tests: flags */
  double value;
} cas_cascade_item;

/* The network model of a run: built before the parallel region, whenever
 * the scenario has a network. Links with no weight after scaling carry no
 * stress and are left out of the cascade, so a scale of 0 removes its
 * channel; guarantees are kept for the accounting whatever their weight. */
typedef struct cas_contagion_model cas_contagion_model;

typedef struct cas_contagion {
  const cas_contagion_model *model; /* what happens after round 0 (the registry below) */
  uint32_t max_rounds;           /* 0 when the model does not spread defaults */
  cas_spill_term *spill;
  size_t nspill;
  uint32_t *offset;              /* [n + 1] weighted links of plan position k: offset[k] .. offset[k+1]-1
                                    (4 bytes, so that the cascade's lookups miss less) */
  cas_cascade_edge *edge;        /* [nedges] */
  size_t nedges;
  double *weight;                /* [nweights] the links' distinct scaled weights [SD], by index */
  size_t nweights;
  uint32_t *call_start;          /* [n + 1] guarantees on the loan at plan position k */
  cas_cascade_item *call;        /* [ncalls] (guarantor position, covered amount x its LGD [CNY]) */
  size_t ncalls;
  uint64_t *has_calls;           /* [ceil(n / 64)] bit k: call_start[k] < call_start[k + 1] */
  uint64_t *has_links;           /* [ceil(n / 64)] bit k: offset[k] < offset[k + 1] (most loans
                                    of the default book have no link: their offsets, a cache
                                    miss each, are not read) */
  uint32_t *guarantor;           /* [ncalls] call[i].pos, packed: whether a call is lost needs
                                    only this (1.7 MB for 10^6 loans against 6.6 for call) */
  uint16_t *segment;             /* [n] segment of plan position k */
  int nsegments;
  uint32_t *seg_first;           /* [nsegments + 1] loans of segment s: plan positions seg_first[s] .. seg_first[s+1]-1 */
  uint32_t *seg_bucket;          /* [nsegments + 1] its buckets: seg_bucket[s] .. seg_bucket[s+1]-1 */
  double guaranteed_ead;         /* covered amounts of every loan [CNY] */
} cas_contagion;

/* The sum of the guarantee amounts on each loan [CNY] (portfolio order,
 * amounts as in the network, not yet capped at the EAD): the plan books
 * min(this, stressed EAD) as covered. */
void cas_network_guaranteed(const cas_network *net, double *guaranteed);

/* The model of the scenario's network for a plan built with the
 * guaranteed amounts of cas_network_guaranteed, run by the scenario's
 * contagion model (contagion.model): "none" gives max_rounds 0, no
 * weighted links and no spill-over. */
cas_status cas_contagion_create(const cas_scenario *sc, const cas_plan *plan,
                                const cas_portfolio *pf, const cas_network *net,
                                cas_contagion **out, cas_error *err);
void cas_contagion_destroy(cas_contagion *c);

/* Adds to el[segment] the analytic expected loss of the covered parts
 * without contagion [CNY]: for each guarantee, the covered amount x the
 * guarantor's LGD x the probability that borrower and guarantor both
 * default (the copula's shifted_joint_pd, thresholds and factor means of
 * plan, latent correlation a_b' C a_g), in the guarantor's segment. With
 * the plan's uncovered losses this is the whole analytic EL. plan must be
 * the one c was built on, without calibration offsets. Sums in a fixed
 * order. */
void cas_contagion_expected_double_default(const cas_contagion *c, const cas_plan *plan,
                                           double *el);

/* A growable array of items. */
typedef struct cas_cascade_list {
  cas_cascade_item *v;
  size_t n, cap;
} cas_cascade_list;

/* Guarantee calls waiting for the end of the cascade: the guarantor's
 * plan position, the call's index and the borrower's position. */
typedef struct cas_pending_call {
  uint32_t guarantor, call, borrower;
} cas_pending_call;

typedef struct cas_pending_list {
  cas_pending_call *v;
  size_t n, cap;
} cas_pending_list;

/* Survivors the network has touched, entry i of each array for one: its
 * plan position, the spill-over epoch in which its eps was drawn (sparse
 * kernel), its accumulated shift [SD of the latent variable], and a lower
 * bound on its slack: how far, as a probability, Phi(-eps) lies below the
 * level at which it defaults (contagion.c); negative: unknown. Arrays of
 * their own, so that a spill-over pass updates the slacks of a segment in
 * one vector loop and a search reads positions only. */
typedef struct cas_touched_list {
  uint32_t *pos, *epoch;
  double *shift, *slack;
  size_t n, cap;
} cas_touched_list;

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
  cas_cascade_list items;         /* a round's exact tests (network_round) */
  cas_cascade_hit *hits, *sorted; /* a round's hits, before and after grouping by block */
  size_t hits_cap, sorted_cap;
  unsigned block_shift;  /* positions are grouped in blocks of 2^block_shift */
  size_t nblocks;
  size_t *block_start;   /* [nblocks + 1] */
  double *sum;           /* [2^block_shift] a block's hits added up by target */
  uint64_t *hit;         /* [2^block_shift / 64] which targets of the block were hit */
  cas_touched_list touched;       /* survivors touched in earlier rounds, sorted by position */
  cas_touched_list recent, fresh, merged; /* touched in recent rounds (sorted); scratch */
  uint64_t *tbits;                /* [ceil(n / 64)] bit k: position k has an entry in touched
                                     or recent (in fresh during the round that adds it; an
                                     entry stays when its loan defaults later), so that most
                                     targets and candidates, which have none, are told so
                                     without searching the lists */
  cas_pending_list pending;       /* guarantees of round-0 defaults whose guarantor survived
                                     round 0, in the order of the calls */
  size_t n0;                      /* round-0 defaults of the path: defaulted[0, n0) */
  uint32_t max_epochs;            /* rows of dsys_hist */
  double *dsys_hist;              /* [max_epochs][nsegments] spill-over moves after each pass
                                     (one row when the model has no spill-over) */
  int nsegments, nfactors;
  double *seg_scratch;            /* [4 nsegments + nfactors]: a path's per-segment state */
  uint64_t path_serial;           /* paths begun on this workspace */
  int year;                       /* the year of the horizon simulated (0-based): keys its draws */
  size_t nbuckets;
  struct cas_bucket_tail *tail;   /* [nbuckets] a bucket's Phi at its largest bound, cached */
  double *phi;                    /* a round's exact tests: their Phi arguments, then values */
  size_t phi_cap;
  uint32_t *exact;                /* a round's targets that take the exact test: their index
                                     in fresh, or UINT32_MAX */
  size_t exact_cap;
  double *dloss;                  /* the cascade's defaults, defaulted[n0 + i]: loss at mean
                                     LGD [CNY], */
  uint16_t *dseg;                 /* and segment */
  size_t dloss_cap;
  uint32_t *span;                 /* a round's sources' link ranges, pairs (first, end), then
                                     the sources that have links */
  size_t span_cap;                /* in triples */
  int scalar_exact;               /* tests only: every exact test takes the scalar fallback
                                     (cas_norm_cdf), as when the vector values are too close
                                     to call; the decisions are the same either way */
  int full_spill;                 /* tests only: every spill-over pass over a bucket evaluates
                                     its tails and draws its gaps, none is decided from the
                                     first uniform alone; the draws are the same either way */
  uint64_t spill_decided;         /* bucket passes decided from the first uniform alone */
  /* Round 0's defaulted borrowers that have guarantee calls, in the order
   * of defaulted (cas_cascade_watch_calls; else has_calls is NULL): the
   * kernel lists them as they default, from a bitmap of n / 8 bytes, and
   * loads nothing else of theirs, so that its own misses (the loans'
   * records) have the memory to themselves; booking the calls after the
   * kernel then walks the list with its loads prefetched far ahead. More
   * than called_cap of them: the list is dropped for the path and the
   * calls are found from defaulted instead. */
  const uint64_t *has_calls;
  uint32_t *called;
  size_t ncalled, called_cap;
} cas_cascade_ws;

/* For the loans and buckets of plan; eps_all_known: keep every eps (dense
 * kernel with a cascade); max_rounds: the model's (0 when it has no
 * spill-over: the spill-over history then needs no rows beyond the first). */
cas_status cas_cascade_ws_create(const cas_plan *plan, int eps_all_known, uint32_t max_rounds,
                                 cas_cascade_ws **out, cas_error *err);
void cas_cascade_ws_destroy(cas_cascade_ws *ws);
/* The kernel is to list round 0's defaults that have guarantee calls in c
 * (c outlives ws's use). */
cas_status cas_cascade_watch_calls(cas_cascade_ws *ws, const cas_contagion *c, cas_error *err);

/* Starts a path: clears the previous path's defaults, O(their number). */
void cas_cascade_begin(cas_cascade_ws *ws);
/* Starts a later year of the same path: the year's lists start empty, the
 * defaults of earlier years stay marked (they left the book: the cascade
 * neither defaults them again nor counts on their guarantees). The caller
 * clears them after the path (sim/engine/kernel.c). */
void cas_cascade_begin_year(cas_cascade_ws *ws);

static inline int cas_cascade_is_defaulted(const cas_cascade_ws *ws, uint32_t k) {
  return (int)((ws->dbits[k >> 6] >> (k & 63)) & 1u);
}

/* Records a round-0 default at plan position k (kernels call this; each
 * position once per path). */
static inline void cas_cascade_default0(cas_cascade_ws *ws, uint32_t k) {
  ws->dbits[k >> 6] |= (uint64_t)1 << (k & 63);
  ws->defaulted[ws->ndefaulted++] = k;
  if (ws->has_calls) {
    /* without a branch on the bit (a quarter of the default book's loans
     * have calls: a branch on it is mispredicted often): k is written
     * either way, and kept by counting it; past the cap, into the spare
     * slot called[called_cap] */
    ws->called[ws->ncalled < ws->called_cap ? ws->ncalled : ws->called_cap] = k;
    ws->ncalled += (ws->has_calls[k >> 6] >> (k & 63)) & 1u;
  }
}

/* What the guarantees and the cascade of one path add. */
/* Where a path books each loan's loss, when a caller asks (the ES
 * contributions of single loans, run.c): fn is called once for every loss
 * booked, with the plan position of the loan it is booked on (a covered part
 * lost through a guarantor: the guarantor's, as its segment is). */
typedef struct cas_loan_sink {
  void (*fn)(void *ctx, int thread, uint64_t row, uint32_t pos, double loss);
  void *ctx;
  int thread;
  uint64_t row;
} cas_loan_sink;

static inline void cas_loan_sink_book(const cas_loan_sink *k, uint32_t pos, double loss) {
  if (k && k->fn) k->fn(k->ctx, k->thread, k->row, pos, loss);
}

typedef struct cas_cascade_out {
  const cas_loan_sink *sink;  /* may be NULL */
  double *factor_seg_loss; /* [nsegments] factor loss by segment: covered parts lost between
                              two round-0 defaults are added [CNY] */
  double *seg_loss;        /* [nsegments] contagion loss by segment [CNY] (written; NULL
                              when max_rounds is 0) */
  int32_t *seg_defaults;   /* [nsegments] the cascade's defaults are added by segment */
  int32_t *by_round;       /* [max_rounds + 1] defaults by round (written; NULL when max_rounds is 0) */
  double *pool_claims;     /* [npools] the cascade's defaults claim on their pools, or NULL */
  double double_default;   /* covered parts lost because the guarantor defaulted too [CNY] */
  int32_t rounds;          /* last round with new defaults (0: none) */
  int truncated;           /* stopped at max_rounds with defaults still spreading */
} cas_cascade_out;

/* What happens to a path after its round-0 defaults: the contagion model.
 * Every model books the guarantees (a network's guarantees are part of the
 * book); a model that spreads defaults also fills out's seg_loss, by_round,
 * rounds and truncated, and the run stores them (loss_contagion and the
 * datasets of docs/OUTPUT.md, Contagion). sys are the segments' systematic
 * terms a.z, scale the copula's mixing scale; rng is the path's sparse
 * stream (used by the spill-over passes when eps are not all known). */
typedef void (*cas_contagion_path_fn)(const cas_contagion *c, const cas_plan *plan,
                                      cas_cascade_ws *ws, uint64_t path, const double *sys,
                                      double scale, cas_rng *rng, cas_cascade_out *out);

/* The datasets the model adds to a result (dataset.h): the network's
 * guarantees for every model, the cascade's for one that spreads
 * (summary: NULL when the run has no cascade). */
typedef struct cas_results cas_results;
typedef struct cas_contagion_summary cas_contagion_summary;
typedef void (*cas_contagion_describe_fn)(cas_dataset_list *l, const cas_scenario *sc,
                                          const cas_contagion *c, const cas_network *net,
                                          const cas_results *res,
                                          const cas_contagion_summary *summary);
/* datasets.c: the guarantees alone (none), guarantees and cascade (network). */
void cas_contagion_describe_none(cas_dataset_list *l, const cas_scenario *sc,
                                 const cas_contagion *c, const cas_network *net,
                                 const cas_results *res, const cas_contagion_summary *summary);
void cas_contagion_describe_network(cas_dataset_list *l, const cas_scenario *sc,
                                    const cas_contagion *c, const cas_network *net,
                                    const cas_results *res, const cas_contagion_summary *summary);

struct cas_contagion_model {
  cas_model_info info;
  int spreads;                 /* defaults spread (rounds, spill-over, contagion loss) */
  cas_contagion_path_fn path;
  cas_contagion_describe_fn describe;
};

/* none: defaults do not spread; a guarantee is lost only if borrower and
 * guarantor both default in round 0 (the guarantor pays otherwise).
 * network: the cascade of the header comment. */
extern const cas_contagion_model cas_contagion_none;
extern const cas_contagion_model cas_contagion_network;

#define CAS_CONTAGION_DEFAULT "none"

const cas_contagion_model *cas_contagion_model_lookup(const char *name);
void cas_contagion_model_list(char *buf, size_t size);
const cas_contagion_model *cas_contagion_model_at(size_t i);

/* Runs c's model on the path (kernels call this after round 0). */
static inline void cas_cascade_run(const cas_contagion *c, const cas_plan *plan,
                                   cas_cascade_ws *ws, uint64_t path, const double *sys,
                                   double scale, cas_rng *rng, cas_cascade_out *out) {
  c->model->path(c, plan, ws, path, sys, scale, rng, out);
}

#endif
