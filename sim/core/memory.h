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

#endif
