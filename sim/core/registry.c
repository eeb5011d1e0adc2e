/* registry.c: lookup in constant model tables (see registry.h). */
#include "registry.h"

#include <stdio.h>
#include <string.h>

size_t cas_registry_index(size_t n, cas_registry_info_fn info_at, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(info_at(i)->name, name) == 0) return i;
  return n;
}

void cas_registry_list(size_t n, cas_registry_info_fn info_at, char *buf, size_t size) {
  size_t used = 0;
  if (size) buf[0] = '\0';
  for (size_t i = 0; i < n && used < size; i++) {
    int k = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", info_at(i)->name);
    if (k < 0) break;
    used += (size_t)k;
  }
}
