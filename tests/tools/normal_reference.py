#!/usr/bin/python3
"""Reference values for tests/test_normal.c, computed with mpmath.

Run with Debian's interpreter (/usr/bin/python3, package python3-mpmath):

    /usr/bin/python3 tests/tools/normal_reference.py sim/core/normal.c > /tmp/normal_ref.c

It prints C tables to paste into tests/test_normal.c (about four minutes,
most of it the bivariate table). Every argument is first rounded to a
double (the value the C literal denotes), and the reference is computed
from that exact double at 50 significant digits (40 for the bivariate
table), so a table entry is the correctly rounded answer for the double
the test passes in. Quantiles are found by solving log Phi(x) = log p (or,
for p > 1/2, log Phi(-x) = log(1 - p) with 1 - p taken exactly), so tiny
tail probabilities keep full relative precision.

The bivariate normal P(X <= h, Y <= k) (correlation rho) is the integral
over x < h of phi(x) Phi((k - rho x) / sqrt(1 - rho^2)), a formula the C
code does not use: it integrates Plackett's dP/drho instead. Each value is
checked against that second formula, integrated here too, and the script
stops if the two disagree beyond 1e-25 relative.

Given the path of sim/core/normal.c, it also recomputes the check sums that
Wichura printed with the AS 241 coefficients (sums of the coefficient
mantissas) and the Gauss-Legendre nodes and weights of the bivariate
normal, to guard the transcriptions, and reports them on stderr.
"""
from decimal import Decimal
import re
import sys

from mpmath import (mp, mpf, ncdf, npdf, log, exp, findroot, sqrt, quad, asin, sin, cos,
                    pi, inf, legendre, diff)

mp.dps = 50

QUANTILE_P = [
    "1e-300", "1e-200", "1e-100", "1e-50", "1e-20", "1e-16", "1e-12",
    "1.3887943864964021e-11",  # ~exp(-25): AS 241's r = 5 split
    "1e-10", "1e-9", "1e-7", "1e-5", "1e-4", "0.001", "0.01", "0.02",
    "0.05", "0.075", "0.0750001", "0.1", "0.2", "0.25", "0.3", "0.4",
    "0.45", "0.49", "0.5", "0.51", "0.6", "0.7", "0.75", "0.8", "0.9",
    "0.925", "0.95", "0.975", "0.99", "0.999", "0.99999", "0.9999999",
    "0.9999999999", "0.999999999999", "0.9999999999999999",
]

CDF_X = ["-38", "-37.5", "-30", "-20", "-10", "-8", "-5", "-3", "-2.326",
         "-2", "-1.5", "-1", "-0.5", "-1e-5", "0", "1e-5", "0.5", "1", "2",
         "3", "5", "8", "10"]

SF_X = ["-8", "-1", "0", "1", "2.326", "3", "5", "8", "10", "20", "30", "38"]

PDF_X = ["-38", "-20", "-8", "-1", "0", "0.5", "1", "3", "8", "20", "38"]

# Bivariate table: every (h, k) pair at every rho. Thresholds from deep in
# the lower tail (Phi^-1 of a PD of 1e-5 is -4.2649) to the upper body, equal
# and unequal, both signs.
BVN_RHO = ["-0.99", "-0.5", "0", "0.1", "0.3", "0.5", "0.8", "0.925", "0.95", "0.999"]
BVN_HK = [
    ("-8", "-8"), ("-5", "-5"), ("-4.264890793922825", "-4.264890793922825"),
    ("-8", "-5"), ("-6", "-2"), ("-4.264890793922825", "-2.3263478740408408"),
    ("-3", "-3"), ("-2.3263478740408408", "-1.2815515655446004"), ("-1", "-1"),
    ("-1.5", "0.5"), ("0", "0"), ("0.5", "-2"), ("-8", "3"), ("3", "-6"),
    ("1.2815515655446004", "1.2815515655446004"), ("2.5", "1"), ("3", "3"),
]
# Where the C code switches from one form of the integral to another, or
# is most strained: both sides of each switch, far tails, rho near +-1.
BVN_HARD = [
    ("-3.5", "3", "-0.95"), ("-3.7", "3", "-0.95"),      # |h + k| = 2 sqrt(1 - rho^2)
    ("-6.3", "6.3", "-0.95"), ("-6.5", "6.4", "-0.95"),  # |hk| (1 - rho^2) = 4
    ("-6.3", "-6.3", "0.95"), ("-6.5", "-6.4", "0.95"),
    ("-1", "-1", "-0.5"), ("-1.05", "-1", "-0.5"),       # integral from 0 or from -1
    ("-9", "-9", "-0.2"), ("-20", "-20", "0.3"), ("-12", "-11.5", "0.99"),
    ("-30", "-30", "0.999999"), ("-1", "1.0001", "-0.9999"), ("-0.5", "0.6", "-0.999999"),
]
# The edges, where the C code has closed forms.
BVN_EDGES = [("-5", "-5", "1"), ("-1", "2", "1"), ("-2", "2.5", "-1"), ("1", "-0.5", "-1"),
             ("-3", "-2", "-1"), ("3", "-2.9", "-1")]

