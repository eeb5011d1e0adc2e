/* networks.c: the registry of built-in networks (see networks.h): a
 * constant table of the family's descriptors, walked by registry.c. */
#include "networks/networks.h"

static const cas_network_model *const registry[] = {
  &cas_network_yrd,
};
enum { NMODELS = sizeof registry / sizeof registry[0] };

static const cas_model_info *info_at(size_t i) { return &registry[i]->info; }

const cas_network_model *cas_network_at(size_t i) { return i < NMODELS ? registry[i] : NULL; }

const cas_network_model *cas_network_lookup(const char *name) {
  return cas_network_at(cas_registry_index(NMODELS, info_at, name));
}

void cas_network_list(char *buf, size_t size) { cas_registry_list(NMODELS, info_at, buf, size); }
