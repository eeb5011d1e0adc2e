/*
 * test_stats.c: VaR, ES and their standard errors (sim/engine/stats.c).
 *
 * Exact cases on known samples; then the estimators and their standard
 * errors on exponential losses, where VaR and ES are known in closed form:
 * VaR_a = -ln(1 - a), ES_a = 1 + VaR_a.
 */
#include <criterion/criterion.h>

#include "timeout.h"

#include <math.h>
#include <stdlib.h>

#include "rng.h"
#include "stats.h"

Test(stats, exact_quantile_and_es_on_1_to_100) {
  double loss[100];
  for (int i = 0; i < 100; i++) loss[99 - i] = i + 1.0; /* unsorted on purpose */
  cas_summary s;
  cas_error err = {0};
  cr_assert_eq(cas_summary_compute(100, loss, NULL, NULL, &s, &err), CAS_OK);
  cr_expect_float_eq(s.el, 50.5, 1e-12);
  /* k = ceil(0.95 * 100) = 95: VaR = L_(95) = 95, ES = mean of 96..100. */
  cr_expect_float_eq(s.var[0], 95.0, 0);
  cr_expect_float_eq(s.es[0], 98.0, 1e-12);
  /* 99%: L_(99) = 99, ES = L_(100) = 100. */
  cr_expect_float_eq(s.var[1], 99.0, 0);
  cr_expect_float_eq(s.es[1], 100.0, 1e-12);
  cr_expect_float_eq(s.min_loss, 1.0, 0);
  cr_expect_float_eq(s.max_loss, 100.0, 0);
}

Test(stats, es_counts_the_quantile_fractionally) {
  /* n = 10, a = 0.95: a n = 9.5, k = 10, weight of L_(10) = 0.5, mass 0.5:
   * ES = L_(10). With a = 0.85: k = 9 (8.5 -> 9), weight 0.5 on L_(9):
   * ES = (0.5 * 9 + 10) / 1.5. */
  double sorted[10];
  for (int i = 0; i < 10; i++) sorted[i] = i + 1.0;
  double v, vse, es, esse;
  cas_quantile_es(sorted, 10, 0.95, &v, &vse, &es, &esse);
  cr_expect_float_eq(v, 10.0, 0);
  cr_expect_float_eq(es, 10.0, 1e-12);
  cas_quantile_es(sorted, 10, 0.85, &v, &vse, &es, &esse);
  cr_expect_float_eq(v, 9.0, 0);
  cr_expect_float_eq(es, (0.5 * 9.0 + 10.0) / 1.5, 1e-12);
}

Test(stats, contributions_add_up_to_es) {
  enum { M = 5000 };
  double *loss = malloc(M * sizeof *loss);
  enum { NSEG = 36 };
  double *seg = calloc((size_t)M * NSEG, sizeof *seg);
  cr_assert(loss && seg);
  cas_rng rng;
  cas_rng_init(&rng, 7, CAS_RNG_TEST, 0);
  for (int p = 0; p < M; p++) {
    double t = 0;
    for (int s = 0; s < 5; s++) {
      double x = -log(cas_rng_uniform_open(&rng)) * (s + 1);
      seg[(size_t)p * NSEG + (size_t)(s * 7)] = x;
      t += x;
    }
    loss[p] = t;
  }
  cas_summary s;
  cas_error err = {0};
  /* Levels of the scenario key too: Basel's 97.5% ES and a 99.97% tail. */
  static const double levels[] = {0.95, 0.975, 0.99, 0.999, 0.9997};
  cas_summary_options opt = {.levels = levels, .nlevels = 5, .loss_by_segment = seg,
                             .nsegments = NSEG};
  cr_assert_eq(cas_summary_compute(M, loss, &opt, NULL, &s, &err), CAS_OK);
  cr_assert_eq(s.nlevels, 5);
  for (int l = 0; l < s.nlevels; l++) {
    double total = 0;
    for (int k = 0; k < NSEG; k++) total += s.es_contribution[l * NSEG + k];
    cr_expect_float_eq(total, s.es[l], 1e-9 * s.es[l], "level %d: %g vs %g", l, total, s.es[l]);
    if (l > 0) cr_expect_geq(s.es[l], s.es[l - 1], "ES grows with the level");
  }
  double el = 0;
  for (int k = 0; k < NSEG; k++) el += s.el_by_segment[k];
  cr_expect_float_eq(el, s.el, 1e-9 * s.el);
  cas_summary_free(&s);
  free(loss);
  free(seg);
}

/* Standard errors: over R independent replications of M exponential losses
 * the spread of the estimates must match the reported standard errors, and
 * the estimates must centre on the truth. Fixed seed; tolerances: the
 * replication mean within 4 of its own standard errors (sd / sqrt(R)); the
 * ratio of mean reported SE to the observed sd within 25% (the sd of R = 400
 * replications is itself uncertain by about 1 / sqrt(2R) = 3.5%, and the
 * order-statistic SE is a coarse estimate at small M). */
