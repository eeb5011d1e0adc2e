"""The multi-year horizon (docs/MODEL.md, Multi-year horizon) against an
independent answer.

A book of 12 homogeneous segments (4 regions x 3 sectors, one PD per
sector, 1,500 loans each) runs three years with factor autocorrelation 0.6,
a global factor shift that deepens year by year (isolated mode, so only the
global factor moves) and a PD multiplier that changes by year. Given the
model (docs/MODEL.md), a loan of segment s that has not defaulted yet
defaults in year t when a_s . z_t + w_s eps_t < c_{s,t}, with eps fresh
each year and a_s . x_t = sigma_s y_t, y an AR(1) of unit variance with the
same coefficient. So the expected number of segment s's loans that default
in year t is
    n_s E[ prod_{u<t} (1 - p_u(y_u)) p_t(y_t) ],
    p_t(y) = Phi((c_{s,t} - a_s,global shift_t - sigma_s y) / w_s),
a three-dimensional Gaussian integral, computed here by Gauss-Hermite
quadrature (numpy's hermegauss, 40 nodes a dimension) from the loadings
and correlations the result file records, not from the program's code.

Checks (fixed seed; tolerances from the Monte Carlo standard error of the
per-path counts, sample sd / sqrt(paths)):
 - each year's mean number of defaults, and the cumulative default rate of
   the book, within 3 standard errors of the integral, with either kernel;
 - every segment's cumulative default count within 4 (12 comparisons);
 - a defaulted loan leaves the book: no path defaults more loans of a
   segment than it has, even at PDs that would without;
 - per-year and cumulative datasets agree (loss_cumulative's last year is
   loss, its increments loss_by_year); 1 and 2 threads give the same bytes;
 - the factors follow the AR(1): each year's global factor has the year's
   shift as its mean and unit variance, consecutive years correlate by the
   autocorrelation, years two apart by its square (each within 4 standard
   errors: 1/sqrt(paths) for a mean, (1 - r^2)/sqrt(paths) for a
   correlation, sqrt(2/paths) for a variance).
"""
import math
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

BIN = os.environ.get("CASCADE_BINARY", "build/cascade")
REGIONS = ["r1", "r2", "r3", "r4"]
SECTORS = {"s1": 0.01, "s2": 0.03, "s3": 0.08}
PER_SEGMENT = 1500
PATHS = 4000
RHO = 0.6
SHIFT = [0.0, -0.5, -1.0]
MULT = {"s2": [1.0, 2.0, 1.5]}


def write_book(path, pd_of=SECTORS):
    lines = ["id,region,sector,ead,pd,lgd"]
    k = 0
    for r in REGIONS:
        for s, pd in pd_of.items():
            for _ in range(PER_SEGMENT):
                lines.append(f"L{k},{r},{s},1000000,{pd},0.45")
                k += 1
    path.write_text("\n".join(lines) + "\n")


def scenario(d, kernel, threads, book="book.csv", extra=""):
    text = f"""name: multiyear_{kernel}_{threads}
seed: 11
paths: {PATHS}
portfolio: {{file: {book}}}
model: {{horizon_years: 3, factor_autocorrelation: {RHO}}}
factor_shift_mode: isolated
shocks:
  - {{factor_shift: [{', '.join(map(str, SHIFT))}]}}
  - {{sector: s2, pd_multiplier: [{', '.join(map(str, MULT['s2']))}]}}
{extra}"""
    path = d / f"multiyear_{kernel}_{threads}.yaml"
    path.write_text(text)
    out = d / f"multiyear_{kernel}_{threads}.h5"
    subprocess.run([BIN, "run", str(path), "--kernel", kernel, "--threads", str(threads), "-q",
                    "-o", str(out)], check=True, capture_output=True, text=True)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("multiyear")
    write_book(d / "book.csv")
    return {(k, t): scenario(d, k, t) for k in ("dense", "sparse") for t in (1, 2)}, d


def norm_cdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def norm_ppf(p):
    # bisection on erfc: slow but independent of the program's inverse
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if norm_cdf(mid) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def stressed(pd, m):
    return m * pd / (1.0 - pd + m * pd)


def expected_by_year(f):
    """Expected defaults by (segment, year) from the integral."""
    seg_sector = [s.decode() for s in f["segment_sector"][:]]
    loans = f["portfolio_loans"][:]
    a = f["factor_loading"][:]
    corr = f["factor_correlation"][:]
    factors = [s.decode() for s in f["factor"][:]]
    g = factors.index("global")
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    s1 = math.sqrt(1 - RHO * RHO)
    y1 = nodes[:, None, None]
    y2 = RHO * y1 + s1 * nodes[None, :, None]
    y3 = RHO * y2 + s1 * nodes[None, None, :]
    w3 = weights[:, None, None] * weights[None, :, None] * weights[None, None, :]
    vcdf = np.vectorize(norm_cdf)
    out = np.zeros((len(loans), 3))
    for s in range(len(loans)):
        if loans[s] == 0:
            continue
        sigma = math.sqrt(a[s] @ corr @ a[s])
        w = math.sqrt(1 - sigma * sigma)
        sector = seg_sector[s]
        p = []
        for t, y in enumerate((y1, y2, y3)):
            c = norm_ppf(stressed(SECTORS[sector], MULT.get(sector, [1, 1, 1])[t]))
            p.append(vcdf((c - a[s][g] * SHIFT[t] - sigma * y) / w))
        alive = np.ones_like(w3)
        for t in range(3):
            out[s, t] = loans[s] * np.sum(w3 * alive * p[t])
            alive = alive * (1 - p[t])
    return out


