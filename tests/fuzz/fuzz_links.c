/*
 * fuzz_links.c: fuzz target for the links CSV reader (cas_network_load_csv,
 * network.h), against the small fixed portfolio
 * tests/data/bad_links/portfolio.csv.in (ids with spaces, commas and
 * non-ASCII letters).
 *
 * Checks, for any file content:
 * - the reader neither crashes, hangs, leaks nor trips a sanitizer; it
 *   returns CAS_OK or CAS_ERR_INPUT with a message naming the file, and
 *   no network on failure;
 * - a loaded network is well formed: offsets non-decreasing from 0 to
 *   nlinks, targets inside the portfolio, no self-links, weights in
 *   [0, CAS_LINK_WEIGHT_MAX], amounts > 0 exactly for guarantees, counts
 *   by type adding up.
 */
#include <math.h>

#include "fuzz_common.h"
#include "network.h"
#include "portfolio.h"

#ifndef CASCADE_TEST_DATA
#error "build with -DCASCADE_TEST_DATA=\"SOURCE/tests/data\""
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cas_portfolio *portfolio;

static void check_valid(const cas_network *net) {
  FUZZ_CHECK(net->nloans == portfolio->n, "nloans %zu", net->nloans);
  FUZZ_CHECK(net->offset[0] == 0 && net->offset[net->nloans] == net->nlinks, "offset ends");
  uint64_t by_type[CAS_NLINK_TYPES] = {0};
  for (size_t i = 0; i < net->nloans; i++) {
    FUZZ_CHECK(net->offset[i] <= net->offset[i + 1], "offsets decrease at %zu", i);
    for (uint64_t k = net->offset[i]; k < net->offset[i + 1]; k++) {
      FUZZ_CHECK(net->target[k] < net->nloans && net->target[k] != i, "link %zu: target %u",
                 (size_t)k, (unsigned)net->target[k]);
      FUZZ_CHECK(net->weight[k] >= 0 && net->weight[k] <= CAS_LINK_WEIGHT_MAX,
                 "link %zu: weight %g", (size_t)k, net->weight[k]);
      FUZZ_CHECK(net->type[k] < CAS_NLINK_TYPES, "link %zu: type %d", (size_t)k, net->type[k]);
      by_type[net->type[k]]++;
      if (net->type[k] == CAS_LINK_GUARANTEE)
        FUZZ_CHECK(isfinite(net->amount[k]) && net->amount[k] > 0, "link %zu: amount %g",
                   (size_t)k, net->amount[k]);
      else
        FUZZ_CHECK(net->amount[k] == 0, "link %zu: amount %g", (size_t)k, net->amount[k]);
    }
  }
  for (int t = 0; t < CAS_NLINK_TYPES; t++)
    FUZZ_CHECK(by_type[t] == net->links_by_type[t], "type %d: count", t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cas_error err = {0};
  if (portfolio == NULL &&
      cas_portfolio_load_csv(CASCADE_TEST_DATA "/bad_links/portfolio.csv.in", &portfolio, &err) !=
          CAS_OK) {
    fprintf(stderr, "fuzz_links: %s\n", err.msg);
    abort();
  }
  const char *path = fuzz_file(data, size);
  cas_network *net = NULL;
  cas_status st = cas_network_load_csv(path, portfolio, &net, &err);
  if (st != CAS_OK) {
    FUZZ_CHECK(net == NULL, "network returned on failure");
    fuzz_check_error(st, &err, path);
    return 0;
  }
  check_valid(net);
  cas_network_destroy(net);
  return 0;
}
