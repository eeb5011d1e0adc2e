/*
 * fuzz_scenario.c: fuzz target for the scenario reader (scenario.h).
 *
 * Checks, for any text:
 * - cas_scenario_load_text neither crashes, hangs, leaks nor trips a
 *   sanitizer; it returns CAS_OK or CAS_ERR_INPUT with a message naming
 *   the file. The text stands for a file in a folder that does not exist,
 *   so a relative `extends` or input file is an error, never a read.
 * - Round trip: the resolved text of a loaded scenario
 *   (cas_scenario_write_yaml, what a result file stores as
 *   scenario_resolved) loads again, and writing that scenario gives the
 *   same text byte for byte.
 */
#include "fuzz_common.h"
#include "scenario.h"

#define FUZZ_SCENARIO_PATH "/nonexistent-cascade-fuzz/fuzz.yaml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (text == NULL) return 0;
  memcpy(text, data, size);
  text[size] = '\0';

  cas_error err = {0};
  cas_scenario *sc = NULL;
  cas_status st = cas_scenario_load_text(text, FUZZ_SCENARIO_PATH, &sc, &err);
  free(text);
  if (st != CAS_OK) {
    FUZZ_CHECK(sc == NULL, "scenario returned on failure");
    fuzz_check_error(st, &err, FUZZ_SCENARIO_PATH);
    return 0;
  }

  char *resolved = NULL;
  st = cas_scenario_write_yaml(sc, &resolved, &err);
  FUZZ_CHECK(st == CAS_OK, "write_yaml failed: %s", err.msg);

  cas_scenario *again = NULL;
  st = cas_scenario_load_text(resolved, FUZZ_SCENARIO_PATH, &again, &err);
  FUZZ_CHECK(st == CAS_OK, "resolved text does not load again: %s\n--- resolved text ---\n%s",
             err.msg, resolved);
  char *resolved2 = NULL;
  st = cas_scenario_write_yaml(again, &resolved2, &err);
  FUZZ_CHECK(st == CAS_OK, "write_yaml of the reloaded scenario failed: %s", err.msg);
  FUZZ_CHECK(strcmp(resolved, resolved2) == 0,
             "resolved text changes on reload\n--- first ---\n%s\n--- second ---\n%s", resolved,
             resolved2);

  free(resolved);
  free(resolved2);
  cas_scenario_destroy(again);
  cas_scenario_destroy(sc);
  return 0;
}
