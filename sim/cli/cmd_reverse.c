/*
 * cmd_reverse.c: `cascade reverse SCENARIO --loss X`, the reverse stress
 * test (run.h cas_run_reverse, docs/MODEL.md, Reverse stress tests).
 */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <sys/stat.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outfile.h"
#include "cli.h"
#include "run.h"

static const char *const usage_reverse =
    "usage: cascade reverse SCENARIO --loss X [OPTIONS]\n"
    "\n"
    "Reverse stress test: the most likely move of the systematic factors under\n"
    "which the book's expected loss is X (CNY), printed factor by factor, and a\n"
    "scenario file that moves the factor means along it so that the expected\n"
    "loss of its run is X. `cascade run` accepts the file as it is.\n"
    "\n"
    "options:\n"
    "  --loss X            the loss in CNY, e.g. the bank's capital or a VaR 99.9%\n"
    "                      (required)\n"
    "  -o, --output FILE   the scenario to write (default: NAME.yaml)\n"
    "  --name NAME         its name (default: SCENARIO's name + _reverse)\n"
    "  --loans N           size of the built-in portfolio (overrides the scenario)\n"
    "  -q, --quiet         print nothing but errors\n"
    "  -h, --help          this text\n";

/* "region.zhejiang" as "zhejiang (region)"; a factor without a family
 * prefix as it is. */
static void factor_label(const char *name, char *buf, size_t size) {
  const char *dot = strchr(name, '.');
  if (!dot) snprintf(buf, size, "%s", name);
  else snprintf(buf, size, "%s (%.*s)", dot + 1, (int)(dot - name), name);
}

static int by_size(const void *a, const void *b, void *moves) {
  double x = fabs(((const double *)moves)[*(const int *)a]);
  double y = fabs(((const double *)moves)[*(const int *)b]);
  if (x != y) return x > y ? -1 : 1;
  return *(const int *)a - *(const int *)b;
}

/* The moves of year t, largest first, those of at least 0.05 SD (at most
 * 12, then how many more). */
static void print_moves(const cas_reverse_report *rep, int t, double scale) {
  int nf = rep->nfactors;
  const double *m = rep->moves + (size_t)t * (size_t)nf;
  double *scaled = malloc((size_t)(nf ? nf : 1) * sizeof *scaled);
  int *order = malloc((size_t)(nf ? nf : 1) * sizeof *order);
  if (!scaled || !order) {
    free(scaled);
    free(order);
    return;
  }
  for (int f = 0; f < nf; f++) {
    scaled[f] = scale * m[f];
    order[f] = f;
  }
  qsort_r(order, (size_t)nf, sizeof *order, by_size, scaled);
  int shown = 0, more = 0;
  for (int k = 0; k < nf; k++) {
    double v = scaled[order[k]];
    if (fabs(v) < 0.05) break;
    if (shown == 12) {
      more++;
      continue;
    }
    char label[160];
    factor_label(rep->factor[order[k]], label, sizeof label);
    printf("%s%s %+.1f SD", shown ? ", " : "  ", label, v);
    shown++;
  }
  if (!shown) printf("  no factor moves by 0.05 SD or more");
  if (more) printf(", and %d more", more);
  printf("\n");
  free(scaled);
  free(order);
}

/* text written to path through a temporary file in its folder. */
static cas_status write_atomically(const char *path, const char *text, cas_error *err) {
  return cas_outfile_write_all(path, text, strlen(text), err);
}

static int valid_name(const char *s) {
  if (!*s || strlen(s) > 100) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || *s == '.' || *s == '-'))
      return 0;
  return 1;
}

int cas_cmd_reverse(int argc, char **argv) {
  cas_run_options opt = {0};
  const char *output = NULL, *name = NULL;
  double loss = NAN;
  int quiet = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage_reverse, stdout);
      return 0;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      quiet = 1;
    } else if (!strcmp(a, "--loss")) {
      if (cas_cli_parse_decimal(v, &loss) != 0 || !(loss > 0.0))
        return cas_cli_usage_error("reverse", "--loss: got '%s', expected a loss in CNY above 0",
                                   v ? v : "");
      i++;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
      if (!v || !*v) return cas_cli_usage_error("reverse", "%s needs a file name", a);
      output = v;
      i++;
    } else if (!strcmp(a, "--name")) {
      if (!v || !valid_name(v))
        return cas_cli_usage_error("reverse", "--name: got '%s', expected 1 to 100 letters, "
                                   "digits, '_', '.' or '-'", v ? v : "");
      name = v;
      i++;
    } else if (!strcmp(a, "--loans")) {
      if (cas_cli_parse_count(v, 1, &opt.loans) || opt.loans > 100000000ULL)
        return cas_cli_usage_error("reverse", "--loans: got '%s', expected an integer from 1 to "
                                   "100000000", v ? v : "");
      i++;
    } else if (a[0] == '-' && a[1] != '\0') {
      return cas_cli_usage_error("reverse", "unknown option '%s'", a);
    } else if (!opt.scenario_path) {
      opt.scenario_path = a;
    } else {
      return cas_cli_usage_error("reverse", "unexpected argument '%s'", a);
    }
  }
  if (!opt.scenario_path) return cas_cli_usage_error("reverse", "%s", "no scenario given");
  if (isnan(loss)) return cas_cli_usage_error("reverse", "%s", "--loss is required");
  cas_reverse_report rep;
  cas_error err = {0};
  char own_name[160];
  cas_status st = cas_run_reverse(&opt, loss, name, &rep, &err);
  if (st != CAS_OK) return cas_cli_report_error(&err);
  if (!name) {
    snprintf(own_name, sizeof own_name, "%.100s_reverse", rep.scenario_name);
    name = own_name;
  }
  char path[PATH_MAX];
  if (output) snprintf(path, sizeof path, "%s", output);
  else snprintf(path, sizeof path, "%s.yaml", name);
  /* never over the scenario reversed */
  char in_real[PATH_MAX], out_real[PATH_MAX];
  if (realpath(opt.scenario_path, in_real) && realpath(path, out_real) &&
      !strcmp(in_real, out_real)) {
    cas_reverse_report_free(&rep);
    return cas_cli_usage_error("reverse", "-o %s would overwrite the scenario it reverses", path);
  }
  st = write_atomically(path, rep.yaml, &err);
  if (st != CAS_OK) {
    cas_reverse_report_free(&rep);
    return cas_cli_report_error(&err);
  }
  if (!quiet) {
    printf("reverse stress test of %s at a loss of %.1f CNY mn (expected loss as given: %.1f CNY "
           "mn)\n", rep.scenario_name, loss / 1e6, rep.base_loss / 1e6);
    printf("most likely factor moves with that loss (%.2f SD from the scenario's means):\n",
           rep.beta);
    for (int t = 0; t < rep.years; t++) {
      if (rep.years > 1) printf(" year %d:\n", t + 1);
      print_moves(&rep, t, 1.0);
    }
    printf("scenario %s: the factor means moved by %.3f x these moves, so that the expected "
           "loss of its run is %.1f CNY mn:\n", name, rep.scale, rep.written_loss / 1e6);
    for (int t = 0; t < rep.years; t++) {
      if (rep.years > 1) printf(" year %d:\n", t + 1);
      print_moves(&rep, t, rep.scale);
    }
    printf("wrote %s\n", path);
  }
  cas_reverse_report_free(&rep);
  return 0;
}
