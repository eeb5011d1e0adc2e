#!/usr/bin/python3
"""Reference values for tests/test_normal.c, computed with mpmath.

Run with Debian's interpreter (/usr/bin/python3, package python3-mpmath):

    /usr/bin/python3 tests/tools/normal_reference.py sim/normal.c > /tmp/normal_ref.c

It prints C tables to paste into tests/test_normal.c. Every argument is
first rounded to a double (the value the C literal denotes), and the
reference is computed from that exact double at 50 significant digits, so
a table entry is the correctly rounded answer for the double the test
passes in. Quantiles are found by solving log Phi(x) = log p (or, for
p > 1/2, log Phi(-x) = log(1 - p) with 1 - p taken exactly), so tiny
tail probabilities keep full relative precision.

Given the path of sim/normal.c, it also recomputes the check sums that
Wichura printed with the AS 241 coefficients (sums of the coefficient
mantissas) to guard the transcription, and reports them on stderr.
"""
from decimal import Decimal
import re
import sys

from mpmath import mp, mpf, ncdf, log, findroot, sqrt

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


def main():
    if len(sys.argv) > 1:
        check_hash_sums(sys.argv[1])
    print(f"/* mpmath {mp.dps} digits: see tests/tools/normal_reference.py */")
    table("quantile_ref", [(p, quantile(exact(p))) for p in QUANTILE_P])
    table("cdf_ref", [(x, ncdf(exact(x))) for x in CDF_X])
    table("sf_ref", [(x, ncdf(-exact(x))) for x in SF_X])
    table("pdf_ref", [(x, mp.npdf(exact(x))) for x in PDF_X])


if __name__ == "__main__":
    main()
