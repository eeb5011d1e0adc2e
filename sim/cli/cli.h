/*
 * cli.h: what every `cascade` subcommand shares: usage errors, reporting a
 * library error, strict number parsing, the wall clock, the progress line.
 *
 * The subcommands live in main.c (run, validate, portfolio, network,
 * compare) and in cmd_*.c (batch, verify, report); each is
 * `int cas_cmd_NAME(int argc, char **argv)` with argv[0] the command name,
 * and returns the process exit code (docs/CLI.md).
 */
#ifndef CASCADE_CLI_H
#define CASCADE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* "cascade CMD: message\n(see 'cascade CMD --help')" on stderr; returns 2. */
int cas_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "cascade: <status>: <message>" on stderr; returns the status's exit code. */
int cas_cli_report_error(const cas_error *err);

/* Strict unsigned parse: digits only, no sign, no overflow, >= min.
 * Returns 0 on success, -1 otherwise. */
int cas_cli_parse_count(const char *s, uint64_t min, uint64_t *out);
/* A decimal number (digits, an optional fraction and exponent; no
 * hexadecimal, inf, nan or spaces) into *out: 0, or -1 when s is not one
 * or overflows a double. */
int cas_cli_parse_decimal(const char *s, double *out);

/* Monotonic wall clock [s]. */
double cas_cli_wall(void);

/* The progress line of `cascade run` (a cas_progress_fn); ctx is a
 * cas_cli_progress. Only call it when stderr is a terminal. */
typedef struct cas_cli_progress {
  const char *name;
  double start;
  int shown;
} cas_cli_progress;
void cas_cli_show_progress(void *ctx, uint64_t done, uint64_t total);

/* argv joined by spaces into buf (truncated to size). */
void cas_cli_join_argv(int argc, char **argv, char *buf, size_t size);

/* Subcommands defined outside main.c. */
int cas_cmd_batch(int argc, char **argv);
int cas_cmd_verify(int argc, char **argv);
int cas_cmd_report(int argc, char **argv);
int cas_cmd_reverse(int argc, char **argv);

#endif
