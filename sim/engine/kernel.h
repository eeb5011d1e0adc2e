/*
 * kernel.h: simulation kernels and the per-path results they fill.
 *
 * A kernel runs plan->paths Monte Carlo paths of a plan and writes each
 * path's results at the path's index: the same seed gives the same bytes for
 * any number of threads (a path's random numbers come from the streams
 * (seed, purpose, path) only, and every sum runs in a fixed order inside one
 * path). Kernels are a registry like the model families: "dense" draws every
 * loan on every path and is the reference; "sparse" draws only the
 * defaulters and must agree with it in distribution (tests/test_sparse.c).
 */
#ifndef CASCADE_KERNEL_H
#define CASCADE_KERNEL_H

#include <stdint.h>

#include "contagion.h"
#include "error.h"
#include "plan.h"
#include "registry.h"
#include "rng.h"

/* A grouping of segments stored per path (e.g. by region): group_of[s] is
 * the group of segment s. */
enum { CAS_MAX_GROUPINGS = 4 };
typedef struct cas_grouping {
  char name[16];            /* "region", "sector" */
  int ngroups;
  uint16_t *group_of;       /* [nsegments], owned */
  double *loss;             /* [paths][ngroups] [CNY] */
  int32_t *defaults;        /* [paths][ngroups] */
  double *contagion;        /* [paths][ngroups] [CNY], with contagion only */
} cas_grouping;

/* What a run keeps by segment when it does not store segments per path:
 * sums over paths, deterministic for any thread count. loss_chunk holds
 * the loss by segment summed over each chunk of chunk_paths consecutive
 * paths (the driver then hands out whole chunks, each run by one thread in
 * path order); the defaults' sums are exact integers. */
typedef struct cas_segment_sums {
  uint64_t chunk_paths, nchunks;
  double *loss_chunk;        /* [nchunks][nsegments] [CNY] */
  double *contagion_chunk;   /* [nchunks][nsegments] [CNY], with contagion only */
  int threads;
  uint64_t *defaults;        /* [threads][nsegments] sum over paths of the defaults */
  unsigned __int128 *defaults_sq; /* [threads][nsegments] sum of their squares */
  /* With path weights (importance sampling), instead of the exact
   * integer sums: the sums by chunk of w x and (w x)^2, x the path's
   * defaults in the segment / its loans. */
  double *wrate_chunk, *wrate2_chunk; /* [nchunks][nsegments] */
} cas_segment_sums;

/* Per-path results, owned by the caller (cas_results_create). */
typedef struct cas_results {
  uint64_t paths;            /* rows */
  /* A slice of a distributed run (cas_results_set_slice): row r is path
   * first_path + r of a run of all_paths paths. Default 0 and paths. */
  uint64_t first_path, all_paths;
  uint64_t rows_run;         /* rows the last run filled (its plan's paths, or a replay's rows) */
  /* The shape of the rows below, set (and the rows allocated) by the first
   * cas_kernel_run from its plan; a later run must have the same. */
  int nsegments, nfactors;
  double *loss;             /* [paths] portfolio loss [CNY] */
  int64_t *defaults;        /* [paths] number of defaulted loans */
  double *factors;          /* [paths][nfactors] systematic factors z after shifts [SD] */
  /* By segment, per path: unless cas_results_store_segments(res, 0) */
  int store_segments;           /* default 1 */
  double *loss_by_segment;      /* [paths][nsegments] [CNY] */
  int32_t *defaults_by_segment; /* [paths][nsegments] defaulted loans, cascade included */
  /* Groupings stored per path (cas_results_add_grouping), and the sums by
   * segment kept when segments are not stored. */
  int ngroupings;
  cas_grouping grouping[CAS_MAX_GROUPINGS];
  cas_segment_sums sums;
  const uint64_t *seg_loans;     /* with weighted sums: the plan's loans by segment (borrowed) */

  double *ead_defaulted;    /* [paths] stressed EAD of the loans that defaulted [CNY] */

  /* Importance sampling (cas_kernel_options.is_shift), else NULL: the
   * path's likelihood ratio, the weight every statistic gives it. */
  double *weight;           /* [paths] */

  /* The horizon's years (the plan's); with more than one, by year: */
  int years;
  double *loss_cumulative;  /* [paths][years] loss up to the end of each year [CNY] (the last is loss) */
  int32_t *defaults_by_year; /* [paths][years] loans that defaulted in the year */
  double *ead_defaulted_by_year; /* [paths][years] their stressed EAD [CNY] */
  double *factors_by_year;  /* [paths][years][nfactors] each year's z after its shifts [SD] */

  /* With mitigants (npools > 0), else NULL: */
  int npools;
  double *loss_net;        /* [paths] loss less what the pools paid [CNY] */
  double *pool_payout;     /* [paths][years][npools] what each pool paid in the year [CNY] */
  uint8_t *pool_dry;       /* [paths][years][npools] 1: the pool was exhausted in the year (its
                              horizon cap reached by then, or its year's cap that year) */
  double *loss_net_cumulative; /* [paths][years] with years > 1: loss_cumulative less payouts */

  /* With a network that holds guarantees, else NULL: */
  double *loss_double_default;   /* [paths] covered parts lost because the guarantor defaulted too [CNY] */

  /* With contagion (rounds_cap > 0), else NULL: */
  uint32_t rounds_cap;           /* max_rounds + 1 */
  double *loss_contagion;        /* [paths] part of loss from contagion [CNY] */
  double *contagion_by_segment;  /* [paths][nsegments] [CNY], when segments are stored */
  int32_t *defaults_by_round;    /* [paths][rounds_cap]; round 0 is factor-driven */
  int32_t *rounds;               /* [paths] last round with new defaults */
  uint8_t *truncated;            /* [paths] 1 if max_rounds stopped the cascade */
} cas_results;

