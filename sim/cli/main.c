/*
 * main.c: the `cascade` command line, a thin driver over the library.
 *
 *   cascade run SCENARIO [-o FILE] [--paths N] [--threads N] [--seed N]
 *                        [--loans N] [--kernel NAME] [--quiet]
 *   cascade validate SCENARIO [--loans N] [--no-calibration]
 *   cascade portfolio [--loans N] [--seed N] [--from FILE.csv] [--export FILE.csv]
 *   cascade network [--loans N] [--seed N] [--network-seed N] [--from FILE.csv]
 *                   [--links FILE.csv] [--export FILE.csv]
 *   cascade compare RESULT.h5...
 *
 * The library reports; this file decides what reaches the terminal and the
 * exit code (docs/CLI.md): 0 ok, 1 internal error, 2 usage, 3 bad input,
 * 4 I/O error, 5 out of memory. Results go to stdout, messages to stderr,
 * the progress line only when stderr is a terminal.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "books/books.h"
#include "cli.h"
#include "comm.h"
#include "kernel.h"
#include "networks/networks.h"
#include "network.h"
#include "outfile.h"
#include "output.h"
#include "portfolio.h"
#include "run.h"
#include "stats.h"
#include "version.h"
#include "watch.h"

/* The ranks of this process's job: one process unless started by an MPI
 * launcher in a build with MPI (main). */
static cas_comm world = {.rank = 0, .size = 1, .impl = NULL};

static const char *const usage_main =
    "usage: cascade COMMAND [OPTIONS]\n"
    "\n"
    "Monte Carlo stress testing of regional loan portfolios (Yangtze River Delta).\n"
    "\n"
    "commands:\n"
    "  run SCENARIO        simulate a scenario and write its loss distribution (HDF5)\n"
    "  validate SCENARIO   check a scenario and its portfolio without simulating\n"
    "  portfolio           summarise or export the built-in portfolio (or a CSV one)\n"
    "  network             summarise or export the links defaults spread along\n"
    "  compare RESULT...   print the headline figures of result files side by side\n"
    "  batch SCENARIO...   run many scenarios into a folder, with manifest, log, resume\n"
    "  verify RESULT       re-run a result's scenario and compare every dataset\n"
    "  report RESULT...    one self-contained HTML page for reviewers (-o FILE)\n"
    "  reverse SCENARIO    reverse stress test: the factor moves behind a loss (--loss X)\n"
    "\n"
    "  cascade COMMAND --help   options of a command\n"
    "  cascade --version\n"
    "\n"
    "exit codes: 0 ok, 1 internal error, 2 usage error, 3 bad input, 4 I/O error,\n"
    "5 out of memory, 6 not reproduced (verify), 7 some scenarios failed (batch).\n"
    "Scenario keys: scenarios/reference.yaml.\n";

static const char *const usage_run =
    "usage: cascade run SCENARIO [OPTIONS]\n"
    "\n"
    "Simulates SCENARIO (YAML) and writes one HDF5 file: per-path losses, the\n"
    "summary (EL, VaR, ES with Monte Carlo standard errors), the scenario text\n"
    "and every resolved parameter. Prints a summary table on stdout.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE   result file (default: results/<scenario name>.h5)\n"
    "  --paths N           Monte Carlo paths (overrides the scenario)\n"
    "  --seed N            simulation seed (overrides the scenario)\n"
    "  --loans N           size of the built-in portfolio (overrides the scenario)\n"
    "  --threads N         OpenMP threads (default: all cores); results do not\n"
    "                      depend on it\n"
    "  --kernel NAME       simulation kernel: sparse (default; cost follows the\n"
    "                      defaults) or dense (the reference: one draw per loan)\n"
    "  --importance-sampling SPEC\n"
    "                      off, a level such as 0.999, or loss=X (CNY): shift the\n"
    "                      factors to the design point of that VaR level or loss\n"
    "                      and weight each path (overrides the scenario's\n"
    "                      importance_sampling; docs/MODEL.md)\n"
    "  -q, --quiet         no summary table, no progress line\n"
    "  -h, --help          this text\n";

static const char *const usage_validate =
    "usage: cascade validate SCENARIO [--loans N] [--no-calibration]\n"
    "\n"
    "Reads SCENARIO and its portfolio and checks everything a run would check,\n"
    "without simulating its paths. Exit code 0 if valid, 3 with file:line:col\n"
    "messages if not.\n"
    "\n"
    "  --loans N           built-in portfolio size, as for run\n"
    "  --no-calibration    leave out a PD-preserving contagion's calibration (its\n"
    "                      pilot runs): quicker, but a calibration that cannot\n"
    "                      keep the PDs is then found only by run\n";

static const char *const usage_portfolio =
    "usage: cascade portfolio [OPTIONS]\n"
    "\n"
    "Summarises a portfolio by region and sector: the built-in Yangtze River\n"
    "Delta book (docs/CALIBRATION.md) or a CSV file.\n"
    "\n"
    "options:\n"
    "  --loans N           size of the built-in portfolio (default 100000)\n"
    "  --seed N            seed of the built-in portfolio (default 1)\n"
    "  --from FILE.csv     summarise a CSV portfolio instead\n"
    "  --classification C  of the CSV: data (default: its own values, in order of\n"
    "                      first appearance) or yrd (the delta's names and order)\n"
    "  --export FILE.csv   write the portfolio as CSV (id,region,sector,ead,pd,lgd,city,park)\n"
    "  -q, --quiet         no summary table\n"
    "  -h, --help          this text\n";

static const char *const usage_compare =
    "usage: cascade compare RESULT.h5...\n"
    "\n"
    "Prints EL, VaR and ES of each result file over its horizon, in CNY million,\n"
    "with their Monte Carlo standard errors, and each file's difference from the\n"
    "first file of the same horizon (put the baselines first): ES 99.9% minus the\n"
    "base's and as a ratio to it, with 95% confidence intervals. Runs with the\n"
    "same seed, book and paths (common random numbers) are compared path by path,\n"
    "and the interval is far narrower than for independent runs; the last column\n"
    "says how many times (docs/OUTPUT.md, Comparing).\n";

#define MN(x) ((x) / 1e6)

/* Money in a unit that suits the book: CNY mn down to CNY as the exposure
 * needs, with enough decimals that a tiny book (an EAD of 1) still shows
 * its digits. */
typedef struct money_unit {
  double scale;
  const char *name;
  int decimals;
} money_unit;

static money_unit unit_for(double exposure) {
  money_unit u = {1e6, "CNY mn", 2};
  if (exposure < 1e9) u = (money_unit){1e3, "CNY thousand", 2};
  if (exposure < 1e6) u = (money_unit){1.0, "CNY", 2};
  double x = exposure / u.scale;
  if (x > 0.0) {
    int d = 5 - (int)floor(log10(x));
    u.decimals = d < 2 ? 2 : d > 9 ? 9 : d;
  }
  return u;
}

