/* dataset.c: the list of datasets a result holds (dataset.h). */
#include "dataset.h"

#include <stdlib.h>
#include <string.h>

static int grow(void **p, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return 0;
  size_t c = *cap ? 2 * *cap : 16;
  void *q = realloc(*p, c * size);
  if (!q) return -1;
  *p = q;
  *cap = c;
  return 0;
}

void cas_datasets_dimension(cas_dataset_list *l, cas_dimension d) {
  if (grow((void **)&l->dim, &l->dim_cap, l->ndims, sizeof *l->dim)) {
    l->failed = 1;
    return;
  }
  l->dim[l->ndims++] = d;
}

void cas_datasets_add(cas_dataset_list *l, cas_dataset d) {
  if (grow((void **)&l->set, &l->set_cap, l->nsets, sizeof *l->set)) {
    l->failed = 1;
    return;
  }
  l->set[l->nsets++] = d;
}

void cas_datasets_attribute(cas_dataset_list *l, const char *name, cas_dtype type,
                            const void *value) {
  if (grow((void **)&l->attr, &l->attr_cap, l->nattrs, sizeof *l->attr)) {
    l->failed = 1;
    return;
  }
  l->attr[l->nattrs++] = (cas_attribute){name, type, value};
}

void *cas_datasets_keep(cas_dataset_list *l, const void *value, size_t size) {
  void *copy = malloc(size ? size : 1);
  if (!copy || grow((void **)&l->owned, &l->owned_cap, l->nowned, sizeof *l->owned)) {
    free(copy);
    l->failed = 1;
    return NULL;
  }
  memcpy(copy, value, size);
  l->owned[l->nowned++] = copy;
  return copy;
}

void *cas_datasets_own(cas_dataset_list *l, void *p) {
  if (!p || grow((void **)&l->owned, &l->owned_cap, l->nowned, sizeof *l->owned)) {
    free(p);
    l->failed = 1;
    return NULL;
  }
  l->owned[l->nowned++] = p;
  return p;
}

const char *cas_datasets_keep_text(cas_dataset_list *l, const char *text) {
  return cas_datasets_keep(l, text, strlen(text) + 1);
}

const cas_dimension *cas_datasets_find_dimension(const cas_dataset_list *l, const char *name) {
  for (size_t k = 0; k < l->ndims; k++)
    if (strcmp(l->dim[k].name, name) == 0) return &l->dim[k];
  return NULL;
}

void cas_datasets_free(cas_dataset_list *l) {
  for (size_t k = 0; k < l->nowned; k++) free(l->owned[k]);
  free(l->owned);
  free(l->dim);
  free(l->set);
  free(l->attr);
  *l = (cas_dataset_list){0};
}
