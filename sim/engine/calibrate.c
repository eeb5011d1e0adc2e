/* calibrate.c: the PD-preserving calibration of contagion (calibrate.h). */
#include "calibrate.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "contagion.h"
#include "distribute.h"
#include "kernel.h"
#include "normal.h"
#include "plan.h"

/* Stop once the groups' expected defaults are within this fraction of
 * their targets on the full pilot, sum |rate - target| / sum target, or
 * within the pilot's noise: a changed threshold moves the sparse kernel's
 * draws, so the pilot's own noise keeps each group off by about its
 * standard error whatever the iteration. */
#define TOLERANCE 1e-3

/* The first pilot runs use fewer paths: P / 2^(STEPS) doubling up to P. */
enum { STEPS = 3, MIN_PILOT = 500, NEWTON_STEPS = 60 };

/* Relaxation of the fixed-point step after the first: the map from offsets
 * to new offsets has a slope of about -0.3 (more offset, fewer round-0
 * defaults, fewer cascades, less offset needed), so the plain step
 * overshoots and oscillates; a step of RELAX = 1 / (1 + 0.3) of the way
 * cancels that slope to first order. */
#define RELAX 0.77

/* Defaults of the copula's marginal: P(latent < c - delta), and its
 * density. */
static double marginal_pd(const cas_copula_model *m, double c, double delta) {
  return m->shifted_pd(m, c - delta, 0.0);
}
static double marginal_density(const cas_copula_model *m, double c, double delta) {
  return m->density(m, c - delta);
}

typedef struct pilot_counts {
  size_t ngroups;
  int threads;
  const uint32_t *group_of;   /* [n] group of plan position k */
  const uint16_t *segment;    /* [n] segment of plan position k */
  int nsegments;
  uint32_t *seg_count;        /* [threads][nsegments] this path's counts (scratch, zero between paths) */
  uint64_t *cascade;          /* [threads][ngroups] cascade defaults */
  cas_u128 *cascade_sq;       /* [threads][ngroups] per-path counts squared */
  uint32_t *path_count;       /* [threads][ngroups] this path's counts (scratch, zero between paths) */
  uint32_t *touched;          /* [threads][ngroups] groups this path touched (scratch) */
  uint64_t *seg_sum;          /* [threads][nsegments] */
  cas_u128 *seg_sumsq;        /* [threads][nsegments] per-path counts squared */
} pilot_counts;

/* After each pilot path: its cascade's defaults, by group and by segment,
 * with the sums of squares of the per-path counts for the standard errors.
 * Integer sums, so the totals do not depend on which thread ran what. */
static void count_path(void *ctx, int thread, uint64_t path, const cas_cascade_ws *ws) {
  (void)path;
  pilot_counts *pc = ctx;
  size_t at = (size_t)thread * pc->ngroups, ntouched = 0;
  uint32_t *count = &pc->path_count[at], *touched = &pc->touched[at];
  size_t srow = (size_t)thread * (size_t)pc->nsegments;
  uint32_t *seg = &pc->seg_count[srow];
  for (size_t d = ws->n0; d < ws->ndefaulted; d++) {
    uint32_t k = ws->defaulted[d], g = pc->group_of[k];
    if (count[g]++ == 0) touched[ntouched++] = g;
    seg[pc->segment[k]]++;
  }
  for (size_t i = 0; i < ntouched; i++) {
    uint32_t g = touched[i];
    pc->cascade[at + g] += count[g];
    pc->cascade_sq[at + g] += (cas_u128)count[g] * count[g];
    count[g] = 0;
  }
  /* Flush the segments this path touched (the others hold zero). */
  uint64_t *sum = &pc->seg_sum[srow];
  cas_u128 *sumsq = &pc->seg_sumsq[srow];
  for (size_t d = ws->n0; d < ws->ndefaulted; d++) {
    uint16_t s = pc->segment[ws->defaulted[d]];
    if (seg[s] == 0) continue;
    sum[s] += seg[s];
    sumsq[s] += (cas_u128)seg[s] * seg[s];
    seg[s] = 0;
  }
}

/* Adds the threads' rows of counts into row 0 and zeroes the others
 * (integers: the same sums in any order). */