static void print_run_summary(const cas_run_report *rep) {
  const cas_summary *s = &rep->summary;
  money_unit u = unit_for(rep->exposure);
  int d = u.decimals;
  char ranks[48] = "";
  if (rep->ranks > 1) snprintf(ranks, sizeof ranks, "%d ranks x ", rep->ranks);
  printf("scenario %s: %llu loans, %llu paths, seed %llu, %s%d threads, %.1f s\n",
         rep->scenario_name, (unsigned long long)rep->loans, (unsigned long long)rep->paths,
         (unsigned long long)rep->seed, ranks, rep->threads, rep->simulate_seconds);
  printf("exposure after shocks %.*f %s; analytic EL %.*f %s; mean defaults per path %.1f\n",
         d > 2 ? d : 1, rep->exposure / u.scale, u.name, d > 2 ? d : 1,
         rep->expected_loss_analytic / u.scale, u.name, s->mean_defaults);
  printf("  %-10s %16s %12s %33s %10s\n", "measure", u.name, "MC s.e.", "95% confidence interval",
         "% of EAD");
  double ead = rep->exposure > 0 ? rep->exposure : 1.0;
  char ci[64];
  snprintf(ci, sizeof ci, "%.*f .. %.*f", d, s->el_lo / u.scale, d, s->el_hi / u.scale);
  printf("  %-10s %16.*f %12.*f %33s %10.3f\n", "EL", d, s->el / u.scale, d, s->el_se / u.scale, ci,
         100 * s->el / ead);
  printf("  %-10s %16.*f %12.*f %33s %10.3f\n", "SD", d, s->sd / u.scale, d, s->sd_se / u.scale, "",
         100 * s->sd / ead);
  for (int l = 0; l < s->nlevels; l++) {
    char name[32];
    snprintf(name, sizeof name, "VaR %g%%", 100 * s->levels[l]);
    snprintf(ci, sizeof ci, "%.*f .. %.*f", d, s->var_lo[l] / u.scale, d, s->var_hi[l] / u.scale);
    printf("  %-10s %16.*f %12.*f %33s %10.3f\n", name, d, s->var[l] / u.scale, d,
           s->var_se[l] / u.scale, ci, 100 * s->var[l] / ead);
    snprintf(name, sizeof name, "ES %g%%", 100 * s->levels[l]);
    snprintf(ci, sizeof ci, "%.*f .. %.*f", d, s->es_lo[l] / u.scale, d, s->es_hi[l] / u.scale);
    printf("  %-10s %16.*f %12.*f %33s %10.3f\n", name, d, s->es[l] / u.scale, d,
           s->es_se[l] / u.scale, ci, 100 * s->es[l] / ead);
  }
  if (rep->years > 1) {
    printf("horizon %d years (figures above: the loss over the horizon); EL by year:", rep->years);
    for (int t = 0; t < rep->years; t++)
      printf("%s %.*f", t ? "," : "", d, rep->el_by_year[t] / u.scale);
    printf(" %s\n", u.name);
  }
  if (rep->has_net) {
    const cas_summary *n = &rep->summary_net;
    int top = n->nlevels - 1;
    printf("net of mitigants: EL %.*f %s (s.e. %.*f); VaR %g%% %.*f (%.*f .. %.*f); "
           "ES %g%% %.*f (%.*f .. %.*f)\n", d,
           n->el / u.scale, u.name, d, n->el_se / u.scale, 100 * n->levels[top], d,
           n->var[top] / u.scale, d, n->var_lo[top] / u.scale, d, n->var_hi[top] / u.scale,
           100 * n->levels[top], d, n->es[top] / u.scale, d, n->es_lo[top] / u.scale, d,
           n->es_hi[top] / u.scale);
  }
  if (rep->has_contagion) {
    const cas_contagion_summary *c = &rep->contagion;
    int top = s->nlevels - 1;
    printf("contagion: EL %.*f %s (s.e. %.*f); share of ES %g%%: %.1f%% "
           "(ES %g%% without contagion %.*f %s, 95%% interval %.*f .. %.*f)\n",
           d, c->el_contagion / u.scale, u.name, d, c->el_contagion_se / u.scale,
           100 * s->levels[top], 100 * c->es_contagion_share[top], 100 * s->levels[top], d,
           c->es_factor[top] / u.scale, u.name, d, c->es_factor_lo[top] / u.scale, d,
           c->es_factor_hi[top] / u.scale);
    printf("cascades: mean %.2f rounds, longest %d (path %llu)%s\n", c->mean_rounds, c->max_rounds,
           c->nlongest ? (unsigned long long)c->longest_paths[0] : 0ULL,
           c->truncated_paths ? "; some paths reached max_rounds" : "");
  }
  printf("analytic cross-checks: sum of the segments' large-portfolio quantiles at %g%% %.*f %s; "
         "Basel IRB capital %.*f %s (docs/MODEL.md)\n", 100 * s->levels[s->nlevels - 1], d,
         rep->vasicek_sum_top / u.scale, u.name, d, rep->irb_capital / u.scale, u.name);
  if (rep->has_importance)
    printf("importance sampling: factors shifted %.2f SD to the design point (its expected loss "
           "%.*f %s); every figure weighted by the paths' likelihood ratios\n",
           rep->importance_beta, d, rep->importance_loss / u.scale, u.name);
  if (rep->has_calibration)
    printf("calibration: PD-preserving, %u pilot runs of up to %llu paths; default rates within "
           "%.2f%% of the input PDs on the pilot\n",
           rep->calibration_iterations, (unsigned long long)rep->calibration_paths,
           100 * rep->calibration_residual);
  printf("times: setup %.2f s, paths %.2f s, gather %.3f s, tail replays %.2f s, statistics, "
         "loan contributions and file %.2f s\n", rep->setup_seconds, rep->kernel_seconds, rep->gather_seconds,
         rep->simulate_seconds - rep->kernel_seconds - rep->gather_seconds, rep->write_seconds);
  printf("result: %s\n", rep->output_path);
}

/* --importance-sampling off | LEVEL | loss=X; 0 if understood. */
static int parse_importance(const char *v, cas_run_options *opt) {
  if (!v || !*v) return 1;
  opt->importance_given = 1;
  if (!strcmp(v, "off")) {
    opt->importance_mode = CAS_IS_OFF;
    return 0;
  }
  int loss = !strncmp(v, "loss=", 5);
  const char *num = loss ? v + 5 : v;
  double x;
  if (cas_cli_parse_decimal(num, &x) != 0) return 1;
  if (loss ? !(x > 0.0) : !(x > 0.0 && x < 1.0)) return 1;
  opt->importance_mode = loss ? CAS_IS_LOSS : CAS_IS_LEVEL;
  opt->importance_value = x;
  return 0;
}

