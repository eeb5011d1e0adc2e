/* registry.c: lookup in constant model tables (see registry.h). */
#include "registry.h"

#include <stdio.h>
#include <string.h>

const void *cas_registry_find(const void *const *table, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++) {
    const cas_model_info *info = table[i];
    if (strcmp(info->name, name) == 0) return table[i];
  }
  return NULL;
}

void cas_registry_list(const void *const *table, size_t n, char *buf, size_t size) {
  size_t used = 0;
  if (size) buf[0] = '\0';
  for (size_t i = 0; i < n && used < size; i++) {
    const cas_model_info *info = table[i];
    int k = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", info->name);
    if (k < 0) break;
    used += (size_t)k;
  }
}