static void fold_threads(uint64_t *sum, cas_u128 *sumsq, int threads, size_t stride) {
  for (int t = 1; t < threads; t++)
    for (size_t i = 0; i < stride; i++) {
      sum[i] += sum[(size_t)t * stride + i];
      sumsq[i] += sumsq[(size_t)t * stride + i];
      sum[(size_t)t * stride + i] = 0;
      sumsq[(size_t)t * stride + i] = 0;
    }
}

/* Mean per path and its standard error of the counts summed over the
 * threads' rows (each row `stride` long) at index i. */
static void count_moments(const uint64_t *sum, const cas_u128 *sumsq, int threads, size_t stride,
                          size_t i, uint64_t paths, double *mean, double *se) {
  uint64_t c = 0;
  cas_u128 c2 = 0;
  for (int t = 0; t < threads; t++) {
    c += sum[(size_t)t * stride + i];
    c2 += sumsq[(size_t)t * stride + i];
  }
  double p = (double)paths;
  *mean = (double)c / p;
  double var = paths > 1 ? ((double)c2 - p * *mean * *mean) / (p - 1.0) : 0.0;
  *se = sqrt(fmax(var, 0.0) / p);
}

/* Class of a loan by the total weight w of the links into it: 0 for w = 0,
 * else 1 + floor(log2(w / 0.05)), from 1 to CAS_CALIBRATION_CLASSES - 1. */
static int weight_class(double w) {
  if (!(w > 0.0)) return 0;
  int c = 1 + (int)floor(log2(w / 0.05));
  return c < 1 ? 1 : c > CAS_CALIBRATION_CLASSES - 1 ? CAS_CALIBRATION_CLASSES - 1 : c;
}

/* Groups: by segment, then by weight class. Within a segment, classes are
 * taken from the most exposed down and merged until a group holds at least
 * CAS_CALIBRATION_MIN_GROUP loans; a remainder too small joins the last
 * group. Writes group_of[k] for every plan position (in_weight: scratch of
 * n doubles); returns the number of groups (SIZE_MAX out of memory). */
static size_t make_groups(const cas_plan *plan, const cas_contagion *model, uint32_t *group_of,
                          double *in_weight) {
  enum { NC = CAS_CALIBRATION_CLASSES };
  size_t n = plan->n;
  for (size_t k = 0; k < n; k++) in_weight[k] = 0.0;
  for (size_t e = 0; e < model->nedges; e++)
    in_weight[model->edge[e].target] += model->weight[model->edge[e].weight];
  int nseg = plan->nsegments;
  size_t (*size)[NC] = calloc((size_t)nseg, sizeof *size);
  uint32_t (*id)[NC] = calloc((size_t)nseg, sizeof *id);
  if (size == NULL || id == NULL) {
    free(size);
    free(id);
    return SIZE_MAX;
  }
  for (size_t k = 0; k < n; k++) size[model->segment[k]][weight_class(in_weight[k])]++;
  size_t ngroups = 0;
  for (int s = 0; s < nseg; s++) {
    size_t open = 0;
    int any_closed = 0;
    for (int c = NC - 1; c >= 0; c--) {
      id[s][c] = (uint32_t)ngroups;
      open += size[s][c];
      if (open >= CAS_CALIBRATION_MIN_GROUP) {
        ngroups++;
        open = 0;
        any_closed = 1;
      }
    }
    if (open > 0) {
      if (any_closed) {
        /* the remainder (the least exposed classes) joins the last group */
        for (int c = NC - 1; c >= 0; c--)
          if (id[s][c] == ngroups) id[s][c] = (uint32_t)ngroups - 1;
      } else {
        ngroups++;
      }
    }
  }
  for (size_t k = 0; k < n; k++)
    group_of[k] = id[model->segment[k]][weight_class(in_weight[k])];
  free(size);
  free(id);
  return ngroups;
}

/* Thresholds c0 - offset of the group, and each bucket's extremes. */
static void apply_offsets(cas_plan *plan, const double *c0, const uint32_t *group_of,
                          const double *offset) {
  for (size_t b = 0; b < plan->nbuckets; b++) {
    cas_bucket *bk = &plan->buckets[b];
    double lo = INFINITY, hi = -INFINITY;
    for (size_t k = bk->first; k < (size_t)bk->first + bk->count; k++) {
      double t = c0[k] - offset[group_of[k]];
      plan->loans[k].threshold = t;
      lo = fmin(lo, t);
      hi = fmax(hi, t);
    }
    bk->threshold_min = lo;
    bk->threshold_max = hi;
  }
}

