/* copula.c: the copula registry (see copula.h): a constant table of the
 * family's descriptors, walked by registry.c. */
#include "copula/copula.h"

static const cas_copula_model *const registry[] = {
  &cas_copula_gaussian,
  &cas_copula_student_t,
};
enum { NMODELS = sizeof registry / sizeof registry[0] };

static const cas_model_info *info_at(size_t i) { return &registry[i]->info; }

const cas_copula_model *cas_copula_at(size_t i) { return i < NMODELS ? registry[i] : NULL; }

const cas_copula_model *cas_copula_lookup(const char *name) {
  return cas_copula_at(cas_registry_index(NMODELS, info_at, name));
}

void cas_copula_list(char *buf, size_t size) { cas_registry_list(NMODELS, info_at, buf, size); }
