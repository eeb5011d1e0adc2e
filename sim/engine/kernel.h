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

/* Per-path results, owned by the caller (cas_results_create). */
typedef struct cas_results {
  uint64_t paths;
  /* The shape of the rows below, set (and the rows allocated) by the first
   * cas_kernel_run from its plan; a later run must have the same. */
  int nsegments, nfactors;
  double *loss;             /* [paths] portfolio loss [CNY] */
  double *loss_by_segment;  /* [paths][nsegments] [CNY] */
  int64_t *defaults;        /* [paths] number of defaulted loans */
  double *factors;          /* [paths][nfactors] systematic factors z after shifts [SD] */
  int32_t *defaults_by_segment; /* [paths][nsegments] defaulted loans, cascade included */

  /* With a network that holds guarantees, else NULL: */
  double *loss_double_default;   /* [paths] covered parts lost because the guarantor defaulted too [CNY] */

  /* With contagion (rounds_cap > 0), else NULL: */
  uint32_t rounds_cap;           /* max_rounds + 1 */
  double *loss_contagion;        /* [paths] part of loss from contagion [CNY] */
  double *contagion_by_segment;  /* [paths][nsegments] [CNY] */
  int32_t *defaults_by_round;    /* [paths][rounds_cap]; round 0 is factor-driven */
  int32_t *rounds;               /* [paths] last round with new defaults */
  uint8_t *truncated;            /* [paths] 1 if max_rounds stopped the cascade */
} cas_results;

/* rounds_cap: 0 without contagion, else max_rounds + 1; guarantees: the
 * network holds guarantees (loss_double_default is kept). */
cas_status cas_results_create(uint64_t paths, uint32_t rounds_cap, int guarantees,
                              cas_results **out, cas_error *err);
void cas_results_destroy(cas_results *res);

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
  cas_progress_fn progress; /* may be NULL */
  void *progress_ctx;
  cas_path_hook_fn path_hook; /* may be NULL; needs a network model */
  void *path_hook_ctx;
} cas_kernel_options;

typedef struct cas_kernel cas_kernel;

/* Simulates one path: fills the path's rows of res. ws is the thread's
 * cascade workspace when the run has a network model (contagion or
 * guarantees), else NULL. */
/* scratch: the thread's nsegments + nfactors doubles. */
typedef void (*cas_path_fn)(const cas_plan *plan, const cas_contagion *contagion, uint64_t path,
                            cas_results *res, cas_cascade_ws *ws, double *scratch);

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
 * factors: draws the systematic factors from (seed, FACTORS, path) and
 * stores them in res, zeroes the path's segment losses and defaults, writes
 * each segment's systematic term a_s . z into sys[nsegments] (sys holds
 * nsegments + nfactors doubles: the rest is scratch), and returns the
 * copula's mixing scale. */
double cas_kernel_path_begin(const cas_plan *plan, uint64_t path, cas_results *res, double *sys);

/* Ends a path: books the guarantees and runs the cascade if the run has a
 * network model (rng: the kernel's stream, for the spill-over passes), then
 * writes the path's total loss (segment losses summed in segment order) and
 * its number of defaults. */
void cas_kernel_path_end(const cas_plan *plan, const cas_contagion *contagion, uint64_t path,
                         cas_results *res, cas_cascade_ws *ws, const double *sys, double scale,
                         cas_rng *rng, int64_t defaults);

#endif