/* sum_k marginal_pd(c0_k, offset of k's group), by group. */
static void expected_round0(const cas_copula_model *m, size_t n, const double *c0,
                            const uint32_t *group_of, const double *offset, size_t ngroups,
                            double *out) {
  for (size_t g = 0; g < ngroups; g++) out[g] = 0.0;
  for (size_t k = 0; k < n; k++) out[group_of[k]] += marginal_pd(m, c0[k], offset[group_of[k]]);
}

/* Solves sum_{k in g} marginal_pd(c0_k, delta) = want[g] for every group
 * marked in solve[] (the sum falls as delta grows): Newton steps kept
 * inside a bisection bracket [0, CAS_CALIBRATION_MAX_OFFSET]. */
static void solve_offsets(const cas_copula_model *m, size_t n, const double *c0,
                          const uint32_t *group_of, size_t ngroups,
                          const double *want, const unsigned char *solve, double *offset,
                          double *f, double *df, double *lo, double *hi) {
  for (size_t g = 0; g < ngroups; g++) {
    lo[g] = 0.0;
    hi[g] = CAS_CALIBRATION_MAX_OFFSET;
  }
  for (int step = 0; step < NEWTON_STEPS; step++) {
    for (size_t g = 0; g < ngroups; g++) f[g] = df[g] = 0.0;
    for (size_t k = 0; k < n; k++) {
      size_t g = group_of[k];
      if (!solve[g]) continue;
      f[g] += marginal_pd(m, c0[k], offset[g]);
      df[g] -= marginal_density(m, c0[k], offset[g]);
    }
    int moving = 0;
    for (size_t g = 0; g < ngroups; g++) {
      if (!solve[g]) continue;
      double r = f[g] - want[g];
      if (r > 0.0) lo[g] = offset[g];   /* too many defaults: the offset must grow */
      else hi[g] = offset[g];
      double next = df[g] < 0.0 ? offset[g] - r / df[g] : 0.5 * (lo[g] + hi[g]);
      if (!(next > lo[g] && next < hi[g])) next = 0.5 * (lo[g] + hi[g]);
      if (fabs(next - offset[g]) > 1e-13 * (1.0 + offset[g])) moving = 1;
      offset[g] = next;
    }
    if (!moving) break;
  }
}

