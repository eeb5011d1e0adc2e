/*
 * cli.c: helpers shared by the subcommands (cli.h).
 */
#include "cli.h"
#include "decimal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cas_cli_usage_error(const char *cmd, const char *fmt, ...) {
  fprintf(stderr, "cascade %s: ", cmd);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(see 'cascade %s --help')\n", cmd);
  return cas_status_exit_code(CAS_ERR_USAGE);
}

int cas_cli_report_error(const cas_error *err) {
  fprintf(stderr, "cascade: %s: %s\n", cas_status_name(err->status), err->msg);
  return cas_status_exit_code(err->status);
}

/* Strict unsigned parse: digits only, no sign, no overflow, >= min. */
int cas_cli_parse_count(const char *s, uint64_t min, uint64_t *out) {
  if (!s || !*s) return -1;
  for (const char *c = s; *c; c++)
    if (*c < '0' || *c > '9') return -1;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v < min) return -1;
  *out = v;
  return 0;
}

int cas_cli_parse_decimal(const char *s, double *out) {
  /* the decimal grammar (decimal.h), finite */
  double v;
  if (!cas_decimal_parse(s, &v)) return -1;
  *out = v;
  return 0;
}

double cas_cli_wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cas_cli_show_progress(void *ctx, uint64_t done, uint64_t total) {
  cas_cli_progress *ps = ctx;
  double elapsed = cas_cli_wall() - ps->start;
  double frac = total ? (double)done / (double)total : 1.0;
  int width = 30, fill = (int)(frac * width);
  char bar[32];
  for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
  bar[width] = '\0';
  char eta[32] = "--";
  if (done > 0 && done < total) snprintf(eta, sizeof eta, "%.0fs", elapsed * (1.0 / frac - 1.0));
  else if (done >= total) snprintf(eta, sizeof eta, "done");
  fprintf(stderr, "\r%-24.24s [%s] %5.1f%% %llu/%llu paths  ETA %-8s", ps->name, bar,
          100.0 * frac, (unsigned long long)done, (unsigned long long)total, eta);
  ps->shown = 1;
}

void cas_cli_join_argv(int argc, char **argv, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < argc && used < size; i++) {
    int k = snprintf(buf + used, size - used, "%s%s", i ? " " : "", argv[i]);
    if (k < 0) break;
    used += (size_t)k;
  }
}
