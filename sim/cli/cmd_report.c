/*
 * cmd_report.c: `cascade report RESULT... -o report.html [--baseline FILE]`,
 * the page that sets each scenario beside the baseline (report.c,
 * docs/REPORT.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

static const char *const usage_report =
    "usage: cascade report RESULT.h5... -o REPORT.html [--baseline FILE.h5]\n"
    "\n"
    "Writes one self-contained HTML page (no network access needed) that sets\n"
    "each result beside the baseline: EL, VaR and ES with Monte Carlo standard\n"
    "errors and ratios to the baseline, loss distributions, losses by region\n"
    "and sector, contagion's share of ES, every other dataset of the files, and\n"
    "for each result the scenario text and the command that reproduces it.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE   the HTML file to write (required)\n"
    "  --baseline FILE     the baseline result (default: the first RESULT)\n"
    "  -h, --help          this text\n";

int cas_cmd_report(int argc, char **argv) {
  const char *output = NULL, *baseline = NULL;
  const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
  if (!inputs) return cas_status_exit_code(CAS_ERR_NOMEM);
  size_t n = 0;
  int rc = -1;
  for (int i = 1; i < argc && rc < 0; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage_report, stdout);
      rc = 0;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
      if (!v) rc = cas_cli_usage_error("report", "%s needs a file name", a);
      output = v;
      i++;
    } else if (!strcmp(a, "--baseline")) {
      if (!v) rc = cas_cli_usage_error("report", "%s needs a result file", a);
      baseline = v;
      i++;
    } else if (a[0] == '-' && a[1] != '\0') {
      rc = cas_cli_usage_error("report", "unknown option '%s'", a);
    } else {
      inputs[n++] = a;
    }
  }
  if (rc < 0 && !output) rc = cas_cli_usage_error("report", "%s", "missing -o REPORT.html");
  if (rc < 0 && n == 0 && !baseline) rc = cas_cli_usage_error("report", "%s", "no result files given");
  if (rc >= 0) {
    free(inputs);
    return rc;
  }
  if (baseline) {
    /* the baseline first, without repeating it if it is also listed */
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
      if (strcmp(inputs[k], baseline)) inputs[m++] = inputs[k];
    memmove(inputs + 1, inputs, m * sizeof *inputs);
    inputs[0] = baseline;
    n = m + 1;
  }
  char cmdline[4096];
  cas_cli_join_argv(argc + 1, argv - 1, cmdline, sizeof cmdline);
  cas_report_options opt = {inputs, n, output, cmdline};
  cas_error err = {0};
  cas_status st = cas_report_write(&opt, &err);
  free(inputs);
  if (st == CAS_ERR_USAGE) return cas_cli_usage_error("report", "%s", err.msg);
  if (st != CAS_OK) return cas_cli_report_error(&err);
  return 0;
}