static int cmd_run(int argc, char **argv) {
  cas_run_options opt = {0};
  int quiet = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage_run, stdout);
      return 0;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      quiet = 1;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
      if (!v) return cas_cli_usage_error("run", "%s needs a file name", a);
      opt.output_path = v;
      i++;
    } else if (!strcmp(a, "--paths")) {
      if (cas_cli_parse_count(v, 100, &opt.paths)) return cas_cli_usage_error("run", "--paths: got '%s', expected an integer >= 100", v ? v : "");
      i++;
    } else if (!strcmp(a, "--seed")) {
      if (cas_cli_parse_count(v, 0, &opt.seed)) return cas_cli_usage_error("run", "--seed: got '%s', expected a non-negative integer", v ? v : "");
      opt.seed_given = 1;
      i++;
    } else if (!strcmp(a, "--loans")) {
      if (cas_cli_parse_count(v, 1, &opt.loans) || opt.loans > 100000000ULL) return cas_cli_usage_error("run", "--loans: got '%s', expected an integer from 1 to 100000000", v ? v : "");
      i++;
    } else if (!strcmp(a, "--threads")) {
      uint64_t t;
      if (cas_cli_parse_count(v, 1, &t) || t > CAS_THREADS_MAX) return cas_cli_usage_error("run", "--threads: got '%s', expected an integer from 1 to %d", v ? v : "", CAS_THREADS_MAX);
      opt.threads = (int)t;
      i++;
    } else if (!strcmp(a, "--kernel")) {
      if (!v) return cas_cli_usage_error("run", "%s needs a kernel name", a);
      opt.kernel = v;
      i++;
    } else if (!strcmp(a, "--importance-sampling")) {
      if (parse_importance(v, &opt))
        return cas_cli_usage_error("run", "%s: got '%s', expected off, a level in (0, 1) such "
                                   "as 0.999, or loss=X with X > 0 (CNY)", a, v ? v : "");
      i++;
    } else if (a[0] == '-' && a[1] != '\0') {
      return cas_cli_usage_error("run", "unknown option '%s'", a);
    } else if (!opt.scenario_path) {
      opt.scenario_path = a;
    } else {
      return cas_cli_usage_error("run", "unexpected argument '%s' (one scenario per run)", a);
    }
  }
  if (!opt.scenario_path) return cas_cli_usage_error("run", "%s", "missing SCENARIO file");
  char cmdline[4096];
  cas_cli_join_argv(argc + 1, argv - 1, cmdline, sizeof cmdline);
  opt.command_line = cmdline;

  /* Under MPI every rank runs this; rank 0 alone prints (docs/CLUSTER.md). */
  opt.comm = &world;
  int speaker = world.rank == 0;
  cas_cli_progress ps = {opt.scenario_path, cas_cli_wall(), 0};
  if (!quiet && speaker && isatty(STDERR_FILENO)) {
    opt.progress = cas_cli_show_progress;
    opt.progress_ctx = &ps;
  }
  cas_run_report rep;
  cas_error err = {0};
  cas_status st = cas_run(&opt, &rep, &err);
  if (ps.shown) fputs("\r\033[K", stderr);
  if (st != CAS_OK) return speaker ? cas_cli_report_error(&err) : cas_status_exit_code(st);
  if (!speaker) return 0;
  if (!quiet) print_run_summary(&rep);
  /* Not errors, but a reader of the result must know: printed even when quiet. */
  if (rep.has_calibration && !rep.calibration_converged)
    fprintf(stderr, "cascade: warning: the contagion calibration stopped after %u pilot runs with "
                    "default rates %.2f%% from the input PDs (raise contagion.calibration."
                    "iterations or paths)\n",
            rep.calibration_iterations, 100 * rep.calibration_residual);
  if (rep.has_importance && !(rep.importance_mean_weight >= CAS_WEIGHT_MEAN_LOW &&
                               rep.importance_mean_weight <= CAS_WEIGHT_MEAN_HIGH))
    fprintf(stderr, "cascade: warning: importance sampling: the paths' weights average %.3g "
                    "(expected about 1) and are worth %.3g plain paths of %llu: the shift (%.3g "
                    "standard deviations) reaches beyond what the paths sample, and the weighted "
                    "figures are not to be trusted (a nearer level, more paths, or plain_share; "
                    "see importance_mean_weight, importance_effective_paths)\n",
            rep.importance_mean_weight, rep.importance_effective_paths,
            (unsigned long long)rep.paths, rep.importance_beta);
  if (rep.has_calibration && rep.calibration_capped)
    fprintf(stderr, "cascade: warning: in %zu loan group(s) the cascade alone exceeds the input "
                    "PDs; their thresholds are lowered by the most the calibration allows and "
                    "their default rates stay above the PDs (see calibration_default_rate)\n",
            rep.calibration_capped);
  return 0;
}

static int cmd_validate(int argc, char **argv) {
  cas_run_options opt = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage_validate, stdout);
      return 0;
    } else if (!strcmp(a, "--loans")) {
      if (cas_cli_parse_count(v, 1, &opt.loans) || opt.loans > 100000000ULL) return cas_cli_usage_error("validate", "--loans: got '%s', expected an integer from 1 to 100000000", v ? v : "");
      i++;
    } else if (!strcmp(a, "--no-calibration")) {
      opt.skip_calibration = 1;
    } else if (a[0] == '-' && a[1] != '\0') {
      return cas_cli_usage_error("validate", "unknown option '%s'", a);
    } else if (!opt.scenario_path) {
      opt.scenario_path = a;
    } else {
      return cas_cli_usage_error("validate", "unexpected argument '%s'", a);
    }
  }
  if (!opt.scenario_path) return cas_cli_usage_error("validate", "%s", "missing SCENARIO file");
  cas_run_report rep;
  cas_error err = {0};
  cas_status st = cas_run_validate(&opt, &rep, &err);
  if (st != CAS_OK) return cas_cli_report_error(&err);
  printf("%s: ok: scenario %s, %llu loans, %llu paths, seed %llu, exposure %.1f CNY mn, analytic EL %.1f CNY mn\n",
         opt.scenario_path, rep.scenario_name, (unsigned long long)rep.loans,
         (unsigned long long)rep.paths, (unsigned long long)rep.seed, MN(rep.exposure),
         MN(rep.expected_loss_analytic));
  if (rep.has_calibration)
    printf("%s: contagion calibration: %u pilot runs of up to %llu paths, default rates within "
           "%.2f%% of the PDs%s\n", opt.scenario_path, rep.calibration_iterations,
           (unsigned long long)rep.calibration_paths, 100 * rep.calibration_residual,
           rep.calibration_converged ? "" : " (stopped short: a run warns)");
  return 0;
}

