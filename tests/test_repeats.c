/*
 * test_repeats.c: the first repeated key (repeats.h), against a quadratic
 * reference that compares every pair of keys.
 *
 * - Random sequences with few distinct keys (many repeats), and with keys
 *   whose hashes are cut to a few bits, so that keys of equal hash differ
 *   (64-bit collisions, which the comparison must tell apart), at sizes
 *   below and above one partition.
 * - A long sequence of distinct keys (several partitions, the top bits
 *   used) with one repeat planted at known places, first and last.
 * - The edges: no key, one key, all keys equal.
 * - Many different keys of one hash (as a hostile file can craft against
 *   an unkeyed hash): found by sorting them, with a planted repeat.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>

#include "repeats.h"
#include "rng.h"

/* Keys are integers; hash_of maps them to hashes, possibly colliding. */
typedef struct keys {
  const uint64_t *key;
} keys;

static int same(const void *ctx, size_t a, size_t b) {
  const keys *k = ctx;
  return (k->key[a] > k->key[b]) - (k->key[a] < k->key[b]);
}

static uint64_t mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x9E3779B97F4A7C15ULL;
  return x ^ (x >> 29);
}

/* The reference: the least r with key[r] == key[f] for some f < r, and the
 * least such f. */
static int reference(const uint64_t *key, size_t n, size_t *repeat, size_t *first) {
  for (size_t r = 1; r < n; r++)
    for (size_t f = 0; f < r; f++)
      if (key[f] == key[r]) {
        *repeat = r;
        *first = f;
        return 1;
      }
  return 0;
}

static void check(const uint64_t *key, const uint64_t *hash, size_t n) {
  keys k = {key};
  size_t r = 7, f = 7, r0 = 0, f0 = 0;
  int got = cas_first_repeat(hash, n, same, &k, &r, &f);
  int want = reference(key, n, &r0, &f0);
  cr_assert_eq(got, want, "n %zu: found %d, expected %d", n, got, want);
  if (want) {
    cr_assert_eq(r, r0, "n %zu: repeat at %zu, expected %zu", n, r, r0);
    cr_assert_eq(f, f0, "n %zu: first seen at %zu, expected %zu", n, f, f0);
  }
}

Test(repeats, random_sequences_agree_with_the_reference) {
  cas_rng rng;
  cas_rng_init(&rng, 11, 0, 0);
  static const size_t sizes[] = {2, 3, 17, 300, 5000, 20000};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    size_t n = sizes[s];
    uint64_t *key = malloc(n * sizeof *key), *hash = malloc(n * sizeof *hash);
    cr_assert(key && hash);
    for (int trial = 0; trial < 12; trial++) {
      /* distinct keys among 4 n (a repeat likely early), or among n^2 (late
       * or none); hashes full, or cut to 6 bits (most equal hashes are
       * different keys) */
      uint64_t span = trial % 2 ? 4 * (uint64_t)n : (uint64_t)n * n + 1;
      int cut = trial % 3 == 0;
      for (size_t i = 0; i < n; i++) {
        key[i] = cas_rng_below(&rng, span);
        hash[i] = cut ? mix(key[i]) >> 58 << 58 : mix(key[i]);
      }
      check(key, hash, n);
    }
    free(key);
    free(hash);
  }
}

Test(repeats, a_planted_repeat_in_a_long_sequence) {
  size_t n = 300000;   /* about 37 partitions of 8192 */
  uint64_t *key = malloc(n * sizeof *key), *hash = malloc(n * sizeof *hash);
  cr_assert(key && hash);
  keys k = {key};
  for (size_t i = 0; i < n; i++) {
    key[i] = i;
    hash[i] = mix(i);
  }
  size_t r, f;
  cr_assert_eq(cas_first_repeat(hash, n, same, &k, &r, &f), 0, "distinct keys have no repeat");
  const size_t at[][2] = {{0, 1}, {5, n - 1}, {n - 2, n - 1}, {123, 4567}};
  for (size_t t = 0; t < sizeof at / sizeof *at; t++) {
    size_t a = at[t][0], b = at[t][1];
    key[b] = key[a];
    hash[b] = hash[a];
    cr_assert_eq(cas_first_repeat(hash, n, same, &k, &r, &f), 1);
    cr_assert_eq(r, b, "repeat at %zu, expected %zu", r, b);
    cr_assert_eq(f, a, "first seen at %zu, expected %zu", f, a);
    key[b] = b;
    hash[b] = mix(b);
  }
  /* two repeats: the earlier second occurrence wins, whatever the firsts */
  key[200000] = key[10], hash[200000] = hash[10];
  key[150000] = key[140000], hash[150000] = hash[140000];
  cr_assert_eq(cas_first_repeat(hash, n, same, &k, &r, &f), 1);
  cr_assert_eq(r, 150000);
  cr_assert_eq(f, 140000);
  free(key);
  free(hash);
}

Test(repeats, edges) {
  static uint64_t key[50000], hash[50000];
  keys k = {key};
  size_t r, f;
  cr_assert_eq(cas_first_repeat(hash, 0, same, &k, &r, &f), 0);
  key[0] = 1, hash[0] = 0;
  cr_assert_eq(cas_first_repeat(hash, 1, same, &k, &r, &f), 0);
  for (size_t i = 0; i < 50000; i++) key[i] = 9, hash[i] = 0;   /* a zero hash is a hash */
  cr_assert_eq(cas_first_repeat(hash, 50000, same, &k, &r, &f), 1);
  cr_assert_eq(r, 1);
  cr_assert_eq(f, 0);
  /* equal hashes, all keys distinct: no repeat */
  for (size_t i = 0; i < 3000; i++) key[i] = i;
  cr_assert_eq(cas_first_repeat(hash, 3000, same, &k, &r, &f), 0);
  key[2999] = 1234;
  cr_assert_eq(cas_first_repeat(hash, 3000, same, &k, &r, &f), 1);
  cr_assert_eq(r, 2999);
  cr_assert_eq(f, 1234);
}

/* 300,000 different keys of one hash, in a scrambled order, then two
 * planted repeats: the earlier second occurrence is found. (Comparing each
 * key with every earlier key of its hash would take 4.5 x 10^10
 * comparisons here.) */
Test(repeats, many_keys_of_one_hash) {
  size_t n = 300000;
  uint64_t *key = malloc(n * sizeof *key), *hash = malloc(n * sizeof *hash);
  cr_assert(key && hash);
  keys k = {key};
  for (size_t i = 0; i < n; i++) {
    key[i] = mix(i + 1);   /* distinct: mix is a bijection */
    hash[i] = 77;
  }
  size_t r, f;
  cr_assert_eq(cas_first_repeat(hash, n, same, &k, &r, &f), 0, "distinct keys of one hash have no repeat");
  key[250000] = key[3];
  key[260000] = key[240000];
  cr_assert_eq(cas_first_repeat(hash, n, same, &k, &r, &f), 1);
  cr_assert_eq(r, 250000, "repeat at %zu, expected 250000", r);
  cr_assert_eq(f, 3, "first seen at %zu, expected 3", f);
  /* half the keys share a hash, the others have their own */
  for (size_t i = 0; i < n; i++) hash[i] = i % 2 ? 5 : mix(key[i]);
  key[260000] = mix(260000 + 1);
  key[250000] = mix(250000 + 1);
  key[299999] = key[1];   /* both of hash 5 */
  cr_assert_eq(cas_first_repeat(hash, n, same, &k, &r, &f), 1);
  cr_assert_eq(r, 299999);
  cr_assert_eq(f, 1);
  free(key);
  free(hash);
}
