/* factors.c: the factor model's small helpers (factors.h). */
#include "factors.h"

#include <stdlib.h>


const char *const cas_factor_by_names[3] = {"none", "region", "sector"};

/* a' C a over the non-zero loadings only (a segment loads one factor per
 * family), in the order of cas_quadratic_form: the zero terms it would add
 * change nothing, so the result is the same double. */
double cas_factor_model_systematic_variance(const cas_factor_model *m, int segment) {
  size_t nf = (size_t)m->nfactors;
  const double *a = m->loading + (size_t)segment * nf;
  int idx[CAS_FACTORS_MAX], k = 0;
  for (size_t f = 0; f < nf && k < CAS_FACTORS_MAX; f++)
    if (a[f] != 0.0) idx[k++] = (int)f;
  double s = 0.0;
  for (int i = 0; i < k; i++)
    for (int j = 0; j < k; j++) s += a[idx[i]] * m->corr[(size_t)idx[i] * nf + (size_t)idx[j]] * a[idx[j]];
  return s;
}

void cas_factor_model_destroy(cas_factor_model *m) {
  if (m == NULL) return;
  cas_names_free(&m->names);
  free(m->family);
  free(m->family_loading);
  free(m->corr);
  free(m->loading);
  free(m);
}
