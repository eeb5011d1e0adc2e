/*
 * output.h: the result file of one run (HDF5, readable as netCDF-4).
 *
 * One function writes everything a run produced and everything needed to
 * reproduce it; the layout is documented dataset by dataset in
 * docs/OUTPUT.md. The file is written under a temporary name (outfile.h),
 * sealed (seal.h) and renamed to PATH only once complete and closed, so a
 * result is complete or absent, and a reader can tell it is unchanged.
 * Every axis of every dataset has an HDF5 dimension scale, string labels are
 * variable-length UTF-8, so that h5py, xarray (h5netcdf and netcdf4 engines)
 * and ncdump read it with named, labelled dimensions.
 */
#ifndef CASCADE_OUTPUT_H
#define CASCADE_OUTPUT_H

#include <hdf5.h>

#include "calibrate.h"
#include "contagion.h"
#include "error.h"
#include "kernel.h"
#include "network.h"
#include "plan.h"
#include "scenario.h"
#include "stats.h"

typedef struct cas_run_record {
  const cas_scenario *scenario;
  const char *resolved_yaml;    /* cas_scenario_write_yaml */
  const char *portfolio_source; /* cas_portfolio.source */
  const char *kernel;           /* kernel name */
  int threads;                  /* threads used (does not change results) */
  int ranks;                    /* MPI ranks (does not change results); 1: one process */
  const char *command_line;
  double elapsed_seconds;       /* simulation wall time */
  const cas_network *network;   /* NULL without a network */
  const cas_contagion *network_model; /* NULL without a network */
  const cas_calibration *calibration; /* NULL unless contagion is PD-preserving */
  const cas_contagion_summary *contagion; /* NULL without contagion */
  const cas_summary *summary_net; /* of the loss net of mitigants; NULL without them */
  const char *portfolio_file;   /* portfolio CSV read; NULL: built-in */
  const char *portfolio_sha256; /* its SHA-256 */
  const char *links_file;       /* links CSV read; NULL: none or built-in */
  const char *links_sha256;     /* its SHA-256 */
  /* Importance sampling (scenario key importance_sampling), else NULL: */
  const double *is_shift;       /* [years][nfactors] mean of the factor stream's normals [SD] */
  const double *is_moves;       /* [years][nfactors] the same as factor moves, chol applied [SD] */
  double is_beta;               /* |is_shift| */
  double is_loss;               /* the design model's loss at is_shift [CNY] */
  const struct cas_analytic *analytic; /* the closed-form cross-checks, or NULL */
  /* VaR contributions (stats.h cas_var_contributions), each NULL when the
   * per-path rows it needs are not stored: by segment [level][segment],
   * by region [level][region], by sector [level][sector]; and how many
   * paths carried each level. */
  const double *var_contribution, *var_contribution_region, *var_contribution_sector;
  const int64_t *var_contribution_paths;
  /* ES contributions of single loans at the highest level (run.c): the
   * top ones, largest first, and the sum over every loan. */
  int nloans_top;
  double loans_level;
  const double *loans_top_es;   /* [nloans_top] [CNY] */
  const int64_t *loans_top_index; /* [nloans_top] portfolio row */
  const char *const *loans_top_id; /* [nloans_top] */
  const double *loans_top_ead;  /* [nloans_top] loss if it defaults (stressed EAD x LGD, its
                                   uncovered part) [CNY] */
  const char *const *loans_top_segment; /* [nloans_top] */
  double loans_es_sum;          /* [CNY] */
  size_t record_nfiles;         /* > 0: record these scenario files instead of */
  char *const *record_paths;    /* the scenario's own (cas_run_options) */
  char *const *record_texts;
} cas_run_record;

/* The datasets of a run, described for the writer (dataset.h): the
 * engine's (describe.c), then what the run's models add. seg_mean: by
 * segment, the mean loss, the default rate and its standard error
 * (3 x nsegments, cas_results_segment_means). */
cas_status cas_output_describe(cas_dataset_list *l, const cas_run_record *rec,
                               const cas_plan *plan, const cas_results *res,
                               const cas_summary *sum, const double *seg_mean, cas_error *err);