cas_status cas_calibration_run(const cas_scenario *sc, const cas_portfolio *pf,
                               const cas_network *net, const cas_calibration_options *opt,
                               cas_calibration **out, cas_error *err) {
  *out = NULL;
  const cas_kernel *kernel = cas_kernel_lookup(opt && opt->kernel ? opt->kernel : CAS_KERNEL_DEFAULT);
  if (!kernel) return cas_error_set(err, CAS_ERR_USAGE, "unknown kernel for the calibration");
  int threads = opt && opt->threads > 0 ? opt->threads : omp_get_max_threads();
  size_t n = pf->n;
  uint64_t full = cas_calibration_paths(sc);
  if (sc->tax == NULL || !cas_taxonomy_equal(sc->tax, pf->tax))
    return cas_error_set(err, CAS_ERR_INTERNAL,
                         "calibration: the scenario is not bound to the book's classification");
  int nseg = sc->tax->nsegments;

  /* The book without the scenario's shocks, over one year: the offsets
   * keep each loan's one-year default probability, cascade included, at
   * its PD, and a multi-year run applies them in every year. */
  cas_scenario calm = *sc;
  calm.shocks = NULL;
  calm.nshocks = 0;
  calm.horizon_years = 1;
  cas_plan_options popt = {.grades_per_decade = CAS_PLAN_DEFAULT_GRADES,
                           .guaranteed = opt ? opt->guaranteed : NULL};
  cas_plan *plan = NULL;
  cas_contagion *model = NULL;
  cas_results *res = NULL;
  cas_calibration *cal = calloc(1, sizeof *cal);
  cas_status st = cal ? CAS_OK : cas_error_set(err, CAS_ERR_NOMEM, "out of memory calibrating");
  if (st == CAS_OK) st = cas_plan_build(&calm, pf, &popt, &plan, err);
  if (st == CAS_OK) st = cas_contagion_create(&calm, plan, pf, net, &model, err);
  if (st == CAS_OK)
    st = cas_results_create(full, model->max_rounds + 1, model->ncalls > 0, &res, err);
  /* The pilot reads its counts through the path hook: no rows by segment. */
  if (st == CAS_OK) cas_results_store_segments(res, 0);
  /* distributed: every rank passes the same collective calls (comm.h) */
  const cas_comm *comm = opt ? opt->comm : NULL;
  int ranks = cas_comm_size(comm), rank = cas_comm_rank(comm);
  st = cas_comm_agree(comm, st, err);
  if (st != CAS_OK) {
    cas_results_destroy(res);
    cas_contagion_destroy(model);
    cas_plan_destroy(plan);
    free(cal);
    return st;
  }
  plan->seed = sc->seed;
  plan->first_stream = CAS_PLAN_PILOT_STREAMS;

  /* Work arrays: by plan position, then by group. */
  size_t m = n ? n : 1;
  uint32_t *group_of = malloc(m * sizeof *group_of);
  double *c0 = malloc(m * sizeof *c0);
  double *scratch = malloc(m * sizeof *scratch);
  cal->group = malloc(m * sizeof *cal->group);
  pilot_counts pc = {.threads = threads, .group_of = group_of, .segment = model->segment};
  pc.nsegments = nseg;
  pc.seg_sum = calloc((size_t)threads * (size_t)nseg, sizeof *pc.seg_sum);
  pc.seg_sumsq = calloc((size_t)threads * (size_t)nseg, sizeof *pc.seg_sumsq);
  pc.seg_count = calloc((size_t)threads * (size_t)nseg, sizeof *pc.seg_count);
  cal->nsegments = nseg;
  cal->target_pd = calloc((size_t)nseg * 5, sizeof *cal->target_pd);
  double *seg_loans = calloc((size_t)nseg * 4, sizeof *seg_loans);
  int ok = group_of && c0 && scratch && cal->group && pc.seg_sum && pc.seg_sumsq && pc.seg_count &&
           cal->target_pd && seg_loans;
  if (ok) {
    cal->rate = cal->target_pd + nseg;
    cal->rate_se = cal->rate + nseg;
    cal->cascade_rate = cal->rate_se + nseg;
    cal->mean_offset = cal->cascade_rate + nseg;
  }
  size_t ng = 0;
  double *target = NULL, *cascade = NULL, *round0 = NULL, *want = NULL, *wk = NULL, *prev = NULL;
  unsigned char *solve = NULL;
  uint64_t *split = NULL;      /* distributed: the ranks' ranges of a pilot */
  if (ok) {
    ng = make_groups(plan, model, group_of, scratch);
    if (ng == SIZE_MAX) ng = 0, ok = 0;
  }
  if (ok) {
    size_t gm = ng ? ng : 1;
    cal->ngroups = ng;
    cal->offset = calloc(gm, sizeof *cal->offset);
    pc.ngroups = ng;
    pc.cascade = calloc((size_t)threads * gm, sizeof *pc.cascade);
    pc.cascade_sq = calloc((size_t)threads * gm, sizeof *pc.cascade_sq);
    pc.path_count = calloc((size_t)threads * gm, sizeof *pc.path_count);
    pc.touched = calloc((size_t)threads * gm, sizeof *pc.touched);
    target = calloc(gm, sizeof *target);
    cascade = calloc(gm, sizeof *cascade);
    round0 = calloc(gm, sizeof *round0);
    want = calloc(gm, sizeof *want);
    wk = calloc(4 * gm, sizeof *wk);
    prev = calloc(gm, sizeof *prev);
    solve = calloc(gm, 1);
    ok = cal->offset && pc.cascade && pc.cascade_sq && pc.path_count && pc.touched && target &&
         cascade && round0 && want && wk && prev && solve;
  }
  if (ok && ranks > 1 && !(split = malloc(((size_t)ranks + 1) * sizeof *split))) ok = 0;
  if (!ok) st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory calibrating %zu loans", n);
  st = cas_comm_agree(comm, st, err);

  if (st == CAS_OK) {
    for (size_t k = 0; k < n; k++) {
      c0[k] = plan->loans[k].threshold;
      target[group_of[k]] += pf->pd[plan->loan_index[k]];
    }
    uint64_t paths = full >> STEPS;
    if (paths < MIN_PILOT) paths = full < MIN_PILOT ? full : MIN_PILOT;
    uint32_t it = 0;
    double residual = INFINITY, mean_residual = INFINITY;
    for (;;) {
      apply_offsets(plan, c0, group_of, cal->offset);
      plan->paths = paths;
      memset(pc.cascade, 0, (size_t)threads * ng * sizeof *pc.cascade);
      memset(pc.cascade_sq, 0, (size_t)threads * ng * sizeof *pc.cascade_sq);
      memset(pc.seg_sum, 0, (size_t)threads * (size_t)nseg * sizeof *pc.seg_sum);
      memset(pc.seg_sumsq, 0, (size_t)threads * (size_t)nseg * sizeof *pc.seg_sumsq);
      cas_kernel_options kopt = {.threads = threads, .path_hook = count_path, .path_hook_ctx = &pc};
      if (split) {
        /* this rank's range of the pilot (distribute.h), in whole units of
         * the results' shape; its counts folded into thread row 0 and added
         * up over the ranks */
        cas_split_paths(paths, cas_results_unit(full, nseg, 0), ranks, split);
        cas_results_set_slice(res, split[rank], full);
        kopt.limit_rows = 1;
        kopt.rows = split[rank + 1] - split[rank];
      }
      st = cas_kernel_run(kernel, plan, model, res, &kopt, err);
      st = cas_comm_agree(comm, st, err);
      if (st != CAS_OK) break;
      if (split) {
        fold_threads(pc.cascade, pc.cascade_sq, threads, ng);
        fold_threads(pc.seg_sum, pc.seg_sumsq, threads, (size_t)nseg);
        cas_comm_sum_u64(comm, pc.cascade, ng);
        cas_comm_sum_u128(comm, pc.cascade_sq, ng);
        cas_comm_sum_u64(comm, pc.seg_sum, (size_t)nseg);
        cas_comm_sum_u128(comm, pc.seg_sumsq, (size_t)nseg);
      }
      it++;
      /* The groups' expected defaults per path at these thresholds. */
      expected_round0(plan->copula, n, c0, group_of, cal->offset, ng, round0);
      residual = 0.0;
      double off_sum = 0.0, target_sum = 0.0, noise = 0.0;
      for (size_t g = 0; g < ng; g++) {
        double se;
        count_moments(pc.cascade, pc.cascade_sq, threads, ng, g, paths, &cascade[g], &se);
        noise += se;
        double miss = fabs(round0[g] + cascade[g] - target[g]);
        if (target[g] > 0.0) residual = fmax(residual, miss / target[g]);
        off_sum += miss;
        target_sum += target[g];
      }
      mean_residual = target_sum > 0.0 ? off_sum / target_sum : 0.0;
      /* done when the groups' misses are within TOLERANCE of their targets
       * or within the pilot's own noise (the sum of the groups' standard
       * errors: a miss of one standard error each is as close as the
       * pilot can tell) */
      cal->converged = paths == full && off_sum <= fmax(TOLERANCE * target_sum, noise);
      if (cal->converged || it >= sc->contagion.calibration_iterations) break;
      /* New offsets for these cascade rates; a group the cascade never
       * reached keeps its thresholds exactly. */
      for (size_t g = 0; g < ng; g++) {
        solve[g] = cascade[g] > 0.0;
        if (!solve[g]) cal->offset[g] = 0.0;
        want[g] = target[g] - cascade[g];
        prev[g] = cal->offset[g];
      }
      solve_offsets(plan->copula, n, c0, group_of, ng, want, solve, cal->offset, wk, wk + ng,
                    wk + 2 * ng,
                    wk + 3 * ng);
      for (size_t g = 0; g < ng; g++)
        if (solve[g]) cal->offset[g] = prev[g] + RELAX * (cal->offset[g] - prev[g]);
      if (paths < full) paths = paths * 2 < full ? paths * 2 : full;
    }
    if (st == CAS_OK) {
      /* The record, by segment, at the final (last simulated) thresholds. */
      cal->paths = paths;
      cal->iterations = it;
      cal->max_residual = residual;
      cal->mean_residual = mean_residual;
      for (size_t g = 0; g < ng; g++)
        cal->capped += cal->offset[g] >= CAS_CALIBRATION_MAX_OFFSET * (1.0 - 1e-9);
      double *loans = seg_loans, *pd = loans + nseg, *r0 = pd + nseg, *off = r0 + nseg;
      for (size_t k = 0; k < n; k++) {
        int s = model->segment[k];
        double d = cal->offset[group_of[k]];
        loans[s] += 1.0;
        pd[s] += pf->pd[plan->loan_index[k]];
        r0[s] += marginal_pd(plan->copula, c0[k], d);
        off[s] += d;
        cal->group[plan->loan_index[k]] = group_of[k];
      }
      for (int s = 0; s < nseg; s++) {
        double mean, se;
        count_moments(pc.seg_sum, pc.seg_sumsq, threads, (size_t)nseg, (size_t)s, paths, &mean,
                      &se);
        double l = loans[s] > 0.0 ? loans[s] : 1.0;
        cal->target_pd[s] = pd[s] / l;
        cal->cascade_rate[s] = mean / l;
        cal->rate[s] = (r0[s] + mean) / l;
        cal->rate_se[s] = se / l;
        cal->mean_offset[s] = off[s] / l;
      }
    }
  }
  free(group_of);
  free(c0);
  free(scratch);
  free(pc.cascade);
  free(pc.cascade_sq);
  free(pc.path_count);
  free(pc.touched);
  free(pc.seg_sum);
  free(pc.seg_sumsq);
  free(pc.seg_count);
  free(seg_loans);
  free(target);
  free(cascade);
  free(round0);
  free(want);
  free(wk);
  free(prev);
  free(solve);
  free(split);
  cas_results_destroy(res);
  cas_contagion_destroy(model);
  cas_plan_destroy(plan);
  if (st != CAS_OK) {
    cas_calibration_destroy(cal);
    return st;
  }
  *out = cal;
  return CAS_OK;
}

