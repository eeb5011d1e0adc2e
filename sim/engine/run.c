/* run.c: scenario file to result file (see run.h). */
#define _GNU_SOURCE /* qsort_r */
#include "run.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "books/books.h"
#include "analytic.h"
#include "calibrate.h"
#include "design.h"
#include "distribute.h"
#include "normal.h"
#include "networks/networks.h"
#include "outfile.h"
#include "output.h"
#include "sha256.h"

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

cas_status cas_run_load_scenario(const cas_run_options *opt, cas_scenario **out, cas_error *err) {
  cas_scenario *sc = NULL;
  cas_status st = opt->scenario_text
                      ? cas_scenario_load_text(opt->scenario_text, opt->scenario_path, &sc, err)
                      : cas_scenario_load(opt->scenario_path, &sc, err);
  if (st != CAS_OK) return st;
  if (opt->paths) sc->paths = opt->paths;
  if (opt->seed_given) sc->seed = opt->seed;
  if (opt->loans) {
    if (sc->portfolio.source != CAS_PORTFOLIO_BUILTIN) {
      cas_error_set(err, CAS_ERR_USAGE,
                    "--loans sizes the built-in portfolio, but %s reads the portfolio from %s",
                    opt->scenario_path, sc->portfolio.file);
      cas_scenario_destroy(sc);   /* after the message: it names the scenario's file */
      return err->status;
    }
    sc->portfolio.loans = opt->loans;
  }
  if (opt->importance_given) {
    sc->importance.at_file = NULL;   /* the command line's, not the file's */
    sc->importance.mode = opt->importance_mode;
    if (opt->importance_mode == CAS_IS_LEVEL) sc->importance.level = opt->importance_value;
    if (opt->importance_mode == CAS_IS_LOSS) sc->importance.loss = opt->importance_value;
  }
  *out = sc;
  return CAS_OK;
}

cas_status cas_run_load_portfolio(const cas_scenario *sc, cas_portfolio **out, cas_error *err) {
  if (sc->portfolio.source == CAS_PORTFOLIO_FILE)
    return cas_portfolio_load_csv_as(sc->portfolio.file, sc->declared, out, err);
  const cas_book_model *book = cas_book_lookup(sc->portfolio.builtin);
  if (book == NULL) {
    /* The scenario reader accepts registered names only: a scenario made
     * another way. */
    char names[256];
    cas_book_list(names, sizeof names);
    *out = NULL;
    return cas_error_set(err, CAS_ERR_INPUT, "unknown built-in portfolio '%s' (expected one of: %s)",
                         sc->portfolio.builtin, names);
  }
  return book->generate(sc->portfolio.loans, sc->portfolio.seed, out, err);
}

/* An input error found after the scenario was read, about a value written
 * at file:line:col (what: its key): the message then says where, as the
 * scenario reader's do. file NULL (the value came from elsewhere): as it
 * is. */
static cas_status at_scenario(cas_error *err, const char *file, long line, long col,
                              const char *what) {
  if (!err || !file) return err ? err->status : CAS_ERR_INPUT;
  char msg[CAS_ERROR_MSG_MAX];
  snprintf(msg, sizeof msg, "%s", err->msg);
  return cas_error_at(err, err->status, file, line, col, "%s: %s", what, msg);
}

cas_status cas_run_load_network(const cas_scenario *sc, const cas_portfolio *pf,
                                cas_network **out, cas_error *err) {
  if (sc->network.source == CAS_NETWORK_FILE)
    return cas_network_load_csv(sc->network.file, pf, out, err);
  const cas_network_model *model = cas_network_lookup(sc->network.builtin);
  if (model == NULL) {
    char names[256];
    cas_network_list(names, sizeof names);
    *out = NULL;
    return cas_error_set(err, CAS_ERR_INPUT, "unknown built-in network '%s' (expected one of: %s)",
                         sc->network.builtin, names);
  }
  cas_status st = model->generate(pf, sc->network.seed, out, err);
  return st == CAS_ERR_INPUT ? at_scenario(err, sc->network.at_file, sc->network.at_line,
                                           sc->network.at_col, "network.builtin")
                             : st;
}

static void fill_report(const cas_scenario *sc, const cas_plan *plan, cas_run_report *rep) {
  snprintf(rep->scenario_name, sizeof rep->scenario_name, "%s", sc->name);
  rep->loans = plan->n;
  rep->paths = sc->paths;
  rep->seed = sc->seed;
  rep->exposure = 0.0;
  rep->expected_loss_analytic = 0.0;
  for (int s = 0; s < plan->nsegments; s++) {
    rep->exposure += plan->stressed.ead[s];
    rep->expected_loss_analytic += plan->stressed.expected_loss[s];
  }
}

/* Everything a run reads, built and checked before anything is simulated. */
typedef struct inputs {
  cas_scenario *sc;
  cas_portfolio *pf;
  cas_plan *plan;
  cas_network *net;           /* with a network only */
  double *guaranteed;         /* [loans] guaranteed amounts [CNY], with a network only */
  cas_contagion *contagion;   /* the network model (guarantees, cascade), with a network only */
  cas_calibration *calibration; /* PD-preserving contagion only */
  char portfolio_sha256[CAS_SHA256_HEX]; /* "" for the built-in book */
  char links_sha256[CAS_SHA256_HEX];     /* "" unless the network is a links CSV */
  int pf_borrowed;            /* pf is the caller's (cas_run_options.book) */
} inputs;

static void release(inputs *in) {
  cas_calibration_destroy(in->calibration);
  cas_contagion_destroy(in->contagion);
  free(in->guaranteed);
  cas_network_destroy(in->net);
  cas_plan_destroy(in->plan);
  if (!in->pf_borrowed) cas_portfolio_destroy(in->pf);
  cas_scenario_destroy(in->sc);
  *in = (inputs){0};
}

/* A distributed run's CSV file: read by rank 0 alone (as the loaders
 * would open it, with their messages), then sent to every rank, which
 * hashes and parses the bytes. Collective. */
