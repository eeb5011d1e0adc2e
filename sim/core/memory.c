/* memory.c: 2 MiB-aligned allocations with a huge-page hint (memory.h). */
#include "memory.h"

#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
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

void cas_prefault(void *base, size_t from, size_t to, int huge) {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
  if (to <= from) return;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t lo = ((uintptr_t)base + from) & ~(uintptr_t)(page - 1);
  uintptr_t hi = ((uintptr_t)base + to + page - 1) & ~(uintptr_t)(page - 1);
#ifdef MADV_HUGEPAGE
  if (huge) {   /* the whole 2 MiB pages inside the range */
    uintptr_t hlo = ((uintptr_t)base + from + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uintptr_t hhi = ((uintptr_t)base + to) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (hhi > hlo) madvise((void *)hlo, hhi - hlo, MADV_HUGEPAGE);
  }
#endif
  madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);   /* a hint: an error changes nothing */
#else
  (void)base, (void)from, (void)to, (void)huge;
#endif
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
