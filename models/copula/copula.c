/* copula.c: the copula registry (see copula.h): a constant table walked by registry.c. */
#include "copula/copula.h"

static const void *const registry[] = {
  &cas_copula_gaussian,
};
enum { NMODELS = sizeof registry / sizeof registry[0] };

const cas_copula_model *cas_copula_at(size_t i) { return i < NMODELS ? registry[i] : NULL; }

const cas_copula_model *cas_copula_lookup(const char *name) {
  return cas_registry_find(registry, NMODELS, name);
}

void cas_copula_list(char *buf, size_t size) { cas_registry_list(registry, NMODELS, buf, size); }