static void print_portfolio(const cas_portfolio *pf) {
  cas_segment_totals t;
  cas_error err = {0};
  if (cas_portfolio_totals(pf, &t, &err) != CAS_OK) {
    cas_segment_totals_free(&t);
    cas_cli_report_error(&err);
    return;
  }
  const cas_taxonomy *tax = pf->tax;
  double all_ead = 0, all_el = 0;
  uint64_t all_n = 0;
  for (int s = 0; s < tax->nsegments; s++) {
    all_ead += t.ead[s];
    all_el += t.expected_loss[s];
    all_n += t.loans[s];
  }
  money_unit u = unit_for(all_ead);
  int d = u.decimals > 2 ? u.decimals : 1;
  printf("portfolio %s\n%llu loans, exposure %.*f %s, expected loss %.*f %s (%.3f%% of EAD)\n\n",
         pf->source, (unsigned long long)all_n, d, all_ead / u.scale, u.name, d,
         all_el / u.scale, u.name, all_ead > 0 ? 100 * all_el / all_ead : 0.0);
  char ead_head[32], el_head[32];
  snprintf(ead_head, sizeof ead_head, "EAD %s", u.name);
  snprintf(el_head, sizeof el_head, "EL %s", u.name);
  printf("%-18s %10s %16s %8s %10s %16s\n", "sector", "loans", ead_head, "EAD %", "PD %", el_head);
  double *pd_w = calloc((size_t)tax->sectors.n, sizeof *pd_w);
  for (size_t i = 0; pd_w && i < pf->n; i++) pd_w[pf->sector[i]] += pf->pd[i] * pf->ead[i];
  for (int k = 0; k < tax->sectors.n; k++) {
    double ead = 0, el = 0;
    uint64_t n = 0;
    for (int r = 0; r < tax->regions.n; r++) {
      int s = cas_taxonomy_segment(tax, r, k);
      ead += t.ead[s];
      el += t.expected_loss[s];
      n += t.loans[s];
    }
    double pw = pd_w ? pd_w[k] : 0.0;
    printf("%-18s %10llu %16.*f %8.2f %10.3f %16.*f\n", tax->sectors.name[k], (unsigned long long)n,
           d, ead / u.scale, all_ead > 0 ? 100 * ead / all_ead : 0.0, ead > 0 ? 100 * pw / ead : 0.0,
           d, el / u.scale);
  }
  free(pd_w);
  printf("\n%-18s %10s %16s %8s\n", "region", "loans", ead_head, "EAD %");
  for (int r = 0; r < tax->regions.n; r++) {
    double ead = 0;
    uint64_t n = 0;
    for (int k = 0; k < tax->sectors.n; k++) {
      ead += t.ead[cas_taxonomy_segment(tax, r, k)];
      n += t.loans[cas_taxonomy_segment(tax, r, k)];
    }
    printf("%-18s %10llu %16.*f %8.2f\n", tax->regions.name[r], (unsigned long long)n, d,
           ead / u.scale, all_ead > 0 ? 100 * ead / all_ead : 0.0);
  }
  printf("(PD is EAD-weighted; EL = sum of PD x LGD x EAD; no shocks applied)\n");
  cas_segment_totals_free(&t);
}

/* A CSV book with its own classification, or the delta's (yrd). */
static cas_status load_book(const char *path, int yrd, cas_portfolio **pf, cas_error *err) {
  if (!yrd) return cas_portfolio_load_csv(path, pf, err);
  cas_taxonomy *tax = cas_taxonomy_yrd();
  if (!tax) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory");
  cas_status st = cas_portfolio_load_csv_as(path, tax, pf, err);
  cas_taxonomy_destroy(tax);
  return st;
}

static int cmd_portfolio(int argc, char **argv) {
  uint64_t loans = CAS_PORTFOLIO_DEFAULT_LOANS, seed = 1;
  const char *from = NULL, *export_path = NULL;
  int quiet = 0, yrd = 0, classification_given = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage_portfolio, stdout);
      return 0;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      quiet = 1;
    } else if (!strcmp(a, "--loans")) {
      if (cas_cli_parse_count(v, 1, &loans) || loans > 100000000ULL) return cas_cli_usage_error("portfolio", "--loans: got '%s', expected an integer from 1 to 100000000", v ? v : "");
      i++;
    } else if (!strcmp(a, "--seed")) {
      if (cas_cli_parse_count(v, 0, &seed)) return cas_cli_usage_error("portfolio", "--seed: got '%s', expected a non-negative integer", v ? v : "");
      i++;
    } else if (!strcmp(a, "--classification")) {
      if (!v || (strcmp(v, "yrd") && strcmp(v, "data")))
        return cas_cli_usage_error("portfolio", "--classification: got '%s', expected data or yrd",
                                   v ? v : "");
      yrd = !strcmp(v, "yrd");
      classification_given = 1;
      i++;
    } else if (!strcmp(a, "--from")) {
      if (!v) return cas_cli_usage_error("portfolio", "%s needs a CSV file", a);
      from = v;
      i++;
    } else if (!strcmp(a, "--export")) {
      if (!v) return cas_cli_usage_error("portfolio", "%s needs a CSV file name", a);
      export_path = v;
      i++;
    } else {
      return cas_cli_usage_error("portfolio", "unexpected argument '%s'", a);
    }
  }
  if (classification_given && !from)
    return cas_cli_usage_error("portfolio", "--classification is that of a CSV book: it needs --from "
                               "FILE.csv (the built-in book has the delta's)");
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cas_status st = from ? load_book(from, yrd, &pf, &err)
                       : cas_book_lookup(CAS_BOOK_DEFAULT)->generate(loans, seed, &pf, &err);
  if (st == CAS_OK && export_path) st = cas_portfolio_export_csv(pf, export_path, &err);
  if (st != CAS_OK) {
    cas_portfolio_destroy(pf);
    return cas_cli_report_error(&err);
  }
  if (!quiet) print_portfolio(pf);
  if (export_path && !quiet) printf("wrote %s\n", export_path);
  cas_portfolio_destroy(pf);
  return 0;
}