# Wichura (1988): mantissa sums of the coefficient groups as printed.
HASH_SUMS = {
    "AB": "55.8831928806149014439",
    "CD": "49.33206503301610289036",
    "EF": "47.52583317549289671629",
}


def exact(literal):
    """The double a C literal denotes, as an exact mpf."""
    return mpf(float(literal))


def quantile(p):
    if p == mpf("0.5"):
        return mpf(0)
    lower = p < mpf("0.5")
    tail = p if lower else 1 - p          # exact in mpmath
    target = log(tail)
    guess = -sqrt(-2 * target) + mpf("0.5")   # crude, findroot refines
    x = findroot(lambda y: log(ncdf(y)) - target, (guess - 1, guess + 1),
                 solver="anderson")
    err = abs(ncdf(x) / tail - 1)
    assert err < mpf("1e-40"), (p, err)
    return x if lower else -x


def bvn(h, k, r):
    """P(X <= h, Y <= k): int_{-inf}^h phi(x) Phi((k - r x) / sqrt(1 - r^2)) dx.

    log of the integrand is concave, so its mass lies where it is within
    e^-150 of its maximum: one interval, found by bisection, cut into many
    pieces (more near x = k / r, where Phi switches over a width of
    sqrt(1 - r^2) / |r|). The integrand is divided by its maximum, since
    mpmath's quad judges convergence in absolute terms.
    """
    if r == 1:
        return ncdf(min(h, k))
    if r == -1:
        return max(mpf(0), ncdf(h) - ncdf(-k))
    s = sqrt((1 - r) * (1 + r))

    def logf(x):
        return log(npdf(x)) + log(ncdf((k - r * x) / s))

    a, b = min(h, k / r if r else h, mpf(0)) - 40, h
    for _ in range(250):                 # ternary search for the maximum
        m1, m2 = a + (b - a) / 3, b - (b - a) / 3
        if logf(m1) < logf(m2):
            a = m1
        else:
            b = m2
    x_max = (a + b) / 2
    top = logf(x_max)
    lo = x_max - 1
    while logf(lo) > top - 150:
        lo = x_max - 2 * (x_max - lo)
    a, b = lo, x_max
    for _ in range(120):
        m = (a + b) / 2
        a, b = (a, m) if logf(m) > top - 150 else (m, b)
    pts = {a + (h - a) * i / 40 for i in range(1, 40)}
    if r != 0:
        pts |= {k / r + j * s / abs(r) / 4 for j in range(-40, 41)}
    pts = [-inf, a] + sorted(p for p in pts if a < p < h) + [h]
    scale = exp(top)
    val, err = quad(lambda x: npdf(x) * ncdf((k - r * x) / s) / scale, pts, error=True)
    assert err < mpf(10) ** (-mp.dps + 5) * abs(val) + mpf(10) ** (-mp.dps), (h, k, r, err)
    return val * scale


def bvn_plackett(h, k, r):
    """The same by Plackett's identity, dP/drho = phi2(h, k, rho): for
    r >= 0, Phi(h) Phi(k) + int_0^r phi2; for r < 0, P(h, k, -1) + int_-1^r
    phi2, both terms positive. In theta = asin(rho), phi2 drho =
    exp(-g) dtheta / (2 pi); g is written without cancellation near
    theta = -pi/2, and the integrand is divided by its maximum."""
    if r >= 0:
        base, t0 = ncdf(h) * ncdf(k), mpf(0)
    else:
        base, t0 = max(mpf(0), ncdf(h) - ncdf(-k)), -pi / 2
    t1 = asin(r)
    if t1 == t0:
        return base

    def g(t):
        # (h^2 + k^2 - 2hk sin t) / (2 cos^2 t) as (h+k)^2/(2 cos^2 t) - hk/(1 - sin t)
        c = cos(t)
        if c == 0:
            return inf
        return (h + k) ** 2 / (2 * c * c) - h * k / (1 - sin(t))

    g_min = min(g(t0 + (t1 - t0) * i / 2000) for i in range(2001))
    pts = [t0 + (t1 - t0) * i / 60 for i in range(61)]
    return base + quad(lambda t: exp(g_min - g(t)), pts) * exp(-g_min) / (2 * pi)


