/* memory.c: 2 MiB-aligned allocations with a huge-page hint (memory.h). */
#include "memory.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

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

int cas_small_pages_begin(void) {
#if defined(__linux__) && defined(PR_SET_THP_DISABLE)
  int was = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
  if (was == 0) prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
  return was;
#else
  return -1;
#endif
}

void cas_small_pages_end(int was) {
#if defined(__linux__) && defined(PR_SET_THP_DISABLE)
  if (was == 0) prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
#else
  (void)was;
#endif
}
