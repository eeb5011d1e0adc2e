/*
 * test_lgd.c: the contract of every registered LGD model (models/lgd),
 * walked through the registry so that a new model is tested as soon as it
 * is registered: a complete descriptor, a name that finds it, a loss
 * fraction in [0, 1] for every LGD parameter in [0, 1]; a model that draws
 * nothing returns the same fraction whatever the stream, and one that draws
 * has a mean loss fraction within 4 Monte Carlo standard errors of its
 * parameter (fixed seed, 20,000 draws). The fixed model returns its
 * parameter exactly.
 */
#include <criterion/criterion.h>
#include <math.h>
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
      double x = m->loss_fraction(lgd, &a), y = m->loss_fraction(lgd, &b);
      cr_assert(x >= 0.0 && x <= 1.0 && y >= 0.0 && y <= 1.0, "%s: fraction %g, %g for %g",
                m->info.name, x, y, lgd);
      if (!m->stochastic) cr_assert_eq(x, y, "%s draws nothing but depends on the stream", m->info.name);
    }
    if (m->stochastic) {
      enum { DRAWS = 20000 };
      for (int k = 1; k < 10; k++) {
        double lgd = k / 10.0, sum = 0.0, sum2 = 0.0;
        for (int d = 0; d < DRAWS; d++) {
          double x = m->loss_fraction(lgd, &a);
          sum += x;
          sum2 += x * x;
        }
        double mean = sum / DRAWS, se = sqrt(fmax(sum2 / DRAWS - mean * mean, 0.0) / DRAWS);
        cr_expect_leq(fabs(mean - lgd), 4.0 * se + 1e-12, "%s: mean %g for LGD %g (se %g)",
                      m->info.name, mean, lgd, se);
      }
    }
  }
}

Test(lgd, fixed_returns_its_parameter) {
  for (int k = 0; k <= 100; k++) cr_assert_eq(cas_lgd_fixed.loss_fraction(k / 100.0, NULL), k / 100.0);
}