static cas_status shared_file(const cas_comm *c, const char *path, char **data, size_t *size,
                              char hex[CAS_SHA256_HEX], cas_error *err) {
  *data = NULL;
  uint64_t n = 0;
  cas_status st = CAS_OK;
  if (cas_comm_rank(c) == 0) {
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f)
      st = cas_error_at(err, CAS_ERR_INPUT, path, 0, 0, "cannot open (%s)", strerror(errno));
    else if (fstat(fileno(f), &sb) != 0 || S_ISDIR(sb.st_mode))
      st = cas_error_at(err, CAS_ERR_INPUT, path, 0, 0, "cannot read (got a directory, expected a CSV file)");
    else if (!(*data = malloc((size_t)sb.st_size + 1)))
      st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory for %s (%lld bytes)", path,
                         (long long)sb.st_size);
    else if ((n = fread(*data, 1, (size_t)sb.st_size, f)) != (uint64_t)sb.st_size || ferror(f))
      st = cas_error_set(err, CAS_ERR_IO, "%s: read error (the file changed while read?)", path);
    if (f) fclose(f);
  }
  st = cas_comm_agree(c, st, err);
  if (st == CAS_OK) cas_comm_bcast(c, &n, sizeof n);
  if (st == CAS_OK && cas_comm_rank(c) != 0 && !(*data = malloc((size_t)n + 1)))
    st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory for %s (%llu bytes)", path,
                       (unsigned long long)n);
  st = cas_comm_agree(c, st, err);
  if (st == CAS_OK) {
    cas_comm_bcast(c, *data, (size_t)n);
    *size = (size_t)n;
    if (cas_sha256_hex(*data, (size_t)n, hex) != CAS_OK)
      st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory hashing %s", path);
  }
  st = cas_comm_agree(c, st, err);
  if (st != CAS_OK) {
    free(*data);
    *data = NULL;
  }
  return st;
}

/* Loads the scenario, the portfolio and the network, builds the plan and
 * the network model: every check of a run. On failure nothing is kept.
 * Distributed (opt->comm), every rank builds the same inputs from the files
 * rank 0 read, and all return the same status. */
/* The caller's book is the scenario's: the same CSV file, read with the
 * same declared classification (cas_run_options.book). */
static int book_fits(const cas_run_options *opt, const cas_scenario *sc) {
  if (!opt->book || !opt->book_path || !opt->book_sha256 || strlen(opt->book_sha256) != CAS_SHA256_HEX - 1)
    return 0;
  if (sc->portfolio.source != CAS_PORTFOLIO_FILE || !cas_same_file(opt->book_path, sc->portfolio.file))
    return 0;
  if (!opt->book_declared || !sc->declared) return !opt->book_declared && !sc->declared;
  return cas_taxonomy_equal(opt->book_declared, sc->declared);
}

static cas_status prepare(const cas_run_options *opt, int calibrate, inputs *in, cas_error *err) {
  *in = (inputs){0};
  const cas_comm *c = opt->comm;
  int shared = cas_comm_size(c) > 1;
  char *bytes = NULL;
  size_t nbytes = 0;
  cas_status st = cas_run_load_scenario(opt, &in->sc, err);
  st = cas_comm_agree(c, st, err);
  /* The CSV inputs are hashed just before they are read, for the result's
   * record (portfolio_sha256, links_sha256; checked by `cascade verify`). */
  if (st == CAS_OK && in->sc->portfolio.source == CAS_PORTFOLIO_FILE && shared) {
    st = shared_file(c, in->sc->portfolio.file, &bytes, &nbytes, in->portfolio_sha256, err);
    if (st == CAS_OK)
      st = cas_portfolio_load_csv_mem(in->sc->portfolio.file, bytes, nbytes, in->sc->declared,
                                      &in->pf, err);
    free(bytes);
    bytes = NULL;
  } else if (st == CAS_OK && book_fits(opt, in->sc)) {
    in->pf = (cas_portfolio *)opt->book;   /* borrowed: release() leaves it */
    in->pf_borrowed = 1;
    snprintf(in->portfolio_sha256, sizeof in->portfolio_sha256, "%s", opt->book_sha256);
  } else {
    if (st == CAS_OK && in->sc->portfolio.source == CAS_PORTFOLIO_FILE)
      st = cas_sha256_file(in->sc->portfolio.file, in->portfolio_sha256, NULL, err);
    if (st == CAS_OK) st = cas_run_load_portfolio(in->sc, &in->pf, err);
  }
  st = cas_comm_agree(c, st, err);
  if (st == CAS_OK && in->sc->network.source != CAS_NETWORK_NONE) {
    if (in->sc->network.source == CAS_NETWORK_FILE && shared) {
      st = shared_file(c, in->sc->network.file, &bytes, &nbytes, in->links_sha256, err);
      if (st == CAS_OK)
        st = cas_network_load_csv_mem(in->sc->network.file, bytes, nbytes, in->pf, &in->net, err);
      free(bytes);
      bytes = NULL;
    } else {
      if (in->sc->network.source == CAS_NETWORK_FILE)
        st = cas_sha256_file(in->sc->network.file, in->links_sha256, NULL, err);
      if (st == CAS_OK) st = cas_run_load_network(in->sc, in->pf, &in->net, err);
    }
    st = cas_comm_agree(c, st, err);
    if (st == CAS_OK) {
      in->guaranteed = malloc((in->pf->n ? in->pf->n : 1) * sizeof *in->guaranteed);
      if (!in->guaranteed)
        st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory for the guarantees of %zu loans",
                           in->pf->n);
      else
        cas_network_guaranteed(in->net, in->guaranteed);
    }
  }
  cas_plan_options popt = {.grades_per_decade = CAS_PLAN_DEFAULT_GRADES,
                           .guaranteed = in->guaranteed};
  if (st == CAS_OK) st = cas_plan_build(in->sc, in->pf, &popt, &in->plan, err);
  if (st == CAS_OK && in->net)
    st = cas_contagion_create(in->sc, in->plan, in->pf, in->net, &in->contagion, err);
  /* The analytic EL (without contagion) of the covered parts: double
   * defaults, from the plan without calibration offsets. */
  double *double_default = NULL;
  if (st == CAS_OK && in->contagion) {
    double_default = calloc((size_t)in->plan->nsegments, sizeof *double_default);
    if (double_default == NULL)
      st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (expected double default)");
    else
      cas_contagion_expected_double_default(in->contagion, in->plan, double_default);
  }
  /* PD-preserving contagion: thresholds lowered so that the cascade keeps
   * the input PDs (calibrate.h), then the plan again with them. A cascade
   * with no weighted link and no spill-over has nothing to calibrate. */
  if (st == CAS_OK && in->contagion && in->contagion->max_rounds > 0 &&
      (in->contagion->nedges > 0 || in->contagion->nspill > 0) &&
      in->sc->contagion.calibration == CAS_CALIBRATION_PD_PRESERVING && calibrate) {
    cas_calibration_options copt = {.kernel = opt->kernel, .threads = opt->threads, .comm = opt->comm,
                                    .guaranteed = in->guaranteed};
    st = cas_calibration_run(in->sc, in->pf, in->net, &copt, &in->calibration, err);
    /* A calibration that ends far from the PDs (the cascade alone takes
     * the groups past them, and lowering the thresholds cannot bring them
     * back: with weights that large it swings between all and nothing)
     * would give a result whose default rates are not the input PDs, as
     * the mode promises: EL 0 was seen. Refused; one that stopped short
     * but near only warns (cas_run_report). */
    if (st == CAS_OK && !in->calibration->converged &&
        !(in->calibration->mean_residual < CAS_CALIBRATION_REFUSE_RESIDUAL))
      st = cas_error_set(err, CAS_ERR_INPUT,
                         "%s: the contagion cannot keep the input PDs: after %u pilot runs the "
                         "calibrated default rates are %.0f%% from them (a run is refused from "
                         "%.0f%% on: the cascade is too strong for lower thresholds to make up for "
                         "it); lower "
                         "the network's weights (contagion.supply_chain_scale, guarantee_scale, "
                         "spillover betas), or set contagion.calibration.mode: on_top",
                         opt->scenario_path ? opt->scenario_path : in->sc->name,
                         in->calibration->iterations, 100.0 * in->calibration->mean_residual,
                         100.0 * CAS_CALIBRATION_REFUSE_RESIDUAL);
    if (st == CAS_OK && in->calibration->ngroups > 0) {
      popt.threshold_group = in->calibration->group;
      popt.threshold_offset = in->calibration->offset;
      cas_plan_destroy(in->plan);
      in->plan = NULL;
      st = cas_plan_build(in->sc, in->pf, &popt, &in->plan, err);
    }
  }
  if (st == CAS_OK && double_default)
    for (int s = 0; s < in->plan->nsegments; s++)
      in->plan->stressed.expected_loss[s] += double_default[s];
  free(double_default);
  st = cas_comm_agree(c, st, err);
  /* Every rank must have built the same plan, bit for bit, or its paths
   * would not be the ones one process draws (distribute.h). */
  if (st == CAS_OK && shared) {
    char mine[CAS_SHA256_HEX] = "", first[CAS_SHA256_HEX];
    st = cas_plan_fingerprint(in->plan, mine, err);
    st = cas_comm_agree(c, st, err);
    memcpy(first, mine, sizeof first);
    if (st == CAS_OK) cas_comm_bcast(c, first, sizeof first);
    if (st == CAS_OK && memcmp(mine, first, sizeof mine) != 0)
      st = cas_error_set(err, CAS_ERR_INTERNAL,
                         "rank %d built another plan than rank 0 from the same inputs (plan "
                         "SHA-256 %.16s..., rank 0 %.16s...): the nodes' CPUs or maths libraries "
                         "round differently; run on nodes of one kind",
                         cas_comm_rank(c), mine, first);
    st = cas_comm_agree(c, st, err);
  }
  if (st != CAS_OK) release(in);
  return st;
}