/* rounds_cap: 0 without contagion, else max_rounds + 1; guarantees: the
 * network holds guarantees (loss_double_default is kept). */
cas_status cas_results_create(uint64_t paths, uint32_t rounds_cap, int guarantees,
                              cas_results **out, cas_error *err);
void cas_results_destroy(cas_results *res);

/* Allocates the rows whose width the plan gives (the first cas_kernel_run
 * does it otherwise): a distributed run does it before any rank simulates,
 * so that a rank short of memory stops them all at once. Fails if res was
 * shaped for another plan. */
cas_status cas_results_shape(cas_results *res, const cas_plan *plan, cas_error *err);

/* Before the first run: the rows are paths first_path, first_path + 1,
 * ... of a run of all_paths paths (a rank's share, distribute.h), so that
 * the sums by chunk fall on the same chunks as in one process: first_path
 * must be a multiple of cas_results_unit(all_paths, ...). */
void cas_results_set_slice(cas_results *res, uint64_t first_path, uint64_t all_paths);

/* The paths the driver hands out as one piece (a block, or without
 * segments stored per path a chunk of the sums): a distributed run splits
 * its paths at multiples of it. */
uint64_t cas_results_unit(uint64_t all_paths, int nsegments, int store_segments);

/* The per-path arrays of res, for moving rows between processes: calls
 * fn(ctx, array, bytes of one row) for every array that has a row per
 * path (rows of res->paths, allocated). Every array of cas_results with a
 * row per path must be listed here (kernel.c), or a distributed run loses
 * it; tests/mpi compares every dataset with a run in one process. */
void cas_results_each_row_array(cas_results *res, void (*fn)(void *ctx, void *array, size_t row_bytes),
                                void *ctx);

/* Before the first run: whether segments are stored per path (default
 * yes); when not, the run keeps cas_segment_sums instead. */
void cas_results_store_segments(cas_results *res, int store);
/* Before the first run: a grouping stored per path; group_of
 * (nsegments entries, each < ngroups) is copied. */
cas_status cas_results_add_grouping(cas_results *res, const char *name, int ngroups,
                                    const uint16_t *group_of, int nsegments, cas_error *err);

/* The weight of row p: 1 without importance sampling. */
static inline double cas_results_weight(const cas_results *res, uint64_t p) {
  return res->weight ? res->weight[p] : 1.0;
}

/* Mean loss by segment and the default rates with their standard errors,
 * from the stored rows or the sums, whichever the results hold.
 * loans[s] the segment's loans; out arrays of nsegments. */
void cas_results_segment_means(const cas_results *res, const uint64_t *loans, double *el,
                               double *rate, double *rate_se);

/* Progress report, called from one thread only, at most a few times a
 * second; done counts finished paths. */