/* Writes the described datasets to path (complete or absent). */
/* Once, before anything else uses HDF5 (the command line's main): HDF5
 * quiet, and without its clean-up at exit. */
void cas_output_init(void);

/* Before a run: whether the result can be written at path
 * (cas_outfile_check: a file name, in a folder that exists and can be
 * written, not a folder or a FIFO), so that a run fails in seconds rather
 * than after hours of simulation. */
cas_status cas_output_probe(const char *path, cas_error *err);

cas_status cas_output_write(const char *path, const cas_run_record *rec, const cas_plan *plan,
                            const cas_results *res, const cas_summary *sum,
                            const double *seg_mean, cas_error *err);

/* The headline numbers of a result file, for `cascade compare`. */
typedef struct cas_output_headline {
  char scenario[128];
  unsigned long long seed, paths, loans;
  int years;          /* horizon_years (1 for files without it) */
  double exposure;    /* stressed EAD [CNY] */
  double el, el_se;
  int nlevels;
  double levels[CAS_MAX_LEVELS];
  double var[CAS_MAX_LEVELS], var_se[CAS_MAX_LEVELS], es[CAS_MAX_LEVELS], es_se[CAS_MAX_LEVELS];
  int has_ci;         /* the file holds 95% intervals (files of 0.3.0 on) */
  double el_lo, el_hi;
  double var_lo[CAS_MAX_LEVELS], var_hi[CAS_MAX_LEVELS], es_lo[CAS_MAX_LEVELS], es_hi[CAS_MAX_LEVELS];
  char portfolio[512]; /* portfolio_source */
  char importance[256]; /* importance_sampling ("off" for files without it) */
} cas_output_headline;

/* 1 if the two results drew the same random numbers path by path (common
 * random numbers): the same seed, book, paths and importance sampling
 * setting. Only such runs are compared path by path (docs/OUTPUT.md,
 * Comparing). */
int cas_output_same_random_numbers(const cas_output_headline *a, const cas_output_headline *b);

/* The headline as a summary (levels, EL, VaR, ES, their standard errors
 * and intervals), for cas_unpaired_difference. */
void cas_output_headline_summary(const cas_output_headline *h, cas_summary *out);

/* The per-path losses of a result (dataset loss, `paths` finite values)
 * and its path weights (dataset weight, or *weight NULL without one), in
 * new arrays. */
cas_status cas_output_read_paths(const char *path, uint64_t paths, double **loss, double **weight,
                                 cas_error *err);

/* Index of level a in h's levels, or -1. */
int cas_output_headline_level(const cas_output_headline *h, double a);

/* Reads a result's headline figures: the one reader of results that
 * `compare`, `report` and `verify` share, so that they accept the same
 * files. CAS_ERR_INPUT naming the file if it is not HDF5, lacks a dataset
 * or attribute of the headline, holds a figure that is not finite, or
 * holds per-path losses (dataset loss, weighted by weight) that are
 * missing, not finite or do not give its EL (a damaged file). */
cas_status cas_output_read_headline(const char *path, cas_output_headline *out, cas_error *err);

/* Opens a result file for reading, the one way every reader of results
 * does: its seal checked first (seal.h: a damaged or changed file is
 * refused before HDF5 parses it), then H5Fopen read-only. The file's id
 * (close it with cas_output_close_result), or -1 with err set
 * (CAS_ERR_INPUT naming the file). The open, the close and every
 * reader of results (cas_output_read_headline, the report's and the
 * digest's) count as reading for the watchdog of the reading commands
 * (watch.h, cas_watch_begin / end), and tick after each block they read;
 * time between them, with the file open (a report drawing its page), does
 * not. */
hid_t cas_output_open_result(const char *path, cas_error *err);
void cas_output_close_result(hid_t f);

/* From now on, the path of every result file cas_output_open_result opens
 * is copied into buf (size bytes, terminated; size 0: no longer), so that
 * the command line's crash guard can name the file HDF5 was reading when
 * it crashed (a buffer shared with the guarding process). */
void cas_output_note_opens(char *buf, size_t size);

#endif
