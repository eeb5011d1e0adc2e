/*
 * cmd_report.c: `cascade report` (not yet implemented).
 */
#include <stdio.h>

#include "cli.h"

int cas_cmd_report(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cascade report: not implemented yet\n");
  return cas_status_exit_code(CAS_ERR_INTERNAL);
}
