/*
 * memory.h: allocation of large arrays that are read at random.
 *
 * The cascade's links and the dense kernel's idiosyncratic values are read
 * at random positions of arrays of tens or hundreds of megabytes; with 4 KiB
 * pages nearly every such read also misses the TLB, which the processor's
 * prefetching does not hide. cas_alloc_large aligns the block to 2 MiB and
 * asks the kernel for transparent huge pages (madvise, Linux; a hint only:
 * where it is refused or unavailable the memory is ordinary). Free with
 * free(). (The plan's loan records are read at random too, but are plain
 * malloc: allocating them here measured no gain, docs/PERFORMANCE.md; the
 * program's malloc takes huge pages anyway when it runs with
 * glibc.malloc.hugetlb=1, sim/cli/main.c.)
 */
#ifndef CASCADE_MEMORY_H
#define CASCADE_MEMORY_H

#include <stddef.h>

/* Like malloc(size); zeroed if zero is set. NULL on failure. */
void *cas_alloc_large(size_t size, int zero);

/* Maps the pages of bytes [from, to) of the block at base now (Linux:
 * madvise MADV_POPULATE_WRITE; elsewhere, or where the kernel refuses,
 * nothing), as huge pages where huge is set and the kernel gives them. The
 * block must cover the range's pages (a malloc'd block of at least `to`
 * bytes does). Contents are unchanged. For arrays about to be written in
 * sequence: one call maps what a fault a page would (docs/PERFORMANCE.md). */
void cas_prefault(void *base, size_t from, size_t to, int huge);

/* Small pages for the memory the process first touches from begin to end
 * (Linux: transparent huge pages off for the process, PR_SET_THP_DISABLE;
 * elsewhere nothing): for the links loader, whose arrays are written and
 * read in sequence. On the Intel machine of the twelfth session huge pages
 * taken a fault at a time made the portfolio loader slower (the 10^7-loan
 * book in 4.0 to 4.7 s with them, 2.3 to 2.9 s without); the portfolio
 * loader now maps its arrays ahead with cas_prefault instead, in huge
 * pages, which on the AMD machines here beat both (docs/PERFORMANCE.md).
 * Memory touched before keeps its pages. A process-wide hint, so end puts
 * back what begin found (its return value). */
int cas_small_pages_begin(void);
void cas_small_pages_end(int was);

#endif