def bvn_checked(h, k, r):
    v = bvn(h, k, r)
    if abs(r) < 1:
        w = bvn_plackett(h, k, r)
        assert abs(v - w) <= mpf("1e-25") * abs(v) + mpf(10) ** -1000, (h, k, r, v, w)
    return v


def c_double(v):
    return repr(float(v))


def table(name, rows):
    print(f"static const struct ref {name}[] = {{")
    for arg, val in rows:
        print(f"    {{{arg}, {c_double(val)}}},")
    print("};")


def check_hash_sums(source):
    text = open(source).read()
    for group, expect in HASH_SUMS.items():
        total = Decimal(0)
        for letter in group.lower():
            block = re.search(r"as241_%s\[8\] = \{(.*?)\};" % letter, text, re.S).group(1)
            # the denominators' leading 1.0 (no exponent) is not in the paper
            for lit in re.findall(r"[0-9.]+e[-+]?[0-9]+", block):
                total += Decimal(lit.split("e")[0])
        status = "ok" if str(total) == expect else "MISMATCH"
        print(f"AS 241 hash sum {group}: {total} ({status})", file=sys.stderr)
        if status != "ok":
            sys.exit(f"hash sum {group} is {total}, the paper says {expect}")


def gauss_legendre(n):
    """Positive nodes of the n-point Gauss-Legendre rule and their weights."""
    out = []
    for i in range(1, n // 2 + 1):
        x = findroot(lambda t: legendre(n, t), cos(pi * (i - mpf(1) / 4) / (n + mpf(1) / 2)))
        out.append((x, 2 / ((1 - x * x) * diff(lambda t: legendre(n, t), x) ** 2)))
    return out


def check_gauss_legendre(source):
    text = open(source).read()
    for n in (6, 12, 20):
        block = re.search(r"struct gl_rule gl_%d = \{(.*?)\};" % n, text, re.S).group(1)
        lits = [mpf(x) for x in re.findall(r"[0-9]\.[0-9]+(?:e[-+]?[0-9]+)?", block)]
        want = gauss_legendre(n)
        got = list(zip(lits[:n // 2], lits[n // 2:]))
        worst = max(max(abs(gx - x), abs(gw - w)) for (gx, gw), (x, w) in zip(got, want))
        ok = len(got) == len(want) and worst < mpf("1e-19")
        print(f"Gauss-Legendre {n}: largest difference {mp.nstr(worst, 3)} "
              f"({'ok' if ok else 'MISMATCH'})", file=sys.stderr)
        if not ok:
            sys.exit(f"Gauss-Legendre {n}-point rule in {source} is wrong")


def bvn_table():
    rows = [(h, k, r) for r in BVN_RHO for h, k in BVN_HK] + BVN_HARD + BVN_EDGES
    print("static const struct bvn_ref bvn_ref[] = {")
    for h, k, r in rows:
        v = bvn_checked(exact(h), exact(k), exact(r))
        print(f"    {{{h}, {k}, {r}, {float(v):.17g}}},")
    print("};")


def main():
    if len(sys.argv) > 1:
        check_hash_sums(sys.argv[1])
        check_gauss_legendre(sys.argv[1])
    print(f"/* mpmath {mp.dps} digits: see tests/tools/normal_reference.py */")
    table("quantile_ref", [(p, quantile(exact(p))) for p in QUANTILE_P])
    table("cdf_ref", [(x, ncdf(exact(x))) for x in CDF_X])
    table("sf_ref", [(x, ncdf(-exact(x))) for x in SF_X])
    table("pdf_ref", [(x, mp.npdf(exact(x))) for x in PDF_X])
    with mp.workdps(40):
        print(f"/* Bivariate: P(X <= h, Y <= k) at correlation rho, mpmath {mp.dps} digits by\n"
              " * integrating phi(x) Phi((k - rho x) / sqrt(1 - rho^2)) over x < h, checked\n"
              " * against Plackett's identity; see tests/tools/normal_reference.py (its\n"
              " * last table). Entries below 1e-308 print as 0 or a subnormal. */")
        bvn_table()


if __name__ == "__main__":
    main()
