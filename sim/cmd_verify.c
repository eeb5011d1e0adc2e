/*
 * cmd_verify.c: `cascade verify` (not yet implemented).
 */
#include <stdio.h>

#include "cli.h"

int cas_cmd_verify(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cascade verify: not implemented yet\n");
  return cas_status_exit_code(CAS_ERR_INTERNAL);
}
