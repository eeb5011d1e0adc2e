/*
 * run.h: one scenario run from file to result file, as the command line and
 * the tests use it.
 *
 * Order of work, so that bad input never leaves a file behind: load and
 * validate the scenario, apply the command-line overrides, load or generate
 * the portfolio, build the plan (all checks end here), simulate, summarise,
 * write the result under a temporary name, rename.
 */
#ifndef CASCADE_RUN_H
#define CASCADE_RUN_H

#include <stdint.h>

#include "calibrate.h"
#include "comm.h"
#include "error.h"
#include "contagion.h"
#include "kernel.h"
#include "network.h"
#include "plan.h"
#include "portfolio.h"
#include "scenario.h"
#include "stats.h"

/* The most threads a run uses (--threads, OMP_NUM_THREADS): more would
 * only exhaust the machine (libgomp crashes creating 100,000 threads). */
enum { CAS_THREADS_MAX = 1024 };

typedef struct cas_run_options {
  const char *scenario_path;
  const char *output_path;   /* NULL: results/<scenario name>.h5 */
  uint64_t paths, seed, loans; /* overrides, 0: keep the scenario's */
  int seed_given;            /* seed 0 is a valid override */
  int threads;               /* 1 to CAS_THREADS_MAX, for every parallel part of the run; 0: OpenMP's default (OMP_NUM_THREADS), which must not exceed CAS_THREADS_MAX */
  /* importance_sampling override: importance_given 1 replaces the
   * scenario's by (importance_mode, importance_value): CAS_IS_OFF, or
   * CAS_IS_LEVEL with a level, or CAS_IS_LOSS with a loss [CNY]. */
  int importance_given, importance_mode;
  double importance_value;
  const char *kernel;        /* NULL: "dense" */
  cas_progress_fn progress;  /* may be NULL */
  void *progress_ctx;
  const char *command_line;  /* recorded in the result */
  /* Re-running a recorded scenario (`cascade verify`): scenario_text, if
   * not NULL, is the scenario's YAML, read instead of the file
   * scenario_path (which then only names it in messages); record_nfiles > 0
   * replaces the scenario files recorded in the result (scenario_file,
   * scenario_text datasets) by record_paths/record_texts, the files the
   * original run read. */
  const char *scenario_text;
  size_t record_nfiles;
  char *const *record_paths;
  char *const *record_texts;
  /* A distributed run (docs/CLUSTER.md; NULL or one rank: this process
   * alone). Every rank calls cas_run with the same options; rank 0 reads
   * the CSV files and shares them, the ranks simulate their ranges of
   * paths, and rank 0 writes the file. Every rank returns the same status
   * and error, the first failing rank's; the report is filled on rank 0. */
  const cas_comm *comm;
  /* A CSV book already read (may be NULL; borrowed, never changed): used
   * instead of reading the scenario's portfolio file when that is the same
   * file (book_path, cas_same_file) and the scenario declares the same
   * classification (book_declared: both none, or equal), and book_sha256
   * (hex, the file's as read) goes to the record instead of hashing the
   * file again. A batch reads a book its scenarios share once, in the
   * batch's process, before it starts theirs (docs/BATCH.md). One process
   * only (no comm). */
  const cas_portfolio *book;
  const char *book_path;
  const cas_taxonomy *book_declared;
  const char *book_sha256;
  /* cas_run_validate only: 1 leaves out a PD-preserving contagion's
   * calibration (its pilot runs), which validate otherwise runs as a run
   * would, so that a calibration a run would refuse fails validate too. */
  int skip_calibration;
} cas_run_options;

