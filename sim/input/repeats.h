/* repeats.h: the first repeated key of a long sequence, found from 64-bit
 * hashes in a few passes over memory instead of one random access per key
 * (the CSV loader's duplicate ids, portfolio.c). */
#ifndef CASCADE_REPEATS_H
#define CASCADE_REPEATS_H

#include <stddef.h>
#include <stdint.h>

/* How key a compares with key b (indices into the sequence): negative,
 * zero when they are the same key, positive, as strcmp does (any total
 * order of the keys); called only for keys of equal hash. */
typedef int (*cas_compare_key)(const void *ctx, size_t a, size_t b);

/* hash[0 .. n) are the hashes of keys 0 .. n - 1. Finds the least index r
 * whose key equals that of an earlier index, and the first index f of that
 * key: returns 1 and sets *repeat = r, *first = f; 0 if every key is
 * distinct; -1 when out of memory. Keys of equal hash that differ (64-bit
 * collisions) are told apart by compare. Time O(n) when no hash repeats
 * (expected, and O(n log k) for k repeated hash values), plus O(m log m)
 * comparisons for the m indices whose hash repeats, however many keys
 * share a hash; memory 8 n bytes besides the hashes. */
int cas_first_repeat(const uint64_t *hash, size_t n, cas_compare_key compare, const void *ctx,
                     size_t *repeat, size_t *first);

#endif
