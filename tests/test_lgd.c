/*
 * test_lgd.c: the contract of every registered LGD model (models/lgd),
 * walked through the registry so that a new model is tested as soon as it
 * is registered: a complete descriptor, a name that finds it, a loss
 * fraction in [0, 1] for every LGD parameter in [0, 1]; a model that draws
 * nothing returns the same fraction whatever the stream, and one that draws
 * has the mean and standard deviation asked within 4 Monte Carlo standard
 * errors (fixed seed, 40,000 draws), keeps its mean under the downturn link
 * and is higher in bad states. The fixed model returns its parameter
 * exactly.
 */
#include <criterion/criterion.h>

#include "timeout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lgd/lgd.h"
#include "rng.h"
#include "support.h"

Test(lgd, registry_is_walkable_and_every_model_keeps_its_contract) {
  size_t count;
  EXPECT_REGISTRY(cas_lgd_model, cas_lgd_at, cas_lgd_lookup, cas_lgd_list, "fixed", count);
  for (size_t i = 0; i < count; i++) {
    const cas_lgd_model *m = cas_lgd_at(i);
    cr_assert_not_null(m->loss_fraction);
    cas_rng a, b;
    cas_rng_init(&a, 1, CAS_RNG_TEST, i);
    cas_rng_init(&b, 2, CAS_RNG_TEST, i);
    for (int k = 0; k <= 20; k++) {
      double lgd = k / 20.0;
      for (double y = -3.0; y <= 3.0; y += 1.5) {
        double x = m->loss_fraction(lgd, 0.2, y, 0.5, &a), z = m->loss_fraction(lgd, 0.2, y, 0.5, &b);
        cr_assert(x >= 0.0 && x <= 1.0 && z >= 0.0 && z <= 1.0, "%s: fraction %g, %g for %g",
                  m->info.name, x, z, lgd);
        if (!m->stochastic) cr_assert_eq(x, z, "%s draws nothing but depends on the stream", m->info.name);
      }
    }
    if (!m->stochastic) continue;
    /* Without a downturn link: the loss fraction's mean is the LGD and its
     * standard deviation the one asked (within 4 s.e.: of the mean
     * s / sqrt(N), of the sample sd sqrt((m4 - s^4) / (4 s^2 N))). With
     * the link the mean over y ~ N(0, 1) is still the LGD, and it is higher
     * in bad states (y < -1) than in good ones (y > 1). */
    enum { DRAWS = 40000 };
    static const double means[] = {0.1, 0.45, 0.8}, sds[] = {0.05, 0.2, 0.25};
    for (int k = 0; k < 3; k++) {
      double mu = means[k], sd = sds[k];
      if (sd * sd > 0.9 * mu * (1 - mu)) continue;
      double s1 = 0, s2 = 0, s4 = 0;
      double *x = malloc(DRAWS * sizeof *x);
      cr_assert_not_null(x);
      for (int d = 0; d < DRAWS; d++) {
        x[d] = m->loss_fraction(mu, sd, 0.0, 0.0, &a);
        s1 += x[d];
      }
      double mean = s1 / DRAWS;
      for (int d = 0; d < DRAWS; d++) {
        double e = x[d] - mean;
        s2 += e * e;
        s4 += e * e * e * e;
      }
      free(x);
      double var = s2 / DRAWS, m4 = s4 / DRAWS, got_sd = sqrt(var);
      double se_mean = got_sd / sqrt(DRAWS), se_sd = sqrt(fmax(m4 - var * var, 0.0) / (4 * var * DRAWS));
      cr_expect_leq(fabs(mean - mu), 4 * se_mean, "%s: mean %g for %g (se %g)", m->info.name, mean, mu, se_mean);
      cr_expect_leq(fabs(got_sd - sd), 4 * se_sd, "%s: sd %g for %g (se %g)", m->info.name, got_sd, sd, se_sd);
      double t1 = 0, bad = 0, good = 0;
      int nbad = 0, ngood = 0;
      for (int d = 0; d < DRAWS; d++) {
        double y = cas_rng_normal(&a), l = m->loss_fraction(mu, sd, y, 1.0, &a);
        t1 += l;
        if (y < -1) bad += l, nbad++;
        if (y > 1) good += l, ngood++;
      }
      /* s.e. of the mean with the link: at most the fraction's range / 2 over sqrt(N) */
      cr_expect_leq(fabs(t1 / DRAWS - mu), 4 * 0.5 / sqrt(DRAWS), "%s: downturn mean %g for %g",
                    m->info.name, t1 / DRAWS, mu);
      cr_expect_gt(bad / nbad, good / ngood + 0.05, "%s: LGD not higher in bad states", m->info.name);
    }
  }
}

Test(lgd, fixed_returns_its_parameter) {
  for (int k = 0; k <= 100; k++)
    cr_assert_eq(cas_lgd_fixed.loss_fraction(k / 100.0, 0.2, -1.0, 1.0, NULL), k / 100.0);
}

/* Every model, at standard deviations down to the smallest double: a
 * fraction in [0, 1], and the drawing ones within 1e-6 of the mean when
 * the deviation is below 1e-9 (the beta model's gamma shapes overflowed
 * to infinity at lgd_sd 1e-155, and its gamma sampler never ended). A
 * time limit catches a hang. */
Test(lgd, tiny_standard_deviations_end_at_the_mean, .timeout = CAS_TEST_TIMEOUT(30)) {
  static const double sds[] = {1e-6, 1e-9, 1e-12, 1e-100, 1e-154, 1e-155, 1e-200, 1e-300, 5e-324};
  for (size_t i = 0; cas_lgd_at(i); i++) {
    const cas_lgd_model *m = cas_lgd_at(i);
    cas_rng r;
    cas_rng_init(&r, 3, CAS_RNG_TEST, i);
    for (size_t k = 0; k < sizeof sds / sizeof *sds; k++)
      for (double y = -2.0; y <= 2.0; y += 2.0) {
        double x = m->loss_fraction(0.45, sds[k], y, 0.0, &r);
        cr_assert(x >= 0.0 && x <= 1.0, "%s: fraction %g at sd %g", m->info.name, x, sds[k]);
        if (sds[k] <= 1e-9) cr_assert_leq(fabs(x - 0.45), 1e-6, "%s: %g at sd %g", m->info.name, x, sds[k]);
      }
  }
}
