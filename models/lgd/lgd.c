/* lgd.c: the LGD registry (see lgd.h): a constant table of the family's
 * descriptors, walked by registry.c. */
#include "lgd/lgd.h"

static const cas_lgd_model *const registry[] = {
  &cas_lgd_fixed,
  &cas_lgd_beta,
};
enum { NMODELS = sizeof registry / sizeof registry[0] };

static const cas_model_info *info_at(size_t i) { return &registry[i]->info; }

const cas_lgd_model *cas_lgd_at(size_t i) { return i < NMODELS ? registry[i] : NULL; }

const cas_lgd_model *cas_lgd_lookup(const char *name) {
  return cas_lgd_at(cas_registry_index(NMODELS, info_at, name));
}

void cas_lgd_list(char *buf, size_t size) { cas_registry_list(NMODELS, info_at, buf, size); }