static void record_calibration(const inputs *in, cas_run_report *report) {
  if (!in->calibration) return;
  report->has_calibration = 1;
  report->calibration_paths = in->calibration->paths;
  report->calibration_iterations = in->calibration->iterations;
  report->calibration_residual = in->calibration->mean_residual;
  report->calibration_converged = in->calibration->converged;
  report->calibration_capped = in->calibration->capped;
}

static cas_status importance_shift(const cas_scenario *sc, const cas_plan *plan, double **shift,
                                   double **moves, double *beta, double *loss, cas_error *err);

cas_status cas_run_validate(const cas_run_options *opt, cas_run_report *report, cas_error *err) {
  memset(report, 0, sizeof *report);
  inputs in;
  cas_status st = prepare(opt, !opt->skip_calibration, &in, err);
  if (st != CAS_OK) return st;
  /* an importance-sampling loss the book cannot reach fails the run before
   * its paths: validate says so too (on the calibrated plan, as the run) */
  if (in.sc->importance.mode == CAS_IS_LOSS) {
    double *shift = NULL, *moves = NULL, beta = 0.0, loss = 0.0;
    st = importance_shift(in.sc, in.plan, &shift, &moves, &beta, &loss, err);
    free(shift);
    free(moves);
  }
  if (st == CAS_OK) {
    fill_report(in.sc, in.plan, report);
    record_calibration(&in, report);
  }
  release(&in);
  return st;
}

/* What the result stores per path (flags of cas_scenario_per_path). */
static cas_status store_per_path(cas_results *res, const cas_plan *plan, unsigned per_path,
                                 cas_error *err) {
  cas_results_store_segments(res, (per_path & CAS_PER_PATH_SEGMENT) != 0);
  const cas_taxonomy *tax = plan->tax;
  int nseg = plan->nsegments;
  uint16_t *group_of = malloc((size_t)(nseg ? nseg : 1) * sizeof *group_of);
  if (!group_of) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (groupings)");
  cas_status st = CAS_OK;
  if (per_path & CAS_PER_PATH_REGION) {
    for (int s = 0; s < nseg; s++) group_of[s] = (uint16_t)cas_taxonomy_segment_region(tax, s);
    st = cas_results_add_grouping(res, "region", tax->regions.n, group_of, nseg, err);
  }
  if (st == CAS_OK && (per_path & CAS_PER_PATH_SECTOR)) {
    for (int s = 0; s < nseg; s++) group_of[s] = (uint16_t)cas_taxonomy_segment_sector(tax, s);
    st = cas_results_add_grouping(res, "sector", tax->sectors.n, group_of, nseg, err);
  }
  free(group_of);
  return st;
}

/* Importance sampling: the shift of the factor stream's normals to the
 * design point of the scenario's level or loss (design.h), its factor
 * moves, norm and design loss. */