static const char *const usage_network =
    "usage: cascade network [OPTIONS]\n"
    "\n"
    "Summarises the links between borrowers along which defaults spread: the\n"
    "built-in network of the built-in portfolio (docs/NETWORK.md), or a links CSV.\n"
    "\n"
    "options:\n"
    "  --loans N           size of the built-in portfolio (default 100000)\n"
    "  --seed N            seed of the built-in portfolio (default 1)\n"
    "  --network-seed N    seed of the built-in network (default 1)\n"
    "  --from FILE.csv     portfolio CSV instead of the built-in book (read with the\n"
    "                      delta's classification unless --links is given)\n"
    "  --links FILE.csv    links CSV instead of the built-in network\n"
    "  --export FILE.csv   write the links as CSV (from,to,type,weight,amount)\n"
    "  -h, --help          this text\n";

static int cmd_network(int argc, char **argv) {
  uint64_t loans = CAS_PORTFOLIO_DEFAULT_LOANS, seed = 1, net_seed = 1;
  const char *from = NULL, *links = NULL, *export_path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage_network, stdout);
      return 0;
    } else if (!strcmp(a, "--loans")) {
      if (cas_cli_parse_count(v, 1, &loans) || loans > 100000000ULL) return cas_cli_usage_error("network", "--loans: got '%s', expected an integer from 1 to 100000000", v ? v : "");
      i++;
    } else if (!strcmp(a, "--seed") || !strcmp(a, "--network-seed")) {
      if (cas_cli_parse_count(v, 0, a[2] == 's' ? &seed : &net_seed)) return cas_cli_usage_error("network", "%s: got '%s', expected a non-negative integer", a, v ? v : "");
      i++;
    } else if (!strcmp(a, "--from") || !strcmp(a, "--links") || !strcmp(a, "--export")) {
      if (!v) return cas_cli_usage_error("network", "%s needs a CSV file", a);
      if (a[2] == 'f') from = v;
      else if (a[2] == 'l') links = v;
      else export_path = v;
      i++;
    } else {
      return cas_cli_usage_error("network", "unexpected argument '%s'", a);
    }
  }
  cas_portfolio *pf = NULL;
  cas_network *net = NULL;
  cas_error err = {0};
  /* The built-in network is drawn for the delta's classification. */
  cas_status st = from ? load_book(from, links == NULL, &pf, &err)
                       : cas_book_lookup(CAS_BOOK_DEFAULT)->generate(loans, seed, &pf, &err);
  if (st == CAS_OK)
    st = links ? cas_network_load_csv(links, pf, &net, &err)
               : cas_network_lookup(CAS_NETWORK_DEFAULT)->generate(pf, net_seed, &net, &err);
  if (st == CAS_OK && export_path) st = cas_network_export_csv(net, pf, export_path, &err);
  if (st == CAS_OK) {
    printf("network %s on portfolio %s\n", net->source, pf->source);
    printf("%zu loans, %zu links (%.2f per loan): %llu supply_chain, %llu guarantee; "
           "%llu cross-region (%.1f%%)\n",
           pf->n, net->nlinks, pf->n ? (double)net->nlinks / (double)pf->n : 0.0,
           (unsigned long long)net->links_by_type[CAS_LINK_SUPPLY_CHAIN],
           (unsigned long long)net->links_by_type[CAS_LINK_GUARANTEE],
           (unsigned long long)net->cross_region_links,
           net->nlinks ? 100.0 * (double)net->cross_region_links / (double)net->nlinks : 0.0);
    if (export_path) printf("wrote %s\n", export_path);
  }
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
  return st == CAS_OK ? 0 : cas_cli_report_error(&err);
}

/* Scenario i against its base b, ES 99.9%: paired path by path when the
 * runs share seed, book and paths (common random numbers), else as
 * independent runs (a paired interval of independent runs covers ES 99.9%
 * only about 90% of the time: tests/test_intervals.c). *gain: the
 * independent-runs interval's width over the paired one's (0: unpaired). */
static cas_status compare_pair(const char *fa, const cas_output_headline *a, const char *fb,
                               const cas_output_headline *b, int la, int lb, int crn,
                               cas_difference *out, double *gain, cas_error *err) {
  cas_summary sa, sb;
  cas_output_headline_summary(a, &sa);
  cas_output_headline_summary(b, &sb);
  /* one level each: the ES 99.9% of both */
  cas_summary one_a = sa, one_b = sb;
  one_a.nlevels = one_b.nlevels = 1;
  one_a.levels[0] = one_b.levels[0] = 0.999;
  one_a.var[0] = sa.var[la], one_a.var_se[0] = sa.var_se[la], one_a.var_lo[0] = sa.var_lo[la],
  one_a.var_hi[0] = sa.var_hi[la];
  one_a.es[0] = sa.es[la], one_a.es_se[0] = sa.es_se[la], one_a.es_lo[0] = sa.es_lo[la],
  one_a.es_hi[0] = sa.es_hi[la];
  one_b.var[0] = sb.var[lb], one_b.var_se[0] = sb.var_se[lb], one_b.var_lo[0] = sb.var_lo[lb],
  one_b.var_hi[0] = sb.var_hi[lb];
  one_b.es[0] = sb.es[lb], one_b.es_se[0] = sb.es_se[lb], one_b.es_lo[0] = sb.es_lo[lb],
  one_b.es_hi[0] = sb.es_hi[lb];
  cas_difference unpaired;
  cas_unpaired_difference(&one_a, &one_b, &unpaired);
  *out = unpaired;
  *gain = 0.0;
  if (!crn || a->paths != b->paths || a->paths < 2) return CAS_OK;
  double *xa = NULL, *wa = NULL, *xb = NULL, *wb = NULL;
  static const double level = 0.999;
  cas_status st = cas_output_read_paths(fa, a->paths, &xa, &wa, err);
  if (st == CAS_OK) st = cas_output_read_paths(fb, b->paths, &xb, &wb, err);
  if (st == CAS_OK) st = cas_paired_difference(a->paths, xa, wa, xb, wb, &level, 1, out, err);
  if (st == CAS_OK && out->es_hi[0] > out->es_lo[0])
    *gain = (unpaired.es_hi[0] - unpaired.es_lo[0]) / (out->es_hi[0] - out->es_lo[0]);
  free(xa);
  free(wa);
  free(xb);
  free(wb);
  return st;
}

