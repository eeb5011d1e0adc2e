#!/usr/bin/python3
"""The stream recipe of sim/core/rng.c written again from its description,
in Python integers, to pin it (tests/test_rng.c, rng_pinned): prints the
first three 64-bit outputs and then three open uniforms of the stream
(seed 1, purpose CAS_RNG_TEST = 99, index 0).

    /usr/bin/python3 tests/data/rng_recipe.py

The PCG64 generator (128-bit LCG, XSL-RR output) and its seeding follow
O'Neill (2014) and the reference implementation's pcg64_srandom_r; the
stream start is (seed, purpose) through the SplitMix64 finaliser (Steele,
Lea and Flood 2014), the index a jump of index x 2^40 steps.
"""
M64, M128 = (1 << 64) - 1, (1 << 128) - 1
MULT = (2549297995355413924 << 64) + 4865540595714422341
SEQUENCE = 0xCA5CADE


def mix64(z):
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def stream(seed, purpose, index):
    s, p = mix64(seed), purpose & 0xFFFFFF
    hi = mix64(s ^ mix64(p))
    lo = mix64(hi ^ mix64(seed ^ 0x5851F42D4C957F2D) ^ p)
    inc = ((SEQUENCE << 1) | 1) & M128
    state = (0 * MULT + inc) & M128
    state = (state + ((hi << 64) | lo)) & M128
    state = (state * MULT + inc) & M128
    # advance by index * 2^40 steps: x -> A x + C with A = MULT^k, C = inc (MULT^(k-1) + ... + 1)
    k, a, c, am, ap = index << 40, MULT, inc, 1, 0
    while k:
        if k & 1:
            am, ap = (am * a) & M128, (ap * a + c) & M128
        c, a, k = ((a + 1) * c) & M128, (a * a) & M128, k >> 1
    state = (am * state + ap) & M128
    while True:
        state = (state * MULT + inc) & M128
        x, rot = ((state >> 64) ^ state) & M64, state >> 122
        yield ((x >> rot) | (x << ((64 - rot) & 63))) & M64


if __name__ == "__main__":
    g = stream(1, 99, 0)
    print([hex(next(g)) for _ in range(3)])
    print([float.hex(((next(g) >> 12) + 0.5) * 2.0 ** -52) for _ in range(3)])