static cas_status importance_shift(const cas_scenario *sc, const cas_plan *plan, double **shift,
                                   double **moves, double *beta, double *loss, cas_error *err) {
  cas_design *d = NULL;
  cas_status st = cas_design_create(plan, &d, err);
  if (st != CAS_OK) return st;
  size_t n = cas_design_dim(d), nf = (size_t)plan->nfactors;
  *shift = calloc(n ? n : 1, sizeof **shift);
  *moves = calloc(n ? n : 1, sizeof **moves);
  if (!*shift || !*moves) st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (importance sampling)");
  if (st == CAS_OK && sc->importance.mode == CAS_IS_LEVEL) {
    *beta = cas_norm_quantile(sc->importance.level);
    if (*beta < 0.0) *beta = 0.0;
    st = cas_design_point_at(d, *beta, *shift, loss, err);
  } else if (st == CAS_OK) {
    st = cas_design_point_for_loss(d, sc->importance.loss, *shift, beta, err);
    if (st == CAS_OK) *loss = cas_design_loss(d, *shift, NULL);
    if (st == CAS_ERR_INPUT)
      st = at_scenario(err, sc->importance.at_file, sc->importance.at_line, sc->importance.at_col,
                       "importance_sampling.loss");
  }
  for (int t = 0; st == CAS_OK && t < plan->years; t++)
    cas_design_factor_moves(d, *shift, t, *moves + (size_t)t * nf);
  cas_design_destroy(d);
  return st;
}

/* ES contributions of single loans (docs/OUTPUT.md, Risk contributions):
 * the paths that make up ES at level a are simulated again, a chunk at a
 * time, each loss booked on its loan (cas_loan_sink), and folded into
 * es[plan position] in path order, so the sums do not depend on the
 * threads. */
enum { LOAN_TOP = 100, LOAN_CHUNK = 256 };

typedef struct loan_entry {
  uint32_t row, pos;
  double loss;
} loan_entry;

typedef struct loan_log {
  loan_entry *v;
  size_t n, cap;
  int oom;
} loan_log;

static void log_loan_loss(void *ctx, int thread, uint64_t row, uint32_t pos, double loss) {
  loan_log *g = &((loan_log *)ctx)[thread];
  if (g->n == g->cap) {
    size_t cap = g->cap ? 2 * g->cap : 4096;
    loan_entry *v = realloc(g->v, cap * sizeof *v);
    if (!v) {
      g->oom = 1;
      return;
    }
    g->v = v;
    g->cap = cap;
  }
  g->v[g->n++] = (loan_entry){(uint32_t)row, pos, loss};
}

/* A bucket drawn as a count: logged as its index with the top bit set
 * (plan positions and bucket indices are below 2^31: portfolio.c's
 * MAX_LOANS_CSV, and at most 10^8 loans in the built-in book). */
enum { BUCKET_ENTRY = 0x80000000u };

static void log_bucket_loss(void *ctx, int thread, uint64_t row, uint32_t bucket, double loss) {
  log_loan_loss(ctx, thread, row, bucket | BUCKET_ENTRY, loss);
}

static cas_status loan_contributions(const cas_kernel *kernel, const cas_plan *plan,
                                     const cas_contagion *contagion, const cas_results *res,
                                     double a, int threads, const cas_kernel_options *run_opt,
                                     uint32_t rounds_cap, int guarantees, double **es_out,
                                     cas_error *err) {
  *es_out = NULL;
  uint64_t *paths = NULL, n = 0;
  double *ew = NULL;
  cas_status st = cas_tail_weights(res->paths, res->loss, res->weight, a, &paths, &ew, &n, err);
  double *es = calloc(plan->n ? plan->n : 1, sizeof *es);
  /* the losses of buckets drawn as counts, shared among their loans below */
  double *bucket_es = calloc(plan->nbuckets ? plan->nbuckets : 1, sizeof *bucket_es);
  loan_log *logs = calloc((size_t)threads, sizeof *logs);
  size_t *first = malloc(LOAN_CHUNK * sizeof *first), *last = malloc(LOAN_CHUNK * sizeof *last);
  int *thread_of = malloc(LOAN_CHUNK * sizeof *thread_of);
  if (st == CAS_OK && (!es || !bucket_es || !logs || !first || !last || !thread_of))
    st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (loan contributions)");
  double mass = (double)res->paths * (1.0 - a);
  for (uint64_t c0 = 0; st == CAS_OK && c0 < n; c0 += LOAN_CHUNK) {
    uint64_t m = n - c0 < LOAN_CHUNK ? n - c0 : LOAN_CHUNK;
    cas_results *tail = NULL;
    st = cas_results_create(m, rounds_cap, guarantees, &tail, err);
    if (st == CAS_OK) cas_results_store_segments(tail, 0);
    for (int t = 0; t < threads; t++) logs[t].n = 0;
    cas_kernel_options o = {.threads = threads, .path_of = paths + c0,
                            .is_shift = run_opt->is_shift,
                            .is_plain_share = run_opt->is_plain_share,
                            .is_plain_fraction = run_opt->is_plain_fraction,
                            .loan_loss = log_loan_loss, .loan_loss_ctx = logs,
                            .bucket_loss = log_bucket_loss};
    if (st == CAS_OK) st = cas_kernel_run(kernel, plan, contagion, tail, &o, err);
    for (int t = 0; st == CAS_OK && t < threads; t++)
      if (logs[t].oom) st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (loan contributions)");
    for (uint64_t r = 0; st == CAS_OK && r < m; r++) {
      if (memcmp(&tail->loss[r], &res->loss[paths[c0 + r]], sizeof(double)) != 0)
        st = cas_error_set(err, CAS_ERR_INTERNAL,
                           "path %llu simulated again gave another loss (%.17g, then %.17g)",
                           (unsigned long long)paths[c0 + r], res->loss[paths[c0 + r]], tail->loss[r]);
      first[r] = last[r] = 0;
      thread_of[r] = -1;
    }
    /* each row ran on one thread: its entries are a run of that thread's log */
    for (int t = 0; st == CAS_OK && t < threads; t++)
      for (size_t i = 0; i < logs[t].n; i++) {
        uint32_t r = logs[t].v[i].row;
        if (thread_of[r] != t) {
          thread_of[r] = t;
          first[r] = i;
        }
        last[r] = i + 1;
      }
    for (uint64_t r = 0; st == CAS_OK && r < m; r++) {
      if (thread_of[r] < 0) continue;
      double f = ew[c0 + r] / mass;
      const loan_entry *v = logs[thread_of[r]].v;
      for (size_t i = first[r]; i < last[r]; i++) {
        if (v[i].pos & BUCKET_ENTRY) bucket_es[v[i].pos & ~BUCKET_ENTRY] += f * v[i].loss;
        else es[v[i].pos] += f * v[i].loss;
      }
    }
    cas_results_destroy(tail);
  }
  for (size_t b = 0; st == CAS_OK && b < plan->nbuckets; b++) {
    const cas_bucket *bk = &plan->buckets[b];
    if (bucket_es[b] == 0.0) continue;
    double share = bucket_es[b] / (double)bk->count;
    for (uint32_t k = bk->first; k < bk->first + bk->count; k++) es[k] += share;
  }
  free(bucket_es);
  for (int t = 0; logs && t < threads; t++) free(logs[t].v);
  free(logs);
  free(first);
  free(last);
  free(thread_of);
  free(paths);
  free(ew);
  if (st != CAS_OK) {
    free(es);
    return st;
  }
  *es_out = es;
  return CAS_OK;
}

