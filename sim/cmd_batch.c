/*
 * cmd_batch.c: `cascade batch` (not yet implemented).
 */
#include <stdio.h>

#include "cli.h"

int cas_cmd_batch(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cascade batch: not implemented yet\n");
  return cas_status_exit_code(CAS_ERR_INTERNAL);
}