uint64_t cas_calibration_paths(const cas_scenario *sc) {
  if (sc->contagion.calibration_paths) return sc->contagion.calibration_paths;
  uint64_t p = sc->paths / 4;
  return p < CAS_CALIBRATION_MIN_AUTO_PATHS ? CAS_CALIBRATION_MIN_AUTO_PATHS : p;
}

void cas_calibration_destroy(cas_calibration *cal) {
  if (!cal) return;
  free(cal->group);
  free(cal->offset);
  free(cal->target_pd);
  free(cal);
}

#define DS(...) cas_datasets_add(l, (cas_dataset){__VA_ARGS__})

void cas_calibration_describe(cas_dataset_list *l, const cas_calibration *cal) {
  uint64_t counts[2] = {cal->paths, cal->ngroups};
  uint64_t *kept = cas_datasets_keep(l, counts, sizeof counts);
  if (!kept) return;
  cas_datasets_attribute(l, "calibration_paths", CAS_DT_U64, &kept[0]);
  cas_datasets_attribute(l, "calibration_iterations", CAS_DT_U32, &cal->iterations);
  cas_datasets_attribute(l, "calibration_groups", CAS_DT_U64, &kept[1]);
  DS("calibration_max_residual", CAS_DT_F64, 0, {NULL}, &cal->max_residual, "1",
     "largest |pilot default rate - input PD| / input PD over the calibration groups", 0);
  DS("calibration_mean_residual", CAS_DT_F64, 0, {NULL}, &cal->mean_residual, "1",
     "sum over the calibration groups of |pilot defaults - input PDs| / sum of input PDs", 0);
  DS("calibration_target_pd", CAS_DT_F64, 1, {"segment"}, cal->target_pd, "1",
     "mean input PD of the segment, before shocks (the target)", 0);
  DS("calibration_default_rate", CAS_DT_F64, 1, {"segment"}, cal->rate, "1",
     "default rate on the pilot paths at the calibrated thresholds, cascade included", 0);
  DS("calibration_default_rate_se", CAS_DT_F64, 1, {"segment"}, cal->rate_se, "1",
     "Monte Carlo standard error of calibration_default_rate", 0);
  DS("calibration_cascade_rate", CAS_DT_F64, 1, {"segment"}, cal->cascade_rate, "1",
     "part of calibration_default_rate from the cascade", 0);
  DS("calibration_threshold_offset", CAS_DT_F64, 1, {"segment"}, cal->mean_offset,
     "standard deviations", "mean lowering of the segment's default thresholds by the calibration", 0);
}