/* What a finished (or validated) run leaves for the caller to print. */
typedef struct cas_run_report {
  char output_path[4096];
  char scenario_name[128];
  uint64_t loans, paths, seed;
  int threads;
  int ranks;                 /* MPI ranks of the run; 1: one process */
  double exposure;           /* stressed EAD [CNY] */
  double expected_loss_analytic; /* [CNY] */
  /* Wall times: setup (inputs, plan, calibration), simulate (from the
   * first path to the statistics: kernel, gather, the tail's replays),
   * of which kernel (this rank's paths, and waiting for the others) and
   * gather (rank 0 collecting the other ranks' rows); write (statistics,
   * contributions and the file). */
  double setup_seconds, simulate_seconds, write_seconds;
  double kernel_seconds, gather_seconds;
  cas_summary summary;
  int years;                 /* the horizon; with more than one, EL by year */
  double el_by_year[CAS_MAX_YEARS];
  int has_net;               /* with mitigants: the summary of the loss net of them */
  cas_summary summary_net;
  int has_contagion;
  cas_contagion_summary contagion;
  double vasicek_sum_top;    /* the analytic cross-checks (analytic.h): the sum over segments
                                of their large-portfolio quantiles at the highest level [CNY] */
  double irb_capital;        /* the IRB capital requirement [CNY] */
  int has_importance;        /* importance sampling: the design point's norm and loss */
  double importance_beta, importance_loss;
  double importance_mean_weight, importance_effective_paths;   /* cas_weight_diagnostics */
  int has_calibration;       /* PD-preserving contagion: the calibration's record */
  uint64_t calibration_paths;
  uint32_t calibration_iterations;
  double calibration_residual; /* mean residual */
  int calibration_converged;
  size_t calibration_capped;
} cas_run_report;

/* Loads a scenario and applies the overrides of opt (paths, seed, loans). */
cas_status cas_run_load_scenario(const cas_run_options *opt, cas_scenario **out, cas_error *err);

/* The scenario's portfolio: its CSV file or the built-in book it names
 * (portfolio.builtin, drawn by that model of models/books). */
cas_status cas_run_load_portfolio(const cas_scenario *sc, cas_portfolio **out, cas_error *err);

/* The scenario's network: its links CSV, or else the built-in network
 * network.builtin names (drawn by that model of models/networks). */
cas_status cas_run_load_network(const cas_scenario *sc, const cas_portfolio *pf,
                                cas_network **out, cas_error *err);

/* Everything up to a plan, without simulating the paths: `cascade
 * validate`. A PD-preserving contagion is calibrated (pilot runs, as a
 * run does; not with opt->skip_calibration) and the report records it. */
cas_status cas_run_validate(const cas_run_options *opt, cas_run_report *report, cas_error *err);

/* A full run. */
cas_status cas_run(const cas_run_options *opt, cas_run_report *report, cas_error *err);

/* A reverse stress test (`cascade reverse`): the most likely factor
 * outcome under which the book's expected loss is `loss` (the design point,
 * design.h), and a scenario that moves the factor means along it so that
 * the expected loss of its run is `loss` (the scenario of opt with one
 * factor_shift shock per factor added; docs/MODEL.md, Reverse stress
 * tests). Caller frees with cas_reverse_report_free. */
typedef struct cas_reverse_report {
  char scenario_name[128];    /* the scenario reversed */
  int years, nfactors;
  char **factor;              /* [nfactors] names */
  double loss;                /* the target [CNY] */
  double base_loss;           /* expected loss of the scenario as given [CNY] */
  double beta;                /* the design point's distance from the scenario's mean [SD] */
  double *moves;              /* [years][nfactors] its factor moves [SD] */
  double scale;               /* the written scenario moves the means by scale x moves */
  double written_loss;        /* the expected loss of the written scenario's run [CNY] */
  char *yaml;                 /* the scenario written */
} cas_reverse_report;
/* name: the written scenario's (NULL: the scenario's name + "_reverse"). */
cas_status cas_run_reverse(const cas_run_options *opt, double loss, const char *name,
                           cas_reverse_report *rep, cas_error *err);
void cas_reverse_report_free(cas_reverse_report *rep);

#endif