def test_default_law_matches_the_integral(runs):
    files, _ = runs
    with h5py.File(files[("sparse", 2)], "r") as f:
        want = expected_by_year(f)
    for kernel in ("dense", "sparse"):
        with h5py.File(files[(kernel, 2)], "r") as f:
            by_year = f["defaults_by_year"][:].astype(float)
            n = f["portfolio_loans"][:].sum()
            mean, se = by_year.mean(0), by_year.std(0, ddof=1) / math.sqrt(PATHS)
            for t in range(3):
                z = (mean[t] - want[:, t].sum()) / se[t]
                print(f"{kernel} year {t + 1}: {mean[t]:.2f} defaults, integral "
                      f"{want[:, t].sum():.2f}, z {z:+.2f}")
                assert abs(z) < 3, (kernel, t, z)
            cum = by_year.sum(1) / n
            z = (cum.mean() - want.sum() / n) / (cum.std(ddof=1) / math.sqrt(PATHS))
            print(f"{kernel} cumulative default rate {cum.mean():.5f}, integral "
                  f"{want.sum() / n:.5f}, z {z:+.2f}")
            assert abs(z) < 3, (kernel, z)
            seg = f["defaults_by_segment"][:].astype(float)
            zs = (seg.mean(0) - want.sum(1)) / (seg.std(0, ddof=1) / math.sqrt(PATHS))
            print(f"{kernel} segments: largest |z| {np.abs(zs).max():.2f}")
            assert np.all(np.abs(zs) < 4), (kernel, zs)


def test_year_datasets_agree_and_threads_do_not_matter(runs):
    files, _ = runs
    for kernel in ("dense", "sparse"):
        with h5py.File(files[(kernel, 1)], "r") as a, h5py.File(files[(kernel, 2)], "r") as b:
            for name in ("loss", "loss_cumulative", "loss_by_year", "defaults_by_year",
                         "loss_by_segment", "es_cumulative", "es_by_year"):
                assert a[name][()].tobytes() == b[name][()].tobytes(), (kernel, name)
            cum, by_year, loss = a["loss_cumulative"][:], a["loss_by_year"][:], a["loss"][:]
            assert cum.shape == (PATHS, 3) and list(a["year"][:]) == [1, 2, 3]
            assert np.array_equal(cum[:, -1], loss)
            assert np.array_equal(np.diff(cum, axis=1), by_year[:, 1:])
            assert np.all(np.diff(cum, axis=1) >= 0)
            el = a["el_cumulative"][:]
            assert np.all(np.diff(el) > 0)
            assert el[-1] == pytest.approx(a["el"][()], rel=1e-12)
            assert a["defaults"][:].sum() == a["defaults_by_year"][:].sum()
            fv = a["factor_value_by_year"][:]
            assert np.array_equal(fv[:, 0, :], a["factor_value"][:])
            g = [s.decode() for s in a["factor"][:]].index("global")
            x = fv[:, :, g]
            n = len(x)
            for t in range(3):
                assert abs(x[:, t].mean() - SHIFT[t]) < 4 / math.sqrt(n), (kernel, t)
                assert abs(x[:, t].var() - 1) < 4 * math.sqrt(2 / n), (kernel, t)
            for lag, want in ((1, RHO), (2, RHO * RHO)):
                for t in range(3 - lag):
                    r = np.corrcoef(x[:, t], x[:, t + lag])[0, 1]
                    assert abs(r - want) < 4 * (1 - want * want) / math.sqrt(n), (kernel, lag, r)


def test_a_defaulted_loan_leaves_the_book(tmp_path):
    # PDs this high would default more loans than a segment has over three
    # years if defaulted loans stayed in the book
    write_book(tmp_path / "risky.csv", {"s1": 0.6, "s2": 0.7, "s3": 0.8})
    for kernel in ("dense", "sparse"):
        out = scenario(tmp_path, kernel, 2, book="risky.csv")
        with h5py.File(out, "r") as f:
            seg = f["defaults_by_segment"][:]
            loans = f["portfolio_loans"][:]
            assert np.all(seg <= loans), kernel
            # nearly the whole book goes, and ever fewer are left to default
            assert seg.sum(1).mean() > 0.9 * loans.sum(), kernel
            by_year = f["defaults_by_year"][:].mean(0)
            assert by_year[0] > by_year[1] > by_year[2], kernel