typedef void (*cas_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* Called after each path by the thread that ran it (thread: its index in
 * [0, threads)), with the path's workspace; for measurements across paths
 * such as the calibration of contagion (calibrate.c). */
typedef void (*cas_path_hook_fn)(void *ctx, int thread, uint64_t path,
                                 const cas_cascade_ws *ws);

typedef struct cas_kernel_options {
  int threads;              /* 0: OpenMP default */
  /* limit_rows: run rows 0 .. rows - 1 only (a rank's share of a
   * distributed run; 0 rows allocates the results and runs none). Else
   * all: the plan's paths from res->first_path, or res->paths with
   * path_of. */
  int limit_rows;
  uint64_t rows;
  /* Replay (may be NULL): row r of res simulates path path_of[r] (its
   * random streams), for r < res->paths; e.g. the tail paths again, with
   * every segment stored (run.c). NULL: row r is path r. */
  const uint64_t *path_of;
  cas_progress_fn progress; /* may be NULL */
  void *progress_ctx;
  cas_path_hook_fn path_hook; /* may be NULL; needs a network model */
  void *path_hook_ctx;
  /* Importance sampling (may be NULL: none): the mean of the factor
   * stream's normals u, [years][nfactors] (design.h). Each path draws u as
   * usual and adds the shift; its weight, the likelihood ratio
   * prod_t exp(-mu_t . u_t - |mu_t|^2 / 2) of the draws u_t before the
   * shift, goes to res->weight (allocated here). A replay with the same
   * shift gives the same paths and weights. */
  const double *is_shift;
  /* Defensive mixture (Hesterberg, "Weighted average importance sampling
   * and defensive mixture distributions", Technometrics 37(2), 1995; the
   * deterministic mixture of Owen and Zhou, JASA 95, 2000): path p draws
   * without the shift when floor((p + 1) a) > floor(p a), a =
   * is_plain_share, and every path's weight is then
   * 1 / (f + (1 - f) exp(mu . u - |mu|^2 / 2)), f = is_plain_fraction, the
   * share of the run's paths drawn plainly (floor(paths a) / paths), u the
   * normals as used. 0: every path shifted. */
  double is_plain_share, is_plain_fraction;
  /* May be NULL: called for every loss a path books, with the loan's plan
   * position (cas_loan_sink), from the thread that runs the path; row is
   * the results row. The losses of a path add up to its loss. */
  void (*loan_loss)(void *ctx, int thread, uint64_t row, uint32_t pos, double loss);
  void *loan_loss_ctx;
  /* May be NULL (then loan_loss gets every loan): a bucket whose loans are
   * alike and which the path drew as a count (models/kernels/sparse.c)
   * books its loss once, here, with loan_loss_ctx, instead of loan by
   * loan: the caller shares it equally among the bucket's loans, which is
   * each one's expected part given the count (the loans are exchangeable),
   * so an average over paths stays unbiased. */
  void (*bucket_loss)(void *ctx, int thread, uint64_t row, uint32_t bucket, double loss);
} cas_kernel_options;

typedef struct cas_kernel cas_kernel;

/* What a path writes by segment, and the thread's scratch: where
 * cas_kernel_path_begin points them (the path's rows of res when segments
 * are stored, else the thread's own arrays, folded by cas_kernel_path_end). */
typedef struct cas_path_rows {
  uint64_t path, row;      /* random streams of path, results in row */
  int year, years;         /* the year simulated (0-based) of the horizon's */
  double year_ead;         /* EAD of the year's defaults so far (kernels add, cas_kernel_path_end books) */
  double *seg_loss;        /* [nsegments] [CNY] */
  int32_t *seg_defaults;   /* [nsegments] */
  double *seg_contagion;   /* [nsegments] with contagion, else NULL */
  double *pool_claims;     /* [npools] the path's claims on the pools, or NULL */
  double *sys;             /* [nsegments] a_s . z */
  /* the thread's own (kernel.c) */
  double *own_loss, *own_contagion, *u, *own_claims, *pool_paid;
  int32_t *own_defaults;
  int thread;
  /* Multi-year (years > 1): the factor stream, carried from year to year,
   * the latent factors x (without shifts; z goes to the results); loans that
   * left the book by defaulting (a bit per portfolio loan, and the list of
   * them to clear it for the next path). */
  cas_rng factor_rng;
  double *x;
  uint8_t *dead;
  uint32_t *dead_list;
  size_t ndead, dead_cap;
  cas_cascade_ws *ws;      /* the thread's cascade workspace, or NULL */
  const double *is_shift;  /* importance sampling: [years][nfactors], or NULL */
  double is_plain_share, is_plain_fraction; /* its defensive mixture (cas_kernel_options) */
  int is_plain;            /* this path is drawn without the shift */
  cas_loan_sink sink;      /* each loan's loss, when sink.fn is set (cas_kernel_options) */
  double log_weight;       /* log of the shifted density over the plain one at the path's
                              normals, so far: sum_t mu_t . u_t - |mu_t|^2 / 2 */
  double *year_contagion;  /* [nsegments] multi-year with a cascade: the year's contagion loss */
  int32_t *year_rounds;    /* [rounds_cap] multi-year with a cascade: the year's defaults by round */
  uint64_t *bits;          /* [max_bucket / 64 + 1] zeros, the sparse kernel's scratch (left zero) */
  double *bucket_p;        /* [6 nbuckets of the largest year] the sparse kernel's scratch */
  /* 1: nothing needs to know which loans default, only how many by bucket
   * (no cascade or guarantees, pools, stochastic LGD, realised EAD or later
   * years, and no loan sink or one that takes a bucket's loss): a bucket
   * whose loans are alike is then drawn as a count (models/kernels/sparse.c) */
  int counts_only;
  /* with a loan sink and counts_only: where a bucket drawn as a count books */
  void (*bucket_loss)(void *ctx, int thread, uint64_t row, uint32_t bucket, double loss);
} cas_path_rows;

/* Multi-year: 1 if the loan at plan position k defaulted on the path in an
 * earlier year (it left the book: the kernel skips it), else records it
 * as defaulted and returns 0. Only with rows->dead. Plan positions are the
 * same loans in every year's plan (plan.h). */
static inline int cas_path_left_book(cas_path_rows *rows, uint32_t k) {
  uint8_t bit = (uint8_t)(1u << (k & 7u));
  if (rows->dead[k >> 3] & bit) return 1;
  rows->dead[k >> 3] |= bit;
  if (rows->ndead < rows->dead_cap) rows->dead_list[rows->ndead] = k;
  rows->ndead++;
  return 0;
}

/* Starts a year's cascade bookkeeping (cas_cascade_begin); in a later year
 * of a multi-year horizon, the loans that left the book count as defaulted
 * for the cascade: they do not default again, and a guarantee on one of
 * them is lost. */
void cas_kernel_cascade_begin(cas_cascade_ws *ws, cas_path_rows *rows);

/* Simulates one path: fills the path's rows of res. ws is the thread's
 * cascade workspace when the run has a network model (contagion or
 * guarantees), else NULL; rows holds the path and row indices and the
 * thread's scratch (for cas_kernel_path_begin). */
typedef void (*cas_path_fn)(const cas_plan *plan, const cas_contagion *contagion,
                            cas_results *res, cas_cascade_ws *ws, cas_path_rows *rows);

struct cas_kernel {
  cas_model_info info;
  int eps_all_known;   /* knows every loan's idiosyncratic value (dense) */
  cas_path_fn path;
};

extern const cas_kernel cas_kernel_dense;
extern const cas_kernel cas_kernel_sparse;

/* The kernel `cascade run` uses unless told otherwise. */
#define CAS_KERNEL_DEFAULT "sparse"

/* The registry (models/kernels/kernels.c): by name (NULL if none), the
 * names for messages, and the i-th kernel (NULL past the end) for tests
 * that walk them all. */
const cas_kernel *cas_kernel_lookup(const char *name);
void cas_kernel_list(char *buf, size_t size);
const cas_kernel *cas_kernel_at(size_t i);

/* Runs every path of the plan (contagion may be NULL): OpenMP over blocks
 * of paths handed out dynamically, per-thread workspaces allocated before
 * the parallel region, progress reported from one thread. Fails only if
 * the workspaces cannot be allocated. */
cas_status cas_kernel_run(const cas_kernel *kernel, const cas_plan *plan,
                          const cas_contagion *contagion, cas_results *res,
                          const cas_kernel_options *opt, cas_error *err);

/* --- for kernel implementations ------------------------------------- */

/* Starts a path, the same way for every kernel so they see the same
 * factors: draws the systematic factors from (seed, FACTORS, rows->path)
 * and stores them in row rows->row of res, points rows->seg_* at where the
 * path's segment values go and zeroes them, writes each segment's
 * systematic term a_s . z into rows->sys, and returns the copula's mixing
 * scale. */
double cas_kernel_path_begin(const cas_plan *plan, cas_results *res, cas_path_rows *rows);

/* Ends a path: books the guarantees and runs the cascade if the run has a
 * network model (rng: the kernel's stream, for the spill-over passes), then
 * writes the path's total loss (segment losses summed in segment order)
 * and its number of defaults, and folds the segment values into the
 * groupings and sums. */
void cas_kernel_path_end(const cas_plan *plan, const cas_contagion *contagion, cas_results *res,
                         cas_cascade_ws *ws, cas_path_rows *rows, double scale, cas_rng *rng,
                         int64_t defaults);

#endif
