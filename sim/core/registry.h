/*
 * registry.h: lookup by name in a model registry.
 *
 * Every model descriptor starts with a cas_model_info `info`, and every
 * family keeps its models in a constant, typed table of pointers to its own
 * descriptor type (no void *, no mutable globals, no registration at
 * start-up). The family gives these functions its table through `info_at`,
 * which returns &table[i]->info, so one lookup and one listing serve every
 * family and every family keeps its types.
 */
#ifndef CASCADE_REGISTRY_H
#define CASCADE_REGISTRY_H

#include <stddef.h>

typedef struct cas_model_info {
  const char *name;         /* identifier used in scenario files */
  const char *description;  /* one line, for --help and result files */
} cas_model_info;

/* The info of the family's i-th model, i < n. */
typedef const cas_model_info *(*cas_registry_info_fn)(size_t i);

/* Index of the model called name among the n of a family, or n. */
size_t cas_registry_index(size_t n, cas_registry_info_fn info_at, const char *name);
/* "a, b, c": the names of the family's models, for "expected one of ..." messages. */
void cas_registry_list(size_t n, cas_registry_info_fn info_at, char *buf, size_t size);

#endif
