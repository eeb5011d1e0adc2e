/* models.c: the contagion registry (see contagion.h): a constant table of
 * the family's descriptors, walked by registry.c. */
#include "contagion/contagion.h"

static const cas_contagion_model *const registry[] = {
  &cas_contagion_none,
  &cas_contagion_network,
};
enum { NMODELS = sizeof registry / sizeof registry[0] };

static const cas_model_info *info_at(size_t i) { return &registry[i]->info; }

const cas_contagion_model *cas_contagion_model_at(size_t i) {
  return i < NMODELS ? registry[i] : NULL;
}

const cas_contagion_model *cas_contagion_model_lookup(const char *name) {
  return cas_contagion_model_at(cas_registry_index(NMODELS, info_at, name));
}

void cas_contagion_model_list(char *buf, size_t size) {
  cas_registry_list(NMODELS, info_at, buf, size);
}
