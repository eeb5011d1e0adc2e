/* factors.c: the factor model's small helpers (factors.h). */
#include "factors.h"

#include <stdlib.h>

#include "linalg.h"

const char *const cas_factor_by_names[3] = {"none", "region", "sector"};

double cas_factor_model_systematic_variance(const cas_factor_model *m, int segment) {
  const double *a = m->loading + (size_t)segment * (size_t)m->nfactors;
  return cas_quadratic_form((size_t)m->nfactors, m->corr, a, a);
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
