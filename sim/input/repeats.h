/* repeats.h: the first repeated key of a long sequence, found from 64-bit
 * hashes in a few passes over memory instead of one random access per key
 * (the CSV loader's duplicate ids, portfolio.c). */
#ifndef CASCADE_REPEATS_H
#define CASCADE_REPEATS_H

#include <stddef.h>
#include <stdint.h>

/* Whether keys a and b (indices into the sequence) are the same; called
 * only for keys of equal hash. */
typedef int (*cas_same_key)(const void *ctx, size_t a, size_t b);

/* hash[0 .. n) are the hashes of keys 0 .. n - 1. Finds the least index r
 * whose key equals that of an earlier index, and the first index f of that
 * key: returns 1 and sets *repeat = r, *first = f; 0 if every key is
 * distinct; -1 when out of memory. Keys of equal hash that differ (64-bit
 * collisions) are told apart by same. Expected time O(n), memory 8 n bytes
 * besides the hashes. */
int cas_first_repeat(const uint64_t *hash, size_t n, cas_same_key same, const void *ctx,
                     size_t *repeat, size_t *first);

#endif
