/*
 * registry.h: lookup by name in a model registry.
 *
 * Every model descriptor starts with a cas_model_info, and every family
 * keeps its models in a constant table of pointers walked by these two
 * functions (no mutable globals, no registration at start-up).
 */
#ifndef CASCADE_REGISTRY_H
#define CASCADE_REGISTRY_H

#include <stddef.h>

typedef struct cas_model_info {
  const char *name;         /* identifier used in scenario files */
  const char *description;  /* one line, for --help and result files */
} cas_model_info;

/* table[i] points at a descriptor whose first member is a cas_model_info. */
const void *cas_registry_find(const void *const *table, size_t n, const char *name);
/* "a, b, c": the names in the table, for "expected one of ..." messages. */
void cas_registry_list(const void *const *table, size_t n, char *buf, size_t size);

#endif
