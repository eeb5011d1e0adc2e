/* repeats.c: the first repeated key of a sequence, from 64-bit hashes
 * (repeats.h).
 *
 * A hash table of 10^7 ids is far larger than the caches, and inserting
 * into it costs one cache and TLB miss per id: 2.5 s of a 4.5 s load of a
 * 10^7-row CSV book (docs/PERFORMANCE.md, 2026-12-01). Here the hashes are
 * instead partitioned by their top bits into parts of about PART (one pass
 * to count, one to scatter, both streaming), and each part's repeated
 * hashes are found in an open-addressing table keyed by the low bits that
 * stays in cache. Repeated hash values are few (none in a valid book), so
 * the second step, which finds the first index whose key repeats an
 * earlier one, scans the hashes once more and sorts by key only the
 * indices whose hash repeats. */
#define _GNU_SOURCE   /* qsort_r */
#include "repeats.h"

#include <stdlib.h>
#include <string.h>

enum { PART = 8192 };

typedef struct vec {
  uint64_t *v;
  size_t n, cap;
} vec;

static int push(vec *a, uint64_t x) {
  if (a->n == a->cap) {
    size_t cap = a->cap ? 2 * a->cap : 64;
    uint64_t *v = realloc(a->v, cap * sizeof *v);
    if (!v) return -1;
    a->v = v;
    a->cap = cap;
  }
  a->v[a->n++] = x;
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The hash values that occur more than once in h (each at least once,
 * unsorted) into out; -1 when out of memory. */
static int repeated_hashes(const uint64_t *h, size_t n, vec *out) {
  int bits = 0;
  while (bits < 24 && (n >> bits) > PART) bits++;
  size_t parts = (size_t)1 << bits;
  size_t *start = calloc(parts + 1, sizeof *start), *cursor = malloc(parts * sizeof *cursor);
  uint64_t *part = bits ? malloc(n * sizeof *part) : NULL;
  int rc = -1;
  if (!start || !cursor || (bits && !part)) goto done;
  if (bits) {
    for (size_t i = 0; i < n; i++) start[(h[i] >> (64 - bits)) + 1]++;
    for (size_t p = 0; p < parts; p++) start[p + 1] += start[p];
    memcpy(cursor, start, parts * sizeof *cursor);
    for (size_t i = 0; i < n; i++) part[cursor[h[i] >> (64 - bits)]++] = h[i];
  } else {
    start[1] = n;
  }
  const uint64_t *v = bits ? part : h;
  size_t largest = 0;
  for (size_t p = 0; p < parts; p++)
    if (start[p + 1] - start[p] > largest) largest = start[p + 1] - start[p];
  size_t cap = 16;
  while (cap < 2 * largest) cap *= 2;
  uint64_t *slot = malloc(cap * sizeof *slot);
  unsigned char *used = calloc(cap, 1);
  if (!slot || !used) {
    free(slot);
    free(used);
    goto done;
  }
  rc = 0;
  for (size_t p = 0; p < parts && rc == 0; p++) {
    size_t m = start[p + 1] - start[p], mask = 15;
    while (mask + 1 < 2 * m) mask = 2 * mask + 1;
    for (size_t i = start[p]; i < start[p + 1]; i++) {
      uint64_t x = v[i];
      size_t j = (size_t)x & mask;
      while (used[j] && slot[j] != x) j = (j + 1) & mask;
      if (used[j]) {
        if (push(out, x)) {
          rc = -1;
          break;
        }
      } else {
        used[j] = 1;
        slot[j] = x;
      }
    }
    memset(used, 0, mask + 1);
  }
  free(slot);
  free(used);
done:
  free(start);
  free(cursor);
  free(part);
  return rc;
}

/* The index of x in the sorted, distinct c[0 .. k), or k. */
static size_t find(const uint64_t *c, size_t k, uint64_t x) {
  size_t lo = 0, hi = k;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < k && c[lo] == x ? lo : k;
}

typedef struct by_key {
  const uint64_t *hash;
  cas_compare_key compare;
  const void *ctx;
} by_key;

/* Indices in the order (hash, key, index). */
static int cmp_index(const void *pa, const void *pb, void *arg) {
  const by_key *o = arg;
  uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
  if (o->hash[a] != o->hash[b]) return o->hash[a] < o->hash[b] ? -1 : 1;
  int c = o->compare(o->ctx, a, b);
  if (c) return c;
  return (a > b) - (a < b);
}

int cas_first_repeat(const uint64_t *hash, size_t n, cas_compare_key compare, const void *ctx,
                     size_t *repeat, size_t *first) {
  vec c = {0}, at = {0};   /* repeated hash values; the indices that have one */
  int rc = -1;
  if (repeated_hashes(hash, n, &c)) goto done;
  rc = 0;
  if (c.n == 0) goto done;
  qsort(c.v, c.n, sizeof *c.v, cmp_u64);
  size_t k = 0;
  for (size_t i = 0; i < c.n; i++)
    if (k == 0 || c.v[i] != c.v[k - 1]) c.v[k++] = c.v[i];
  /* The indices whose hash repeats, sorted by (hash, key, index): each
   * key's indices are then a run in increasing order, its first
   * occurrence and its first repeat the run's first two. Sorting by key
   * keeps the cost O(m log m) comparisons for m such indices even when
   * many different keys share one hash (64-bit collisions, which a hostile
   * file can craft), where comparing each index with every earlier key of
   * its hash would be quadratic. */
  for (size_t i = 0; i < n; i++)
    if (find(c.v, k, hash[i]) < k && push(&at, i)) {
      rc = -1;
      goto done;
    }
  size_t m = at.n;
  uint64_t *idx = at.v;
  by_key o = {hash, compare, ctx};
  qsort_r(idx, m, sizeof *idx, cmp_index, &o);
  for (size_t a = 0, b; a < m; a = b) {
    for (b = a + 1; b < m && hash[idx[b]] == hash[idx[a]] && compare(ctx, idx[a], idx[b]) == 0; b++) {}
    if (b - a >= 2 && (rc == 0 || idx[a + 1] < *repeat)) {
      *repeat = idx[a + 1];
      *first = idx[a];
      rc = 1;
    }
  }
done:
  free(c.v);
  free(at.v);
  return rc;
}
