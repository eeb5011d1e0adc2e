/* memory.c: 2 MiB-aligned allocations with a huge-page hint (memory.h). */
#include "memory.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { HUGE_PAGE = 2u << 20 };

void *cas_alloc_large(size_t size, int zero) {
  if (size == 0) size = 1;
  if (size < HUGE_PAGE) return zero ? calloc(1, size) : malloc(size);
  size_t rounded = (size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
  void *p = aligned_alloc(HUGE_PAGE, rounded);
  if (!p) return NULL;
#ifdef MADV_HUGEPAGE
  madvise(p, rounded, MADV_HUGEPAGE);
#endif
  if (zero) memset(p, 0, rounded);
  return p;
}
