/* kernels.c: the kernel registry (see kernel.h): a constant table of the
 * family's descriptors, walked by registry.c. The first is the default. */
#include "kernel.h"

static const cas_kernel *const registry[] = {
  &cas_kernel_sparse,
  &cas_kernel_dense,
};
enum { NKERNELS = sizeof registry / sizeof registry[0] };

static const cas_model_info *info_at(size_t i) { return &registry[i]->info; }

const cas_kernel *cas_kernel_at(size_t i) { return i < NKERNELS ? registry[i] : NULL; }

const cas_kernel *cas_kernel_lookup(const char *name) {
  return cas_kernel_at(cas_registry_index(NKERNELS, info_at, name));
}

void cas_kernel_list(char *buf, size_t size) { cas_registry_list(NKERNELS, info_at, buf, size); }