static int cmd_compare(int argc, char **argv) {
  if (argc < 2) return cas_cli_usage_error("compare", "%s", "no result files given");
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(usage_compare, stdout);
      return 0;
    }
  /* compare takes no options: a word starting with '-' is one mistyped, not
   * a file (a file named so can be given as ./-name) */
  for (int i = 1; i < argc; i++)
    if (argv[i][0] == '-' && argv[i][1] != '\0')
      return cas_cli_usage_error("compare", "unknown option '%s' (compare takes result files only; "
                                 "a file whose name starts with '-': ./%s)", argv[i], argv[i]);
  int n = argc - 1;
  cas_output_headline *h = calloc((size_t)n, sizeof *h);
  if (!h) return cas_status_exit_code(CAS_ERR_NOMEM);
  cas_error err = {0};
  for (int i = 0; i < n; i++) {
    if (cas_output_read_headline(argv[i + 1], &h[i], &err) != CAS_OK) {
      free(h);
      return cas_cli_report_error(&err);
    }
  }
  money_unit u = unit_for(h[0].exposure);
  int d = u.decimals > 2 ? u.decimals : 1;
  char head[48];
  snprintf(head, sizeof head, "scenario (%s)", u.name);
  printf("%-26s %5s %12s %18s %18s %18s %18s %26s %20s %8s\n", head, "years", "exposure",
         "EL (s.e.)", "VaR 99.9% (s.e.)", "ES 99.9% (s.e.)", "ES 99.9% 95% CI",
         "ES 99.9% - base [95% CI]", "ES/base [95% CI]", "pairing");
  int paired_any = 0;
  for (int i = 0; i < n; i++) {
    /* the base: the first file of the same horizon */
    int base = 0;
    while (h[base].years != h[i].years) base++;
    int b999 = cas_output_headline_level(&h[base], 0.999);
    char el[40], v999[40] = "-", es999[40] = "-", ci[48] = "-", diff[64] = "-", ratio[48] = "-";
    char pairing[24] = "-";
    int l999 = cas_output_headline_level(&h[i], 0.999);
    snprintf(el, sizeof el, "%.*f (%.*f)", d, h[i].el / u.scale, d, h[i].el_se / u.scale);
    if (l999 >= 0) {
      cas_summary si;
      cas_output_headline_summary(&h[i], &si);
      snprintf(v999, sizeof v999, "%.*f (%.*f)", d, h[i].var[l999] / u.scale, d,
               h[i].var_se[l999] / u.scale);
      snprintf(es999, sizeof es999, "%.*f (%.*f)", d, h[i].es[l999] / u.scale, d,
               h[i].es_se[l999] / u.scale);
      snprintf(ci, sizeof ci, "%.*f .. %.*f", d, si.es_lo[l999] / u.scale, d,
               si.es_hi[l999] / u.scale);
    }
    if (l999 >= 0 && b999 >= 0 && i != base) {
      cas_difference df;
      double gain;
      int crn = cas_output_same_random_numbers(&h[i], &h[base]);
      if (compare_pair(argv[i + 1], &h[i], argv[base + 1], &h[base], l999, b999, crn, &df, &gain,
                       &err) != CAS_OK) {
        free(h);
        return cas_cli_report_error(&err);
      }
      snprintf(diff, sizeof diff, "%+.*f [%+.*f, %+.*f]", d, df.es[0] / u.scale, d,
               df.es_lo[0] / u.scale, d, df.es_hi[0] / u.scale);
      snprintf(ratio, sizeof ratio, "%.2f [%.2f, %.2f]", df.es_ratio[0], df.es_ratio_lo[0],
               df.es_ratio_hi[0]);
      if (gain > 0.0) {
        snprintf(pairing, sizeof pairing, "CRN x%.1f", gain);
        paired_any = 1;
      } else {
        snprintf(pairing, sizeof pairing, "indep.");
      }
    } else if (i == base && l999 >= 0) {
      snprintf(ratio, sizeof ratio, "1.00");
      snprintf(pairing, sizeof pairing, "base");
    }
    printf("%-26.26s %5d %12.*f %18s %18s %18s %18s %26s %20s %8s\n", h[i].scenario, h[i].years, d,
           h[i].exposure / u.scale, el, v999, es999, ci, diff, ratio, pairing);
  }
  printf("(base: the first file of the same horizon; figures over the horizon; intervals 95%%)\n");
  if (paired_any)
    printf("(pairing: CRN = common random numbers (same seed, book and paths), differences taken "
           "path by path; xN = how many times narrower the interval is than for independent "
           "runs)\n");
  free(h);
  return 0;
}

/* MPI (a build with -DCASCADE_MPI=ON): started only when a launcher
 * (mpirun, srun) started this process, so that the same program runs as a
 * plain process anywhere else. */
#ifdef CASCADE_MPI
#include <mpi.h>
static int launched_by_mpi(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
    if (getenv(vars[i])) return 1;
  return 0;
}
#endif

static int dispatch(int argc, char **argv);

/* SIGINT, SIGTERM, SIGHUP: the temporary files being written are removed
 * (outfile.h), then the signal ends the program as it would have. A signal
 * ignored when the program started (nohup) stays ignored. */
static void on_ending_signal(int sig) {
  cas_outfile_on_signal();
  signal(sig, SIG_DFL);
  raise(sig);
}

static void remove_temporaries_on_signals(void) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_ending_signal;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
    struct sigaction old;
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaction(sigs[i], &sa, NULL);
  }
}

/* ---- the crash guard of the commands that read result files -----------
 *
 * compare, report and verify read result files with HDF5. HDF5 1.10's
 * reader of variable-length data (strings, dimension-scale lists: its
 * "global heap", which has no checksum) trusts lengths read from the file,
 * and a damaged or crafted file crashes it inside the library
 * (docs/FUZZING.md). The seal (seal.h) refuses any file changed since
 * cascade wrote it before HDF5 reads a byte, but anyone can write a file
 * with a valid seal, and files from before the seal have none. So these
 * commands run in a child process: if the child dies of a fault (SIGSEGV,
 * SIGBUS, SIGFPE, SIGILL, SIGABRT), the program reports the file it was
 * reading as bad input (exit 3) instead of crashing; the child removes what
 * it was writing (outfile.h) as it dies. Any other end of the child (its
 * exit code, SIGINT, SIGTERM, SIGHUP, SIGKILL) is the program's own. */

static volatile pid_t guarded_child;
static int mpi_started; /* MPI_Init ran: a launcher started the program */

static void forward_signal(int sig) {
  if (guarded_child > 0) kill(guarded_child, sig);
}

#if defined(__SANITIZE_ADDRESS__)
#define CAS_FAULTS_HANDLED_BY_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CAS_FAULTS_HANDLED_BY_SANITIZER 1
#endif
#endif

static const int fault_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static const int ending_signals[] = {SIGINT, SIGTERM, SIGHUP};

/* The exit code of a command that returned rc, once what it printed has
 * reached standard output: a write error there (a full disk, /dev/full)
 * is an I/O error, not a success with the output lost. */
static int stdout_written(int rc) {
  errno = 0;
  if (fflush(stdout) == 0 && !ferror(stdout)) return rc;
  fprintf(stderr, "cascade: I/O error: writing to standard output: %s%s\n",
          errno ? strerror(errno) : "write error",
          rc ? "" : " (the files the command writes were written; what it printed was lost)");
  return rc ? rc : cas_status_exit_code(CAS_ERR_IO);
}