/* The LOAN_TOP largest of es[plan position] (ties: the lower position),
 * in order[]: *k of them. */
static int by_contribution(const void *x, const void *y, void *es) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  double u = ((const double *)es)[a], v = ((const double *)es)[b];
  if (u != v) return u > v ? -1 : 1;
  return (a > b) - (a < b);
}

/* Default output: results/<name>.h5, creating results/ if needed. */
static cas_status output_path(const cas_run_options *opt, const cas_scenario *sc, char *buf,
                              size_t size, cas_error *err) {
  if (opt->output_path) {
    if (snprintf(buf, size, "%s", opt->output_path) >= (int)size)
      return cas_error_set(err, CAS_ERR_USAGE, "output path too long");
    return CAS_OK;
  }
  if (mkdir("results", 0777) != 0 && errno != EEXIST)
    return cas_error_set(err, CAS_ERR_IO, "cannot create folder results/: %s", strerror(errno));
  if (snprintf(buf, size, "results/%s.h5", sc->name) >= (int)size)
    return cas_error_set(err, CAS_ERR_USAGE, "output path too long");
  return CAS_OK;
}

cas_status cas_run(const cas_run_options *opt, cas_run_report *report, cas_error *err) {
  memset(report, 0, sizeof *report);
  const char *kernel_name = opt->kernel ? opt->kernel : CAS_KERNEL_DEFAULT;
  const cas_kernel *kernel = cas_kernel_lookup(kernel_name);
  if (!kernel) {
    char names[256];
    cas_kernel_list(names, sizeof names);
    return cas_error_set(err, CAS_ERR_USAGE, "unknown kernel '%s' (expected one of: %s)",
                         kernel_name, names);
  }
  /* one thread count for every parallel part: the book's generation and
   * the network's construction too, which take OpenMP's default */
  int want = opt->threads > 0 ? opt->threads : omp_get_max_threads();
  if (want > CAS_THREADS_MAX)
    return cas_error_set(err, CAS_ERR_USAGE, "%d threads asked for (got %s%d, expected 1 to %d)",
                         want, opt->threads > 0 ? "--threads " : "OMP_NUM_THREADS=", want,
                         CAS_THREADS_MAX);
  omp_set_num_threads(want);
  double t0 = now_seconds();
  const cas_comm *c = opt->comm;
  int rank = cas_comm_rank(c), ranks = cas_comm_size(c);
  inputs in;
  cas_status st = prepare(opt, 1, &in, err);
  if (st != CAS_OK) return st;
  report->ranks = ranks;
  cas_scenario *sc = in.sc;
  cas_plan *plan = in.plan;
  cas_contagion *contagion = in.contagion;
  fill_report(sc, plan, report);
  record_calibration(&in, report);

  cas_results *res = NULL, *tail = NULL;
  double *is_shift = NULL, *is_moves = NULL, is_beta = 0.0, is_loss = 0.0;
  char *yaml = NULL;
  uint64_t *tail_paths = NULL;
  int64_t *row_of_path = NULL;
  double *seg_mean = NULL;
  uint64_t *first = NULL;     /* distributed: the ranks' ranges of paths */
  /* Where the result goes, checked before anything is simulated (rank 0
   * writes it). */
  if (rank == 0) st = output_path(opt, sc, report->output_path, sizeof report->output_path, err);
  if (rank == 0 && st == CAS_OK) st = cas_output_probe(report->output_path, err);
  /* nor is it one of the run's own inputs */
  for (size_t i = 0; rank == 0 && st == CAS_OK && i < sc->nfiles; i++)
    if (cas_same_file(report->output_path, sc->file_paths[i]))
      st = cas_error_set(err, CAS_ERR_USAGE, "%s: the result would overwrite the scenario file %s "
                         "(expected another output name)", report->output_path, sc->file_paths[i]);
  if (rank == 0 && st == CAS_OK && sc->portfolio.source == CAS_PORTFOLIO_FILE &&
      cas_same_file(report->output_path, sc->portfolio.file))
    st = cas_error_set(err, CAS_ERR_USAGE, "%s: the result would overwrite the portfolio %s "
                       "(expected another output name)", report->output_path, sc->portfolio.file);
  if (rank == 0 && st == CAS_OK && sc->network.source == CAS_NETWORK_FILE &&
      cas_same_file(report->output_path, sc->network.file))
    st = cas_error_set(err, CAS_ERR_USAGE, "%s: the result would overwrite the links file %s "
                       "(expected another output name)", report->output_path, sc->network.file);
  if (st == CAS_OK) st = cas_scenario_write_yaml(sc, &yaml, err);
  /* Importance sampling's shift: computed on rank 0, sent to the others. */
  if (st == CAS_OK && sc->importance.mode != CAS_IS_OFF && rank == 0)
    st = importance_shift(sc, plan, &is_shift, &is_moves, &is_beta, &is_loss, err);
  st = cas_comm_agree(c, st, err);
  if (st == CAS_OK && sc->importance.mode != CAS_IS_OFF) {
    size_t n = (size_t)plan->years * (size_t)plan->nfactors;
    if (rank != 0) {
      is_shift = calloc(n ? n : 1, sizeof *is_shift);
      is_moves = calloc(n ? n : 1, sizeof *is_moves);
      if (!is_shift || !is_moves) st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (importance sampling)");
    }
    st = cas_comm_agree(c, st, err);
    if (st == CAS_OK) {
      double bl[2] = {is_beta, is_loss};
      cas_comm_bcast(c, is_shift, n * sizeof *is_shift);
      cas_comm_bcast(c, is_moves, n * sizeof *is_moves);
      cas_comm_bcast(c, bl, sizeof bl);
      is_beta = bl[0];
      is_loss = bl[1];
    }
    report->has_importance = st == CAS_OK;
    report->importance_beta = is_beta;
    report->importance_loss = is_loss;
  }
  int cascade = contagion && contagion->model->spreads;
  uint32_t rounds_cap = cascade ? contagion->max_rounds + 1 : 0;
  int guarantees = contagion && contagion->ncalls > 0;
  unsigned per_path = cas_scenario_per_path(sc, plan->nsegments);
  /* Distributed: each rank's range of paths (distribute.h); rank 0 holds
   * rows for every path, the others their own slice. */
  uint64_t mine = sc->paths, nrows = sc->paths;
  if (st == CAS_OK && ranks > 1) {
    first = malloc(((size_t)ranks + 1) * sizeof *first);
    if (!first) st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory");
    else {
      cas_split_paths(sc->paths,
                      cas_results_unit(sc->paths, plan->nsegments, (per_path & CAS_PER_PATH_SEGMENT) != 0),
                      ranks, first);
      mine = first[rank + 1] - first[rank];
      if (rank != 0) nrows = mine ? mine : 1;
    }
  }
  if (st == CAS_OK) st = cas_results_create(nrows, rounds_cap, guarantees, &res, err);
  if (st == CAS_OK && ranks > 1 && rank != 0)
    cas_results_set_slice(res, mine ? first[rank] : 0, sc->paths);
  if (st == CAS_OK) st = store_per_path(res, plan, per_path, err);
  if (st == CAS_OK) st = cas_results_shape(res, plan, err);
  st = cas_comm_agree(c, st, err);
  if (st == CAS_OK) {
    int threads = opt->threads > 0 ? opt->threads : omp_get_max_threads();
    report->threads = threads;
    double plain_share = is_shift ? sc->importance.plain_share : 0.0;
    double plain_fraction = floor((double)sc->paths * plain_share) / (double)sc->paths;
    cas_kernel_options kopt = {.threads = threads, .progress = opt->progress,
                               .progress_ctx = opt->progress_ctx, .is_shift = is_shift,
                               .is_plain_share = plain_share, .is_plain_fraction = plain_fraction,
                               .limit_rows = ranks > 1, .rows = mine};
    double t1 = now_seconds();
    report->setup_seconds = t1 - t0;
    st = cas_kernel_run(kernel, plan, contagion, res, &kopt, err);
    /* the ranks that finish first wait for the others without spinning a
     * core they may share with them */
    cas_comm_idle_barrier(c);
    st = cas_comm_agree(c, st, err);
    double tg = now_seconds();
    report->kernel_seconds = tg - t1;
    if (st == CAS_OK) st = cas_results_gather(res, c, first, err);
    st = cas_comm_agree(c, st, err);
    report->gather_seconds = now_seconds() - tg;
    kopt.limit_rows = 0;
    /* From here rank 0 alone goes on, as one process would; the others
     * wait for its status. */
    int alone = st == CAS_OK && ranks > 1;
    if (rank != 0) {
      if (alone) {
        cas_comm_idle_barrier(c);
        st = cas_comm_agree(c, CAS_OK, err);
      }
      goto done;
    }
    /* Without segments per path, the paths of the tails are simulated
     * again (their streams give them bit for bit) with every segment
     * stored: the ES contributions by segment come from them. */
    uint64_t ntail = 0;
    if (st == CAS_OK && !res->store_segments)
      st = cas_tail_paths(res->paths, res->loss, res->weight, sc->levels[0], &tail_paths, &ntail, err);
    if (st == CAS_OK && !res->store_segments)
      st = cas_results_create(ntail, rounds_cap, guarantees, &tail, err);
    if (st == CAS_OK && tail) {
      cas_kernel_options topt = {.threads = threads, .path_of = tail_paths, .is_shift = is_shift,
                                 .is_plain_share = plain_share, .is_plain_fraction = plain_fraction};
      st = cas_kernel_run(kernel, plan, contagion, tail, &topt, err);
      row_of_path = malloc(res->paths * sizeof *row_of_path);
      if (st == CAS_OK && !row_of_path)
        st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (tail paths)");
      for (uint64_t p = 0; st == CAS_OK && p < res->paths; p++) row_of_path[p] = -1;
      for (uint64_t r = 0; st == CAS_OK && r < ntail; r++) {
        row_of_path[tail_paths[r]] = (int64_t)r;
        if (memcmp(&tail->loss[r], &res->loss[tail_paths[r]], sizeof(double)) != 0)
          st = cas_error_set(err, CAS_ERR_INTERNAL,
                             "path %llu simulated again gave another loss (%.17g, then %.17g)",
                             (unsigned long long)tail_paths[r], res->loss[tail_paths[r]],
                             tail->loss[r]);
      }
    }
    seg_mean = malloc(3 * (size_t)(plan->nsegments ? plan->nsegments : 1) * sizeof *seg_mean);
    if (st == CAS_OK && !seg_mean) st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory");
    if (st == CAS_OK)
      cas_results_segment_means(res, plan->unstressed.loans, seg_mean, seg_mean + plan->nsegments,
                                seg_mean + 2 * plan->nsegments);
    double t2 = now_seconds();
    report->simulate_seconds = t2 - t1;
    const cas_results *rows = tail ? tail : res;
    cas_summary_options sopt = {.levels = sc->levels, .nlevels = sc->nlevels,
                                .loss_by_segment = rows->loss_by_segment,
                                .nsegments = plan->nsegments, .row_of_path = row_of_path,
                                .el_by_segment = seg_mean, .weight = res->weight};
    if (st == CAS_OK)
      st = cas_summary_compute(res->paths, res->loss, &sopt, res->defaults, &report->summary, err);
    if (st == CAS_OK && res->weight)
      cas_weight_diagnostics(res->paths, res->weight, &report->importance_mean_weight,
                             &report->importance_effective_paths);
    /* Amounts are bounded on load (CAS_AMOUNT_MAX and the multipliers'
     * ranges), so every figure is finite; should one not be, nothing is
     * written rather than a file that says inf. */
    if (st == CAS_OK) {
      const cas_summary *sm = &report->summary;
      const char *what = !isfinite(report->exposure) ? "the exposure"
                         : !isfinite(sm->el) || !isfinite(sm->el_se) ? "EL"
                         : !isfinite(sm->sd) ? "SD" : NULL;
      for (int l = 0; !what && l < sm->nlevels; l++)
        if (!isfinite(sm->var[l]) || !isfinite(sm->es[l]) || !isfinite(sm->var_se[l]) ||
            !isfinite(sm->es_se[l]))
          what = "VaR or ES";
      if (what)
        st = cas_error_set(err, CAS_ERR_INTERNAL, "%s of the run is not a finite number: nothing "
                           "written (please report the scenario and its book)", what);
    }
    report->years = res->years;
    for (int t = 0; st == CAS_OK && t < res->years && res->years > 1; t++) {
      double sum = 0.0;
      for (uint64_t p = 0; p < res->paths; p++) {
        const double *r = &res->loss_cumulative[p * (uint64_t)res->years];
        sum += cas_results_weight(res, p) * (t > 0 ? r[t] - r[t - 1] : r[t]);
      }
      report->el_by_year[t] = sum / (double)res->paths;
    }
    if (st == CAS_OK && res->npools) {
      cas_summary_options nopt = {.levels = sc->levels, .nlevels = sc->nlevels,
                                  .weight = res->weight};
      report->has_net = 1;
      st = cas_summary_compute(res->paths, res->loss_net, &nopt, res->defaults,
                               &report->summary_net, err);
    }
    /* ES contributions of single loans at the highest level */
    double *loan_es = NULL, loans_sum = 0.0, top_es[LOAN_TOP], top_ead[LOAN_TOP];
    int64_t top_index[LOAN_TOP];
    char top_id_buf[LOAN_TOP][64], top_seg_buf[LOAN_TOP][2 * CAS_NAME_MAX + 2];
    const char *top_id[LOAN_TOP], *top_seg[LOAN_TOP];
    int ntop = 0;
    double top_level = sc->levels[sc->nlevels - 1];
    if (st == CAS_OK)
      st = loan_contributions(kernel, plan, contagion, res, top_level, threads, &kopt, rounds_cap,
                              guarantees, &loan_es, err);
    if (st == CAS_OK) {
      uint32_t *order = malloc((plan->n ? plan->n : 1) * sizeof *order);
      size_t nz = 0;
      if (!order) st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (loan contributions)");
      for (size_t k = 0; st == CAS_OK && k < plan->n; k++) {
        loans_sum += loan_es[k];
        if (loan_es[k] != 0.0) order[nz++] = (uint32_t)k;
      }
      if (st == CAS_OK) qsort_r(order, nz, sizeof *order, by_contribution, loan_es);
      for (size_t j = 0; st == CAS_OK && j < nz && j < LOAN_TOP; j++) {
        uint32_t pos = order[j];
        size_t i = plan->loan_index[pos];
        top_es[ntop] = loan_es[pos];
        top_index[ntop] = (int64_t)i;
        top_id[ntop] = cas_portfolio_id(in.pf, i, top_id_buf[ntop], sizeof top_id_buf[ntop]);
        cas_taxonomy_segment_name(plan->tax,
                                  cas_taxonomy_segment(plan->tax, in.pf->region[i], in.pf->sector[i]),
                                  top_seg_buf[ntop], sizeof top_seg_buf[ntop]);
        top_seg[ntop] = top_seg_buf[ntop];
        top_ead[ntop] = plan->loans[pos].loss;
        ntop++;
      }
      free(order);
    }
    free(loan_es);
    /* VaR contributions from what is stored per path: by segment, else by
     * region and by sector */
    int nl = sc->nlevels;
    double *var_seg = NULL, *var_group[2] = {NULL, NULL};
    int64_t var_paths[CAS_MAX_LEVELS] = {0};
    if (st == CAS_OK) {
      uint64_t used[CAS_MAX_LEVELS] = {0};
      if (res->loss_by_segment) {
        var_seg = malloc((size_t)nl * (size_t)plan->nsegments * sizeof *var_seg);
        if (!var_seg) st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (VaR contributions)");
        else
          cas_var_contributions(res->paths, res->loss, res->weight, &report->summary,
                                res->loss_by_segment, plan->nsegments, var_seg, used);
      } else {
        for (int g = 0; g < res->ngroupings && st == CAS_OK; g++) {
          const cas_grouping *gr = &res->grouping[g];
          int which = !strcmp(gr->name, "region") ? 0 : !strcmp(gr->name, "sector") ? 1 : -1;
          if (which < 0) continue;
          var_group[which] = malloc((size_t)nl * (size_t)gr->ngroups * sizeof *var_group[which]);
          if (!var_group[which]) st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (VaR contributions)");
          else
            cas_var_contributions(res->paths, res->loss, res->weight, &report->summary, gr->loss,
                                  gr->ngroups, var_group[which], used);
        }
      }
      for (int l = 0; l < nl; l++) var_paths[l] = (int64_t)used[l];
    }
    cas_analytic analytic = {0};
    if (st == CAS_OK) st = cas_analytic_compute(plan, sc, sc->levels, sc->nlevels, &analytic, err);
    if (st == CAS_OK) {
      report->vasicek_sum_top = analytic.vasicek_sum[sc->nlevels - 1];
      report->irb_capital = analytic.irb_capital_total;
    }
    if (st == CAS_OK && cascade) {
      report->has_contagion = 1;
      st = cas_contagion_summary_compute(res->paths, res->loss, res->weight, res->loss_contagion,
                                         rows->contagion_by_segment, plan->nsegments, row_of_path,
                                         res->rounds, res->truncated, &report->summary,
                                         &report->contagion, err);
    }
    if (st == CAS_OK) {
      cas_run_record rec = {
        .scenario = sc,
        .resolved_yaml = yaml,
        .portfolio_source = in.pf->source,
        .network = in.net,
        .network_model = contagion,
        .calibration = in.calibration,
        .contagion = report->has_contagion ? &report->contagion : NULL,
        .summary_net = report->has_net ? &report->summary_net : NULL,
        .kernel = kernel->info.name,
        .threads = threads,
        .ranks = ranks,
        .command_line = opt->command_line,
        .elapsed_seconds = report->simulate_seconds,
        .portfolio_file = in.portfolio_sha256[0] ? sc->portfolio.file : NULL,
        .portfolio_sha256 = in.portfolio_sha256[0] ? in.portfolio_sha256 : NULL,
        .links_file = in.links_sha256[0] ? sc->network.file : NULL,
        .links_sha256 = in.links_sha256[0] ? in.links_sha256 : NULL,
        .analytic = &analytic,
        .var_contribution = var_seg,
        .var_contribution_region = var_group[0],
        .var_contribution_sector = var_group[1],
        .var_contribution_paths = var_seg || var_group[0] || var_group[1] ? var_paths : NULL,
        .nloans_top = ntop,
        .loans_level = top_level,
        .loans_top_es = top_es,
        .loans_top_index = top_index,
        .loans_top_id = top_id,
        .loans_top_ead = top_ead,
        .loans_top_segment = top_seg,
        .loans_es_sum = loans_sum,
        .is_shift = is_shift,
        .is_moves = is_moves,
        .is_beta = is_beta,
        .is_loss = is_loss,
        .record_nfiles = opt->record_nfiles,
        .record_paths = opt->record_paths,
        .record_texts = opt->record_texts,
      };
      st = cas_output_write(report->output_path, &rec, plan, res, &report->summary, seg_mean, err);
    }
    report->write_seconds = now_seconds() - t2;
    cas_analytic_free(&analytic);
    free(var_seg);
    free(var_group[0]);
    free(var_group[1]);
    if (alone) {
      cas_comm_idle_barrier(c);
      st = cas_comm_agree(c, st, err);
    }
  }
done:
  /* The report keeps the totals; the by-segment rows went to the file. */
  cas_summary_free(&report->summary);
  cas_summary_free(&report->summary_net);
  cas_contagion_summary_free(&report->contagion);
  free(yaml);
  free(is_shift);
  free(is_moves);
  free(tail_paths);
  free(row_of_path);
  free(seg_mean);
  free(first);
  cas_results_destroy(tail);
  cas_results_destroy(res);
  release(&in);
  return st;
}

