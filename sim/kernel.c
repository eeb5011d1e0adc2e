/*
 * kernel.c: the kernel registry, per-path results and the factor draw all
 * kernels share.
 */
#include "kernel.h"

#include <stdlib.h>

#include "rng.h"

static const void *const registry[] = {
  &cas_kernel_dense,
};
enum { NKERNELS = sizeof registry / sizeof registry[0] };

const cas_kernel *cas_kernel_lookup(const char *name) {
  return cas_registry_find(registry, NKERNELS, name);
}

void cas_kernel_list(char *buf, size_t size) { cas_registry_list(registry, NKERNELS, buf, size); }

cas_status cas_results_create(uint64_t paths, cas_results **out, cas_error *err) {
  *out = NULL;
  cas_results *res = calloc(1, sizeof *res);
  if (!res) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for results");
  res->paths = paths;
  res->loss = calloc(paths, sizeof *res->loss);
  res->loss_by_segment = calloc(paths * CAS_NSEGMENTS, sizeof *res->loss_by_segment);
  res->defaults = calloc(paths, sizeof *res->defaults);
  res->factors = calloc(paths * CAS_NFACTORS, sizeof *res->factors);
  if (!res->loss || !res->loss_by_segment || !res->defaults || !res->factors) {
    cas_results_destroy(res);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for the results of %llu paths",
                         (unsigned long long)paths);
  }
  *out = res;
  return CAS_OK;
}

void cas_results_destroy(cas_results *res) {
  if (!res) return;
  free(res->loss);
  free(res->loss_by_segment);
  free(res->defaults);
  free(res->factors);
  free(res);
}

double cas_kernel_path_factors(const cas_plan *plan, uint64_t path, double *z) {
  cas_rng rng;
  cas_rng_init(&rng, plan->seed, CAS_RNG_FACTORS, path);
  double u[CAS_NFACTORS];
  for (int f = 0; f < CAS_NFACTORS; f++) u[f] = cas_rng_normal(&rng);
  for (int f = 0; f < CAS_NFACTORS; f++) {
    double s = plan->shift[f];
    for (int g = 0; g <= f; g++) s += plan->chol[f * CAS_NFACTORS + g] * u[g];
    z[f] = s;
  }
  return plan->copula->path_scale(&rng);
}