static int guarded(int (*cmd)(int, char **), int argc, char **argv) {
  if (mpi_started) return cmd(argc, argv); /* no fork() under MPI */
  double limit;
  cas_error lerr = {0};
  if (cas_watch_limit(&limit, &lerr) != CAS_OK) return cas_cli_report_error(&lerr);
  enum { NOTE = 4096 };
  char *note = mmap(NULL, NOTE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (note == MAP_FAILED) return cmd(argc, argv);
  note[0] = '\0';
  cas_watch *watch = cas_watch_map();
  int fds[2];
  if (!watch || pipe(fds) != 0) {
    cas_watch_unmap(watch);
    munmap(note, NOTE);
    return cmd(argc, argv);
  }
  sigset_t ending, old;
  sigemptyset(&ending);
  for (size_t i = 0; i < sizeof ending_signals / sizeof *ending_signals; i++)
    sigaddset(&ending, ending_signals[i]);
  sigprocmask(SIG_BLOCK, &ending, &old);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) { /* no process to spare: run unguarded */
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(fds[0]);
    close(fds[1]);
    cas_watch_unmap(watch);
    munmap(note, NOTE);
    return cmd(argc, argv);
  }
  if (pid == 0) {
    close(fds[0]); /* fds[1] stays open until the child ends: its end tells the guard */
    sigprocmask(SIG_SETMASK, &old, NULL);
#ifndef CAS_FAULTS_HANDLED_BY_SANITIZER
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_ending_signal; /* temporaries removed, then the fault ends the child */
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof fault_signals / sizeof *fault_signals; i++)
      sigaction(fault_signals[i], &sa, NULL);
#endif
    cas_output_note_opens(note, NOTE);
    cas_watch_share(watch);
    int rc = stdout_written(cmd(argc, argv));
    fflush(stderr);
    _exit(rc);
  }
  close(fds[1]);
  guarded_child = pid;
  struct sigaction fw, saved[sizeof ending_signals / sizeof *ending_signals];
  memset(&fw, 0, sizeof fw);
  fw.sa_handler = forward_signal;
  sigemptyset(&fw.sa_mask);
  for (size_t i = 0; i < sizeof ending_signals / sizeof *ending_signals; i++) {
    sigaction(ending_signals[i], NULL, &saved[i]);
    if (saved[i].sa_handler != SIG_IGN) sigaction(ending_signals[i], &fw, NULL);
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  int status = 0;
  int stalled = cas_watch_wait(pid, fds[0], NULL, 0, NULL, watch, limit, &status);
  close(fds[0]);
  cas_watch_unmap(watch);
  guarded_child = 0;
  for (size_t i = 0; i < sizeof ending_signals / sizeof *ending_signals; i++)
    sigaction(ending_signals[i], &saved[i], NULL);
  int rc;
  note[NOTE - 1] = '\0';
  if (stalled == 1) {
    fprintf(stderr, "cascade: bad input: %s: reading it made no progress inside the HDF5 library "
                    "for %g s, stopped: a damaged or crafted file (expected a result written by "
                    "cascade run), or a limit too short for where the file is (%s=%g)\n",
            note[0] ? note : "a result file", limit, CAS_WATCH_LIMIT_VARIABLE, limit);
    rc = cas_status_exit_code(CAS_ERR_INPUT);
  } else if (stalled < 0) {
    fprintf(stderr, "cascade: internal error: lost the process reading the result files (%s)\n",
            strerror(errno));
    rc = cas_status_exit_code(CAS_ERR_INTERNAL);
  } else if (WIFEXITED(status)) {
    rc = WEXITSTATUS(status);
  } else {
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
    int fault = 0;
    for (size_t i = 0; i < sizeof fault_signals / sizeof *fault_signals; i++)
      fault |= sig == fault_signals[i];
    if (!fault) { /* ended from outside: the program ends the same way */
      munmap(note, NOTE);
      signal(sig, SIG_DFL);
      raise(sig);
      return 128 + sig;
    }
    fprintf(stderr, "cascade: bad input: %s: reading it crashed the HDF5 library (%s): a damaged or "
                    "crafted file (expected a result written by cascade run)\n",
            note[0] ? note : "a result file", strsignal(sig));
    rc = cas_status_exit_code(CAS_ERR_INPUT);
  }
  munmap(note, NOTE);
  return rc;
}

/* Huge pages for the heap. Every page the program first touches costs a
 * fault, and on virtual machines a fault costs microseconds: a run on a
 * book of 10^5 loans spent a third of its 0.15 s in them. Where the
 * kernel gives transparent huge pages only to memory that asks for them
 * ("madvise", the common default), glibc's malloc asks when the tunable
 * glibc.malloc.hugetlb is 1, and grows its heap in steps of top_pad (16
 * MiB: 64 MiB made the kernel's paths 20% slower, for reasons not looked
 * into). The tunables are read when a program starts, so the program
 * starts itself again with them set, once, before anything else happens
 * (the same process id, arguments and environment otherwise): the run on
 * 10^5 loans went from 0.15 s to 0.10 s (docs/PERFORMANCE.md). The CSV
 * loaders turn them off while they read (cas_small_pages_begin, memory.h).
 * Not when the user set GLIBC_TUNABLES's malloc.hugetlb or
 * CASCADE_HUGE_PAGES=0, nor under valgrind, whose tool an exec would
 * leave. */
static void with_huge_pages(char **argv) {
  const char *off = getenv("CASCADE_HUGE_PAGES"), *t = getenv("GLIBC_TUNABLES");
  const char *preload = getenv("LD_PRELOAD");
  if ((off && !strcmp(off, "0")) || (t && strstr(t, "glibc.malloc.hugetlb")) ||
      (preload && strstr(preload, "vgpreload")))
    return;
  char want[4096];
  int n = snprintf(want, sizeof want, "%s%sglibc.malloc.hugetlb=1:glibc.malloc.top_pad=16777216",
                   t ? t : "", t && *t ? ":" : "");
  if (n < 0 || (size_t)n >= sizeof want || setenv("GLIBC_TUNABLES", want, 1) != 0) return;
  execv("/proc/self/exe", argv);
  /* no exec: go on as we are (with the variable set, which changes nothing now) */
}

/* OMP_NUM_THREADS (a comma-separated list of positive thread counts, one
 * per nesting level) and OMP_THREAD_LIMIT (one positive count): libgomp
 * warns about any other value (an empty one too) and goes on with its
 * default, and the program would run with a thread count the user did not
 * ask for. Unset: the default. Returns the variable's name when its value
 * is bad, else NULL. */
