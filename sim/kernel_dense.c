/*
 * kernel_dense.c: the reference kernel, one idiosyncratic draw per loan per
 * path.
 *
 * Path p: z = factors(p); for each loan i in order, eps_i = the i-th normal
 * of stream (seed, IDIOSYNCRATIC, p), default when
 *     scale * (a_s . z + b_s eps_i) < c_i.
 * Cost O(loans) per path, whatever the number of defaults. Paths are split
 * into blocks handed out dynamically; each path's results are written at its
 * index and each sum runs in loan order, so the thread count never changes a
 * bit of the output. Workspaces are allocated before the parallel region.
 */
#include "kernel.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rng.h"

enum { PATH_BLOCK = 8 };

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void simulate_path(const cas_plan *plan, uint64_t p, cas_results *res) {
  double z[CAS_NFACTORS], sys[CAS_NSEGMENTS];
  double *seg_loss = &res->loss_by_segment[p * CAS_NSEGMENTS];
  double scale = cas_kernel_path_factors(plan, p, z);
  memcpy(&res->factors[p * CAS_NFACTORS], z, sizeof z);
  for (int s = 0; s < CAS_NSEGMENTS; s++) {
    double v = 0.0;
    for (int f = 0; f < CAS_NFACTORS; f++) v += plan->loading[s][f] * z[f];
    sys[s] = v;
    seg_loss[s] = 0.0;
  }
  cas_rng idio, lgd_rng;
  cas_rng_init(&idio, plan->seed, CAS_RNG_IDIOSYNCRATIC, p);
  cas_rng_init(&lgd_rng, plan->seed, CAS_RNG_LGD, p);
  int64_t defaults = 0;
  for (size_t i = 0; i < plan->n; i++) {
    int s = plan->segment[i];
    double x = scale * (sys[s] + plan->idio[s] * cas_rng_normal(&idio));
    if (x < plan->threshold[i]) {
      defaults++;
      seg_loss[s] += plan->ead[i] * plan->lgd_model->loss_fraction(plan->lgd[i], &lgd_rng);
    }
  }
  double total = 0.0;
  for (int s = 0; s < CAS_NSEGMENTS; s++) total += seg_loss[s];
  res->loss[p] = total;
  res->defaults[p] = defaults;
}

static void run(const cas_plan *plan, cas_results *res, const cas_kernel_options *opt) {
  uint64_t nblocks = (plan->paths + PATH_BLOCK - 1) / PATH_BLOCK;
  uint64_t done = 0;
  double last_report = now_seconds();
  int threads = opt && opt->threads > 0 ? opt->threads : omp_get_max_threads();

  #pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (uint64_t b = 0; b < nblocks; b++) {
    uint64_t first = b * PATH_BLOCK;
    uint64_t last = first + PATH_BLOCK < plan->paths ? first + PATH_BLOCK : plan->paths;
    for (uint64_t p = first; p < last; p++) simulate_path(plan, p, res);
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

const cas_kernel cas_kernel_dense = {
  .info = {"dense", "reference kernel: one idiosyncratic draw per loan per path"},
  .run = run,
};
