/*
 * kernel.c: per-path results, and what every kernel shares: the driver over
 * paths and the start and end of a path. The kernels themselves and their
 * registry are in models/kernels.
 */
#include "kernel.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rng.h"

cas_status cas_results_create(uint64_t paths, uint32_t rounds_cap, int guarantees,
                              cas_results **out, cas_error *err) {
  *out = NULL;
  cas_results *res = calloc(1, sizeof *res);
  if (!res) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for results");
  res->paths = paths;
  res->rounds_cap = rounds_cap;
  res->loss = calloc(paths, sizeof *res->loss);
  res->defaults = calloc(paths, sizeof *res->defaults);
  int ok = res->loss && res->defaults;
  if (ok && guarantees) {
    res->loss_double_default = calloc(paths, sizeof *res->loss_double_default);
    ok = res->loss_double_default != NULL;
  }
  if (ok && rounds_cap) {
    res->loss_contagion = calloc(paths, sizeof *res->loss_contagion);
    res->defaults_by_round = calloc(paths * rounds_cap, sizeof *res->defaults_by_round);
    res->rounds = calloc(paths, sizeof *res->rounds);
    res->truncated = calloc(paths, sizeof *res->truncated);
    ok = res->loss_contagion && res->defaults_by_round &&
         res->rounds && res->truncated;
  }
  if (!ok) {
    cas_results_destroy(res);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for the results of %llu paths",
                         (unsigned long long)paths);
  }
  *out = res;
  return CAS_OK;
}

/* The rows whose width the plan gives, allocated on the first run. */
static cas_status results_shape(cas_results *res, const cas_plan *plan, cas_error *err) {
  if (res->loss_by_segment != NULL) {
    if (res->nsegments == plan->nsegments && res->nfactors == plan->nfactors) return CAS_OK;
    return cas_error_set(err, CAS_ERR_INTERNAL,
                         "results of %d segments and %d factors reused for a plan of %d and %d",
                         res->nsegments, res->nfactors, plan->nsegments, plan->nfactors);
  }
  size_t paths = res->paths, nseg = (size_t)plan->nsegments, nf = (size_t)plan->nfactors;
  res->nsegments = plan->nsegments;
  res->nfactors = plan->nfactors;
  res->loss_by_segment = calloc(paths * nseg, sizeof *res->loss_by_segment);
  res->factors = calloc(paths * nf, sizeof *res->factors);
  res->defaults_by_segment = calloc(paths * nseg, sizeof *res->defaults_by_segment);
  int ok = res->loss_by_segment && res->factors && res->defaults_by_segment;
  if (ok && res->rounds_cap) {
    res->contagion_by_segment = calloc(paths * nseg, sizeof *res->contagion_by_segment);
    ok = res->contagion_by_segment != NULL;
  }
  if (!ok)
    return cas_error_set(err, CAS_ERR_NOMEM,
                         "out of memory for the results of %zu paths by %zu segments", paths, nseg);
  return CAS_OK;
}

void cas_results_destroy(cas_results *res) {
  if (!res) return;
  free(res->loss);
  free(res->loss_by_segment);
  free(res->defaults);
  free(res->factors);
  free(res->defaults_by_segment);
  free(res->loss_double_default);
  free(res->loss_contagion);
  free(res->contagion_by_segment);
  free(res->defaults_by_round);
  free(res->rounds);
  free(res->truncated);
  free(res);
}

double cas_kernel_path_begin(const cas_plan *plan, uint64_t path, cas_results *res, double *sys) {
  cas_rng rng;
  cas_rng_init(&rng, plan->seed, CAS_RNG_FACTORS, plan->first_stream + path);
  int nf = plan->nfactors, nseg = plan->nsegments;
  double *u = sys + nseg;
  double *z = &res->factors[path * (uint64_t)nf];
  for (int f = 0; f < nf; f++) u[f] = cas_rng_normal(&rng);
  for (int f = 0; f < nf; f++) {
    double s = plan->shift[f];
    const double *l = &plan->chol[(size_t)f * (size_t)nf];
    for (int g = 0; g <= f; g++) s += l[g] * u[g];
    z[f] = s;
  }
  double *seg_loss = &res->loss_by_segment[path * (uint64_t)nseg];
  int32_t *seg_defaults = &res->defaults_by_segment[path * (uint64_t)nseg];
  for (int s = 0; s < nseg; s++) {
    double v = 0.0;
    const double *a = cas_plan_loading(plan, s);
    for (int f = 0; f < nf; f++) v += a[f] * z[f];
    sys[s] = v;
    seg_loss[s] = 0.0;
    seg_defaults[s] = 0;
  }
  return plan->copula->path_scale(&rng);
}