static const char *bad_omp_variable(void) {
  static const char *const vars[] = {"OMP_NUM_THREADS", "OMP_THREAD_LIMIT"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
    const char *v = getenv(vars[i]);
    if (!v) continue;
    const char *p = v;
    int items = 0;
    for (;;) {
      while (*p == ' ' || *p == '\t') p++;
      const char *digits = p;
      unsigned long long n = 0;
      while (*p >= '0' && *p <= '9' && n <= 1000000) n = n * 10 + (unsigned long long)(*p++ - '0');
      while (*p >= '0' && *p <= '9') p++;
      if (p == digits || n == 0 || n > 1000000) return vars[i];   /* libgomp: no overflow */
      items++;
      while (*p == ' ' || *p == '\t') p++;
      if (*p == '\0') break;
      if (*p != ',' || i == 1) return vars[i];   /* OMP_THREAD_LIMIT: one count */
      p++;
    }
    (void)items;
  }
  return NULL;
}

/* OMP_STACKSIZE: a size per thread, a number with an optional unit B, K,
 * M or G (K when none), from 16 KiB (libgomp's least: below it, it warns
 * and takes 16 KiB) to 4 GiB (100G made thread creation fail: libgomp
 * ended the program with its own message). 1 when set and bad. */
static int bad_stack_size(void) {
  const char *v = getenv("OMP_STACKSIZE");
  if (!v) return 0;
  const char *p = v;
  while (*p == ' ' || *p == '\t') p++;
  unsigned long long n = 0;
  const char *digits = p;
  while (*p >= '0' && *p <= '9' && n < (1ULL << 40)) n = n * 10 + (unsigned long long)(*p++ - '0');
  if (p == digits || (*p >= '0' && *p <= '9')) return 1;
  while (*p == ' ' || *p == '\t') p++;
  unsigned long long unit = 1024;
  switch (*p) {
  case 'b': case 'B': unit = 1; p++; break;
  case 'k': case 'K': unit = 1024; p++; break;
  case 'm': case 'M': unit = 1024 * 1024; p++; break;
  case 'g': case 'G': unit = 1024 * 1024 * 1024; p++; break;
  default: break;
  }
  while (*p == ' ' || *p == '\t') p++;
  if (*p) return 1;
  return n > (4ULL << 30) / unit || n * unit < (16ULL << 10);
}

int main(int argc, char **argv) {
  /* A file-size limit (ulimit -f) reached while writing: by default
   * SIGXFSZ ends the program at once, without a message and with its
   * temporaries left. Ignored, the write fails with EFBIG and takes the
   * usual path: an I/O error naming the file, the temporary removed. */
  signal(SIGXFSZ, SIG_IGN);
  if (bad_stack_size()) {
    fprintf(stderr, "cascade: usage error: OMP_STACKSIZE: got '%s', expected a stack size per "
                    "thread from 16K to 4G (a number with an optional unit B, K, M or G; K when "
                    "none)\n", getenv("OMP_STACKSIZE"));
    return cas_status_exit_code(CAS_ERR_USAGE);
  }
  const char *bad_omp = bad_omp_variable();
  if (bad_omp) {
    fprintf(stderr, "cascade: usage error: %s: got '%s', expected a positive number of threads%s\n",
            bad_omp, getenv(bad_omp),
            strcmp(bad_omp, "OMP_NUM_THREADS") ? "" : " (or a comma-separated list of them, one a nesting level)");
    return cas_status_exit_code(CAS_ERR_USAGE);
  }
  with_huge_pages(argv);
  /* OpenMP's default thread count (OMP_NUM_THREADS) holds for every
   * command, including the parts --threads does not reach before a run
   * starts; too many crash libgomp, so it is refused up front (before MPI starts:
   * every rank says so). */
  if (omp_get_max_threads() > CAS_THREADS_MAX) {
    const char *env = getenv("OMP_NUM_THREADS");
    fprintf(stderr, "cascade: usage error: OMP_NUM_THREADS: got '%s', expected at most %d threads\n",
            env ? env : "?", CAS_THREADS_MAX);
    return cas_status_exit_code(CAS_ERR_USAGE);
  }
  cas_output_init();
#ifdef CASCADE_MPI
  if (launched_by_mpi()) {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    mpi_started = 1;
  }
#endif
  remove_temporaries_on_signals();
  cas_error err = {0};
  if (cas_comm_world(&world, &err) != CAS_OK) {
    fprintf(stderr, "cascade: %s\n", err.msg);
    return cas_status_exit_code(err.status);
  }
  int rc;
  /* Only `run` spreads over ranks; anything else is one process's work. */
  if (world.size > 1 && (argc < 2 || strcmp(argv[1], "run") != 0)) {
    if (world.rank == 0)
      fprintf(stderr, "cascade: usage error: only 'cascade run' runs on %d MPI ranks; run '%s' "
                      "as one process (see docs/CLUSTER.md)\n",
              world.size, argc < 2 ? "" : argv[1]);
    rc = cas_status_exit_code(CAS_ERR_USAGE);
  } else {
    rc = stdout_written(dispatch(argc, argv));
  }
  cas_comm_free(&world);
#ifdef CASCADE_MPI
  if (mpi_started) MPI_Finalize();
#endif
  return rc;
}

static int dispatch(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage_main, stderr);
    return cas_status_exit_code(CAS_ERR_USAGE);
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "help") && argc >= 3 && strcmp(argv[2], "help") != 0) {
    /* help COMMAND: the command's own help */
    char *args[] = {argv[0], argv[2], (char *)"--help", NULL};
    return dispatch(3, args);
  }
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    fputs(usage_main, stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("%s\n", CASCADE_VERSION_FULL);
    return 0;
  }
  if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
  if (!strcmp(cmd, "validate")) return cmd_validate(argc - 1, argv + 1);
  if (!strcmp(cmd, "portfolio")) return cmd_portfolio(argc - 1, argv + 1);
  if (!strcmp(cmd, "compare")) return guarded(cmd_compare, argc - 1, argv + 1);
  if (!strcmp(cmd, "network")) return cmd_network(argc - 1, argv + 1);
  if (!strcmp(cmd, "batch")) return cas_cmd_batch(argc - 1, argv + 1);
  if (!strcmp(cmd, "verify")) return guarded(cas_cmd_verify, argc - 1, argv + 1);
  if (!strcmp(cmd, "report")) return guarded(cas_cmd_report, argc - 1, argv + 1);
  if (!strcmp(cmd, "reverse")) return cas_cmd_reverse(argc - 1, argv + 1);
  fprintf(stderr, "cascade: unknown command '%s' (expected one of: run, validate, portfolio, network, compare, batch, verify, report, reverse)\n", cmd);
  fputs("(see 'cascade --help')\n", stderr);
  return cas_status_exit_code(CAS_ERR_USAGE);
}
