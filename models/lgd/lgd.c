/* lgd.c: the LGD registry (see lgd.h): a constant table walked by registry.c. */
#include "lgd/lgd.h"

static const void *const registry[] = {
  &cas_lgd_fixed,
};
enum { NMODELS = sizeof registry / sizeof registry[0] };

const cas_lgd_model *cas_lgd_at(size_t i) { return i < NMODELS ? registry[i] : NULL; }

const cas_lgd_model *cas_lgd_lookup(const char *name) {
  return cas_registry_find(registry, NMODELS, name);
}

void cas_lgd_list(char *buf, size_t size) { cas_registry_list(registry, NMODELS, buf, size); }