void cas_reverse_report_free(cas_reverse_report *rep) {
  for (int f = 0; rep->factor && f < rep->nfactors; f++) free(rep->factor[f]);
  free(rep->factor);
  free(rep->moves);
  free(rep->yaml);
  memset(rep, 0, sizeof *rep);
}

cas_status cas_run_reverse(const cas_run_options *opt, double loss, const char *name,
                           cas_reverse_report *rep, cas_error *err) {
  memset(rep, 0, sizeof *rep);
  if (!(loss > 0.0) || !isfinite(loss))
    return cas_error_set(err, CAS_ERR_USAGE, "the loss must be a number above 0 (got %g)", loss);
  inputs in;
  cas_status st = prepare(opt, 0, &in, err);
  if (st != CAS_OK) return st;
  cas_scenario *sc = in.sc;
  const cas_plan *plan = in.plan;
  snprintf(rep->scenario_name, sizeof rep->scenario_name, "%s", sc->name);
  rep->years = plan->years;
  rep->nfactors = plan->nfactors;
  rep->loss = loss;
  size_t nf = (size_t)plan->nfactors, n = (size_t)plan->years * nf;
  cas_design *d = NULL;
  double *u = calloc(n ? n : 1, sizeof *u), *scaled = calloc(n ? n : 1, sizeof *scaled);
  double *vals = calloc((size_t)plan->years, sizeof *vals);
  rep->moves = calloc(n ? n : 1, sizeof *rep->moves);
  rep->factor = calloc(nf ? nf : 1, sizeof *rep->factor);
  if (!u || !scaled || !vals || !rep->moves || !rep->factor)
    st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (reverse stress test)");
  for (size_t f = 0; st == CAS_OK && f < nf; f++)
    if (!(rep->factor[f] = strdup(sc->factors->names.name[f])))
      st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (reverse stress test)");
  if (st == CAS_OK) st = cas_design_create(plan, &d, err);
  if (st == CAS_OK) {
    rep->base_loss = cas_design_mean_loss(d, scaled);   /* scaled is 0 here */
    st = cas_design_point_for_loss(d, loss, u, &rep->beta, err);
  }
  for (int t = 0; st == CAS_OK && t < plan->years; t++)
    cas_design_factor_moves(d, u, t, rep->moves + (size_t)t * nf);
  /* the scale of the moves at which the run's expected loss is the target:
   * it grows with the scale along the adverse direction */
  double lo = 0.0, hi = 1.0;
  if (st == CAS_OK && rep->base_loss < loss) {
    for (;;) {
      for (size_t i = 0; i < n; i++) scaled[i] = hi * rep->moves[i];
      if (cas_design_mean_loss(d, scaled) >= loss || hi > 64.0) break;
      lo = hi;
      hi *= 2.0;
    }
    for (int it = 0; it < 200 && hi - lo > 1e-12 * hi; it++) {
      double mid = 0.5 * (lo + hi);
      for (size_t i = 0; i < n; i++) scaled[i] = mid * rep->moves[i];
      if (cas_design_mean_loss(d, scaled) < loss) lo = mid;
      else hi = mid;
    }
    rep->scale = hi;
  }
  for (size_t i = 0; st == CAS_OK && i < n; i++) scaled[i] = rep->scale * rep->moves[i];
  if (st == CAS_OK) rep->written_loss = cas_design_mean_loss(d, scaled);
  /* each factor's shift, so that the shifts given add up to the mean wanted
   * (every factor given: the conditional mode's regression is the identity) */
  for (size_t f = 0; st == CAS_OK && f < nf; f++) {
    int any = 0;
    for (int t = 0; t < plan->years; t++) {
      const cas_plan *py = cas_plan_year(plan, t);
      vals[t] = py->shift[f] + scaled[(size_t)t * nf + f] - py->shift_given[f];
      any |= vals[t] != 0.0;
    }
    if (any) st = cas_scenario_add_factor_shift(sc, (int)f, vals, err);
  }
  if (st == CAS_OK) {
    char desc[1024];
    snprintf(desc, sizeof desc,
             "Reverse stress test of scenario %s at a loss of %.6g CNY: the factor means moved "
             "along the most likely factor outcome with that loss (the design point, %.3f SD "
             "from the scenario's means), scaled by %.4f so that the expected loss of this "
             "scenario's run is the target (docs/MODEL.md, Reverse stress tests).",
             sc->name, loss, rep->beta, rep->scale);
    char own[160];
    snprintf(own, sizeof own, "%.100s_reverse", sc->name);
    char *nm = strdup(name && *name ? name : own);
    char *ds = strdup(desc);
    if (!nm || !ds) {
      free(nm);
      free(ds);
      st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (reverse stress test)");
    } else {
      free(sc->name);
      free(sc->description);
      sc->name = nm;
      sc->description = ds;
    }
  }
  if (st == CAS_OK) st = cas_scenario_write_yaml(sc, &rep->yaml, err);
  cas_design_destroy(d);
  free(u);
  free(scaled);
  free(vals);
  release(&in);
  if (st != CAS_OK) cas_reverse_report_free(rep);
  return st;
}
