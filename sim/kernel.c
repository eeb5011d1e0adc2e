/*
 * kernel.c: the kernel registry, per-path results, and what every kernel
 * shares: the driver over paths and the start and end of a path.
 */
#include "kernel.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rng.h"

static const void *const registry[] = {
  &cas_kernel_sparse,
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

double cas_kernel_path_begin(const cas_plan *plan, uint64_t path, cas_results *res, double *sys) {
  cas_rng rng;
  cas_rng_init(&rng, plan->seed, CAS_RNG_FACTORS, path);
  double u[CAS_NFACTORS];
  double *z = &res->factors[path * CAS_NFACTORS];
  for (int f = 0; f < CAS_NFACTORS; f++) u[f] = cas_rng_normal(&rng);
  for (int f = 0; f < CAS_NFACTORS; f++) {
    double s = plan->shift[f];
    for (int g = 0; g <= f; g++) s += plan->chol[f * CAS_NFACTORS + g] * u[g];
    z[f] = s;
  }
  double *seg_loss = &res->loss_by_segment[path * CAS_NSEGMENTS];
  for (int s = 0; s < CAS_NSEGMENTS; s++) {
    double v = 0.0;
    for (int f = 0; f < CAS_NFACTORS; f++) v += plan->loading[s][f] * z[f];
    sys[s] = v;
    seg_loss[s] = 0.0;
  }
  return plan->copula->path_scale(&rng);
}

void cas_kernel_path_end(uint64_t path, cas_results *res, int64_t defaults) {
  const double *seg_loss = &res->loss_by_segment[path * CAS_NSEGMENTS];
  double total = 0.0;
  for (int s = 0; s < CAS_NSEGMENTS; s++) total += seg_loss[s];
  res->loss[path] = total;
  res->defaults[path] = defaults;
}

enum { PATH_BLOCK = 8 };

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cas_kernel_drive(const cas_plan *plan, cas_results *res, const cas_kernel_options *opt,
                      cas_path_fn path_fn) {
  uint64_t nblocks = (plan->paths + PATH_BLOCK - 1) / PATH_BLOCK;
  uint64_t done = 0;
  double last_report = now_seconds();
  int threads = opt && opt->threads > 0 ? opt->threads : omp_get_max_threads();

  #pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (uint64_t b = 0; b < nblocks; b++) {
    uint64_t first = b * PATH_BLOCK;
    uint64_t last = first + PATH_BLOCK < plan->paths ? first + PATH_BLOCK : plan->paths;
    for (uint64_t p = first; p < last; p++) path_fn(plan, p, res);
    uint64_t finished;
    #pragma omp atomic capture
    finished = done += last - first;
    if (opt && opt->progress && omp_get_thread_num() == 0) {
      double t = now_seconds();
      if (t - last_report > 0.25) {
        last_report = t;
        opt->progress(opt->progress_ctx, finished, plan->paths);
      }
    }
  }
  if (opt && opt->progress) opt->progress(opt->progress_ctx, plan->paths, plan->paths);
}