void cas_kernel_path_end(const cas_plan *plan, const cas_contagion *contagion, uint64_t path,
                         cas_results *res, cas_cascade_ws *ws, const double *sys, double scale,
                         cas_rng *rng, int64_t defaults) {
  int nseg = plan->nsegments;
  double *seg_loss = &res->loss_by_segment[path * (uint64_t)nseg];
  if (contagion) {
    int cascade = contagion->max_rounds > 0;
    double *cseg = cascade ? &res->contagion_by_segment[path * (uint64_t)nseg] : NULL;
    cas_cascade_out out = {
      .factor_seg_loss = seg_loss,
      .seg_loss = cseg,
      .seg_defaults = &res->defaults_by_segment[path * (uint64_t)nseg],
      .by_round = cascade ? &res->defaults_by_round[path * res->rounds_cap] : NULL,
    };
    cas_cascade_run(contagion, plan, ws, path, sys, scale, rng, &out);
    if (res->loss_double_default) res->loss_double_default[path] = out.double_default;
    if (cascade) {
      double c = 0.0;
      for (int s = 0; s < nseg; s++) {
        seg_loss[s] += cseg[s];
        c += cseg[s];
      }
      res->loss_contagion[path] = c;
      res->rounds[path] = out.rounds;
      res->truncated[path] = (uint8_t)out.truncated;
    }
    defaults = (int64_t)ws->ndefaulted;
  }
  double total = 0.0;
  for (int s = 0; s < nseg; s++) total += seg_loss[s];
  res->loss[path] = total;
  res->defaults[path] = defaults;
}

enum { PATH_BLOCK = 8 };

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

cas_status cas_kernel_run(const cas_kernel *kernel, const cas_plan *plan,
                          const cas_contagion *contagion, cas_results *res,
                          const cas_kernel_options *opt, cas_error *err) {
  uint64_t nblocks = (plan->paths + PATH_BLOCK - 1) / PATH_BLOCK;
  uint64_t done = 0;
  double last_report = now_seconds();
  int threads = opt && opt->threads > 0 ? opt->threads : omp_get_max_threads();

  cas_status st = results_shape(res, plan, err);
  if (st != CAS_OK) return st;
  cas_cascade_ws **ws = calloc((size_t)threads, sizeof *ws);
  size_t nscratch = (size_t)plan->nsegments + (size_t)plan->nfactors;
  double *scratch = malloc((size_t)threads * nscratch * sizeof *scratch);
  if (!ws || !scratch) {
    free(ws);
    free(scratch);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for thread workspaces");
  }
  for (int t = 0; contagion && t < threads && st == CAS_OK; t++)
    st = cas_cascade_ws_create(plan, kernel->eps_all_known && contagion->max_rounds > 0,
                               contagion->nspill ? contagion->max_rounds : 0, &ws[t], err);

  if (st == CAS_OK) {
    #pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (uint64_t b = 0; b < nblocks; b++) {
      int thread = omp_get_thread_num();
      cas_cascade_ws *mine = ws[thread];
      uint64_t first = b * PATH_BLOCK;
      uint64_t last = first + PATH_BLOCK < plan->paths ? first + PATH_BLOCK : plan->paths;
      for (uint64_t p = first; p < last; p++) {
        kernel->path(plan, contagion, p, res, mine, scratch + (size_t)thread * nscratch);
        if (opt && opt->path_hook && mine) opt->path_hook(opt->path_hook_ctx, thread, p, mine);
      }
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
  for (int t = 0; contagion && st == CAS_OK && t < threads; t++)
    if (ws[t] && ws[t]->oom)
      st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory in the cascade of a path");
  for (int t = 0; t < threads; t++) cas_cascade_ws_destroy(ws[t]);
  free(ws);
  free(scratch);
  return st;
}