Test(stats, standard_errors_match_replication_spread, .timeout = CAS_TEST_TIMEOUT(60)) {
  enum { R = 400, M = 4000 };
  double *loss = malloc(M * sizeof *loss);
  cr_assert_not_null(loss);
  double sum[4][CAS_NLEVELS] = {{0}}, sum2[4][CAS_NLEVELS] = {{0}};
  double el_sum = 0, el_sum2 = 0, el_se_sum = 0;
  for (int r = 0; r < R; r++) {
    cas_rng rng;
    cas_rng_init(&rng, 11, CAS_RNG_TEST, (uint64_t)r);
    for (int p = 0; p < M; p++) loss[p] = -log(cas_rng_uniform_open(&rng));
    cas_summary s;
    cas_error err = {0};
    cr_assert_eq(cas_summary_compute(M, loss, NULL, NULL, &s, &err), CAS_OK);
    el_sum += s.el;
    el_sum2 += s.el * s.el;
    el_se_sum += s.el_se;
    for (int l = 0; l < CAS_NLEVELS; l++) {
      double x[4] = {s.var[l], s.var_se[l], s.es[l], s.es_se[l]};
      for (int k = 0; k < 4; k++) {
        sum[k][l] += x[k];
        sum2[k][l] += x[k] * x[k];
      }
    }
  }
  double el_mean = el_sum / R, el_sd = sqrt(el_sum2 / R - el_mean * el_mean);
  cr_expect_leq(fabs(el_mean - 1.0), 4 * el_sd / sqrt(R));
  cr_expect_leq(fabs(el_se_sum / R / el_sd - 1.0), 0.25);
  for (int l = 0; l < 2; l++) { /* 95% and 99%: at M = 4000 the 99.9% tail has 4 points */
    double a = cas_levels[l];
    double truth[2] = {-log(1 - a), 1 - log(1 - a)};
    for (int k = 0; k < 2; k++) { /* 0: VaR, 1: ES */
      int est = 2 * k, se = 2 * k + 1;
      double mean = sum[est][l] / R, sd = sqrt(sum2[est][l] / R - mean * mean);
      double mean_se = sum[se][l] / R;
      cr_log_info("level %g %s: mean %.4f truth %.4f sd %.4f mean SE %.4f", a, k ? "ES" : "VaR",
                  mean, truth[k], sd, mean_se);
      /* Bias of the empirical quantile is O(1/M): well inside 4 SE here. */
      cr_expect_leq(fabs(mean - truth[k]), 4 * sd / sqrt(R), "level %g %s: %g vs %g", a,
                    k ? "ES" : "VaR", mean, truth[k]);
      cr_expect_leq(fabs(mean_se / sd - 1.0), 0.25, "level %g %s: SE %g vs sd %g", a,
                    k ? "ES" : "VaR", mean_se, sd);
    }
  }
  free(loss);
}

/* The ranking every statistic starts from: by loss, then by path. Losses
 * with many ties, both zeros, negative values (a net loss after a
 * mitigant can be), subnormal and huge magnitudes: the tail's paths and
 * VaR agree with a comparison sort of the same order, written here. */
typedef struct ref_rank {
  double loss;
  uint64_t path;
} ref_rank;

static int by_loss_path(const void *a, const void *b) {
  const ref_rank *x = a, *y = b;
  if (x->loss < y->loss) return -1;
  if (x->loss > y->loss) return 1;
  return (x->path > y->path) - (x->path < y->path);
}

static int by_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

Test(stats, ranking_is_by_loss_then_path) {
  enum { M = 3001 };
  static const double values[] = {0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324, 1e300, -1e300,
                                  2.5, 2.5000000000000004, 1e-300, 7.0};
  enum { NV = sizeof values / sizeof values[0] };
  double *loss = malloc(M * sizeof *loss);
  ref_rank *ref = malloc(M * sizeof *ref);
  uint64_t *want = malloc(M * sizeof *want);
  cr_assert(loss && ref && want);
  cas_rng rng;
  cas_rng_init(&rng, 11u, CAS_RNG_TEST, 0u);
  for (uint64_t p = 0; p < M; p++) {
    /* mostly a few repeated values (ties), some draws (no ties) */
    loss[p] = p % 3 ? values[cas_rng_below(&rng, NV)] : 1000.0 * (cas_rng_uniform(&rng) - 0.3);
    ref[p] = (ref_rank){loss[p], p};
  }
  qsort(ref, M, sizeof *ref, by_loss_path);
  /* levels whose VaR rank falls inside each block of ties (where the path
   * order decides which of the block's paths are in the tail), and a few
   * others */
  double levels[NV + 3] = {0.5, 0.99, 0.999};
  int nl = 3;
  for (uint64_t r = 0, e; r < M; r = e) {
    for (e = r + 1; e < M && ref[e].loss == ref[r].loss; e++) continue;
    if (e - r >= 3 && nl < NV + 3) levels[nl++] = ((r + e) / 2 + 0.5) / M;   /* VaR mid-block */
  }
  cr_assert(nl >= 8, "%d blocks of ties", nl - 3);
  for (int l = 0; l < nl; l++) {
    uint64_t k = (uint64_t)ceil(levels[l] * M), *got = NULL, n = 0;
    cas_error err = {0};
    cr_assert_eq(cas_tail_paths(M, loss, NULL, levels[l], &got, &n, &err), CAS_OK);
    cr_assert_eq(n, M - (k - 1), "level %g: %llu tail paths", levels[l], (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) want[i] = ref[k - 1 + i].path;
    qsort(want, n, sizeof *want, by_u64);
    int same = 1;
    for (uint64_t i = 0; i < n; i++) same = same && got[i] == want[i];
    cr_expect(same, "level %.6f: the tail's paths differ from the comparison sort's", levels[l]);
    free(got);
  }
  cas_summary s;
  cas_error err = {0};
  cr_assert_eq(cas_summary_compute(M, loss, NULL, NULL, &s, &err), CAS_OK);
  cr_expect(s.var[0] == ref[(uint64_t)ceil(0.95 * M) - 1].loss, "VaR 95%%: %a", s.var[0]);
  cr_expect(s.min_loss == ref[0].loss && s.max_loss == ref[M - 1].loss);
  free(loss);
  free(ref);
  free(want);
}

Test(stats, rejects_fewer_than_two_paths) {
  double one = 1.0;
  cas_summary s;
  cas_error err = {0};
  cr_expect_neq(cas_summary_compute(1, &one, NULL, NULL, &s, &err), CAS_OK);
}
