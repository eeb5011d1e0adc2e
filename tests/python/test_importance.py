"""Importance sampling (docs/MODEL.md, Importance sampling) is unbiased and
cuts the variance of tail estimates.

A homogeneous book (one region, one sector, N loans of EAD 1 million, LGD
1, PD 2%) has an exact loss distribution given the recorded factor model:
a loan defaults when sigma y + w eps < c, y ~ N(0, 1) the book's systematic
term (sigma^2 = a' C a from factor_loading and factor_correlation), so the
number of defaults D is binomial(N, p(y)) given y, p(y) = Phi((c - sigma y)
/ w), and P(D > k) = E[P(binomial(N, p(y)) > k)], computed here by
Gauss-Hermite quadrature (numpy's hermegauss, 200 nodes) independently of
the program. With k the exact 99.9% quantile of D:

 - the weighted estimate sum(weight 1{L > VaR}) / paths of a run with
   importance_sampling {level: 0.999} is within 4 of its standard errors
   (sd of weight 1{L > VaR} / sqrt(paths)) of the exact probability, with
   the sparse and the dense kernel, and the mean weight within 4 standard
   errors of 1;
 - the run's VaR 99.9% interval holds the exact quantile, and its ES 99.9%
   interval the exact ES;
 - the variance per path of that estimate, mean(w^2 1{L > VaR}) - p^2, is
   at least 30 times below the plain p (1 - p);
 - the t copula (factor shift only, the mixing variable left alone), a
   three-year horizon and contagion: the weighted EL agrees with the EL
   of a plain run with the same seed (within 4 combined standard errors),
   and with the book's exact EL where there is one;
 - the result records the weights, the shift and how it was chosen, and
   `cascade verify` reproduces it.
"""
import math
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

BIN = os.environ.get("CASCADE_BINARY", "build/cascade")
SRC = Path(os.environ.get("CASCADE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
N = 2000
PD = 0.02
EAD = 1e6


# The normal distribution and the binomial, written out here (numpy has no
# erfc; the test needs nothing beyond Debian's python3-numpy).
_erfc = np.vectorize(math.erfc)


def ncdf(x):
    return 0.5 * _erfc(-np.asarray(x, dtype=float) / math.sqrt(2.0))


def nppf(p):
    """The normal quantile by bisection on erfc: slow, exact to rounding."""
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if 0.5 * math.erfc(-mid / math.sqrt(2.0)) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def binom_pmf(n, p):
    """pmf[k, j] = P(binomial(n, p[j]) = k), k = 0..n, from log-gamma."""
    k = np.arange(n + 1, dtype=float)
    logc = np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                     for i in range(n + 1)])
    lp = logc[:, None] + k[:, None] * np.log(p)[None, :] + (n - k)[:, None] * np.log1p(-p)[None, :]
    return np.exp(lp)


def write_book(path):
    lines = ["id,region,sector,ead,pd,lgd"]
    lines += [f"L{k},r1,s1,{EAD:.0f},{PD},1" for k in range(N)]
    path.write_text("\n".join(lines) + "\n")


def run(d, name, extra="", args=()):
    text = f"""name: {name}
seed: 5
paths: 4000
portfolio: {{file: book.csv}}
{extra}"""
    path = d / f"{name}.yaml"
    path.write_text(text)
    out = d / f"{name}.h5"
    subprocess.run([BIN, "run", str(path), "-q", "-o", str(out), *args], check=True,
                   capture_output=True, text=True)
    return out


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    d = tmp_path_factory.mktemp("importance")
    write_book(d / "book.csv")
    return d


def exact(f):
    """Exact distribution of the defaults D of the homogeneous book."""
    a = f["factor_loading"][0]
    c = f["factor_correlation"][:]
    sigma = math.sqrt(a @ c @ a)
    w = math.sqrt(1 - sigma * sigma)
    thr = nppf(PD)
    y, wt = np.polynomial.hermite_e.hermegauss(200)
    wt = wt / wt.sum()
    p = np.clip(ncdf((thr - sigma * y) / w), 1e-200, 1 - 1e-15)
    with np.errstate(under="ignore"):   # pmf terms far below 1e-300
        pmf = (binom_pmf(N, p) * wt[None, :]).sum(axis=1)
    return pmf / pmf.sum()


def quantile(pmf, a):
    cdf = np.cumsum(pmf)
    return int(np.searchsorted(cdf, a - 1e-12))


def es(pmf, a):
    """Acerbi-Tasche ES of D at level a (the exact distribution)."""
    k = quantile(pmf, a)
    tail = np.arange(k + 1, N + 1)
    return (pmf[k + 1:] @ tail + (1 - a - pmf[k + 1:].sum()) * k) / (1 - a)


@pytest.mark.parametrize("kernel", ["sparse", "dense"])
def test_tail_probability_is_unbiased_and_far_less_variable(d, kernel):
    out = run(d, f"is_{kernel}", "importance_sampling: {level: 0.999}", ["--kernel", kernel])
    with h5py.File(out, "r") as f:
        pmf = exact(f)
        loss, wgt = f["loss"][:], f["weight"][:]
        levels = list(f["level"][:])
        j = levels.index(0.999)
        var, var_lo, var_hi = f["var"][j], f["var_lo"][j], f["var_hi"][j]
        es_lo, es_hi = f["es_lo"][j], f["es_hi"][j]
        assert f.attrs["importance_sampling"].startswith("factor shift to the design point of level")
        assert f["importance_distance"][()] == pytest.approx(nppf(0.999), rel=1e-12)
        assert np.linalg.norm(f["importance_shift"][:]) == pytest.approx(f["importance_distance"][()])
    m = len(loss)
    assert abs(wgt.mean() - 1) <= 4 * wgt.std(ddof=1) / math.sqrt(m)
    k = quantile(pmf, 0.999)
    p_exact = pmf[k + 1:].sum()
    hit = wgt * (loss > k * EAD)
    p_hat, se = hit.mean(), hit.std(ddof=1) / math.sqrt(m)
    assert abs(p_hat - p_exact) <= 4 * se, (p_hat, p_exact, se)
    assert var_lo <= k * EAD <= var_hi, (var_lo / EAD, k, var_hi / EAD, var / EAD)
    assert es_lo <= es(pmf, 0.999) * EAD <= es_hi
    is_var = (hit ** 2).mean() - p_exact ** 2
    plain_var = p_exact * (1 - p_exact)
    assert plain_var / is_var >= 30, plain_var / is_var


def el_and_se(path):
    with h5py.File(path, "r") as f:
        return f["el"][()], f["el_se"][()]


@pytest.mark.parametrize("case,extra", [
    ("t", "model: {copula: t, degrees_of_freedom: 5}"),
    ("three_years", "model: {horizon_years: 3}"),
])
def test_weighted_el_matches_plain_and_exact(d, case, extra):
    plain = run(d, f"plain_{case}", extra)
    weighted = run(d, f"weighted_{case}", extra + "\nimportance_sampling: {level: 0.99}")
    (e0, s0), (e1, s1) = el_and_se(plain), el_and_se(weighted)
    assert abs(e1 - e0) <= 4 * math.hypot(s0, s1), (e0, e1, s0, s1)
    if case == "t":   # one year: EL = N EAD PD exactly
        assert abs(e1 - N * EAD * PD) <= 4 * s1


def test_contagion_weighted_matches_plain(tmp_path):
    args = ["--loans", "20000", "--paths", "3000", "-q"]
    sc = SRC / "scenarios" / "baseline_contagion.yaml"
    a, b = tmp_path / "plain.h5", tmp_path / "is.h5"
    subprocess.run([BIN, "run", str(sc), *args, "-o", str(a)], check=True, capture_output=True)
    subprocess.run([BIN, "run", str(sc), *args, "-o", str(b), "--importance-sampling", "0.99"],
                   check=True, capture_output=True)
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        for name in ("el", "el_contagion"):
            x, y = fa[name][()], fb[name][()]
            sx, sy = fa[name + "_se"][()], fb[name + "_se"][()]
            assert abs(x - y) <= 4 * math.hypot(sx, sy), (name, x, y, sx, sy)
        j = list(fa["level"][:]).index(0.99)
        # the tail: the weighted ES 99% is the sharper one, and they agree
        assert fb["es_se"][j] < fa["es_se"][j]
        assert abs(fa["es"][j] - fb["es"][j]) <= 4 * math.hypot(fa["es_se"][j], fb["es_se"][j])


def test_verify_reproduces_a_weighted_run(d):
    out = run(d, "is_verify", "importance_sampling: {loss: 9.0e7}")
    with h5py.File(out, "r") as f:
        assert "loss 90000000" in f.attrs["importance_sampling"]
        assert f["importance_design_loss"][()] == pytest.approx(9.0e7, rel=1e-6)
    r = subprocess.run([BIN, "verify", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_bad_importance_sampling_is_refused(d):
    for text, want in [("importance_sampling: {level: 1.5}", "importance_sampling.level"),
                       ("importance_sampling: {level: 0.99, loss: 5}", "expected one of level and loss"),
                       ("importance_sampling: maybe", "importance_sampling"),
                       ("importance_sampling: {loss: 1e15}",
                        "bad.yaml:3:29: importance_sampling.loss: a loss of 1e+15 CNY is out of reach")]:
        path = d / "bad.yaml"
        path.write_text(f"name: bad\nportfolio: {{file: book.csv}}\n{text}\n")
        out = d / "bad.h5"
        r = subprocess.run([BIN, "run", str(path), "-q", "-o", str(out)], capture_output=True,
                           text=True)
        assert r.returncode != 0 and want in r.stderr, (text, r.stderr)
        assert not out.exists()
        # validate finds the same (the loss out of reach too)
        r = subprocess.run([BIN, "validate", str(path)], capture_output=True, text=True)
        assert r.returncode != 0 and want in r.stderr, ("validate", text, r.stderr)
    r = subprocess.run([BIN, "run", str(path), "--importance-sampling", "2"], capture_output=True,
                       text=True)
    assert r.returncode != 0 and "--importance-sampling" in r.stderr


def test_reverse_stress_scenario_reaches_its_loss(tmp_path):
    """`cascade reverse` at the default book's VaR 99.9% (from a weighted run)
    writes a scenario whose run's mean loss is within 10% of that loss; the
    scenario names its factor moves, and the printout reads them out."""
    args = ["--loans", "20000", "-q"]
    sc = SRC / "scenarios" / "baseline.yaml"
    base = tmp_path / "base.h5"
    subprocess.run([BIN, "run", str(sc), *args, "--paths", "4000", "--importance-sampling",
                    "0.999", "-o", str(base)], check=True, capture_output=True)
    with h5py.File(base, "r") as f:
        target = f["var"][list(f["level"][:]).index(0.999)]
    out = tmp_path / "rev.yaml"
    r = subprocess.run([BIN, "reverse", str(sc), "--loans", "20000", "--loss", repr(target),
                        "-o", str(out)], check=True, capture_output=True, text=True)
    assert "most likely factor moves" in r.stdout and " SD" in r.stdout
    assert "global (" not in r.stdout and "(region)" in r.stdout
    text = out.read_text()
    assert "name: \"baseline_reverse\"" in text and "factor_shift:" in text
    res = tmp_path / "rev.h5"
    subprocess.run([BIN, "run", str(out), "--loans", "20000", "--paths", "4000", "-q", "-o",
                    str(res)], check=True, capture_output=True)
    with h5py.File(res, "r") as f:
        el = f["el"][()]
    assert abs(el / target - 1) < 0.10, (el, target)
    # the scenario's factor means are the design point's direction: every
    # factor moves adversely
    with h5py.File(res, "r") as f:
        assert np.all(f["factor_shift"][:] < 0)
    # refusing to overwrite its input, and a loss out of reach
    r = subprocess.run([BIN, "reverse", str(out), "--loans", "20000", "--loss", "1e6", "-o",
                        str(out)], capture_output=True, text=True)
    assert r.returncode == 2 and "overwrite" in r.stderr
    r = subprocess.run([BIN, "reverse", str(sc), "--loans", "20000", "--loss", "1e15", "-o",
                        str(tmp_path / "no.yaml")], capture_output=True, text=True)
    assert r.returncode == 3 and "out of reach" in r.stderr
    assert not (tmp_path / "no.yaml").exists()


def basel_k(pd, lgd, m, cls):
    """Basel II (June 2006) paragraphs 272 and 328-330, written out here
    independently of the program's irb.c."""
    pd = max(pd, 0.0003)
    e = (1 - math.exp(-50 * pd)) / (1 - math.exp(-50))
    if cls == "corporate":
        r = 0.12 * e + 0.24 * (1 - e)
    else:   # other retail
        e = (1 - math.exp(-35 * pd)) / (1 - math.exp(-35))
        r = 0.03 * e + 0.16 * (1 - e)
    k = lgd * ncdf((nppf(pd) + math.sqrt(r) * nppf(0.999)) / math.sqrt(1 - r)) - pd * lgd
    if cls == "corporate":
        b = (0.11852 - 0.05478 * math.log(pd)) ** 2
        k *= (1 + (m - 2.5) * b) / (1 - 1.5 * b)
    return k


@pytest.mark.parametrize("cls,m", [("corporate", 2.5), ("corporate", 4.0), ("other_retail", 2.5)])
def test_analytic_cross_checks(d, cls, m):
    """The Vasicek quantile and the IRB capital of the homogeneous book,
    against the formulas written out here; the exact finite-book quantile
    of D approaches the Vasicek one (2,000 loans: within 5%)."""
    out = run(d, f"analytic_{cls}_{m}", f"model: {{irb_class: {cls}, irb_maturity: {m}}}\n"
              "importance_sampling: {level: 0.999}")
    with h5py.File(out, "r") as f:
        a = f["factor_loading"][0]
        r = float(a @ f["factor_correlation"][:] @ a)
        levels = list(f["level"][:])
        vq = f["vasicek_quantile_by_segment"][:, 0]
        assert f["model_correlation_by_segment"][0] == pytest.approx(r, rel=1e-12)
        for j, q in enumerate(levels):
            want = N * EAD * ncdf((nppf(PD) + math.sqrt(r) * nppf(q)) / math.sqrt(1 - r))
            assert vq[j] == pytest.approx(want, rel=1e-9)
            assert f["vasicek_quantile_sum"][j] == pytest.approx(want, rel=1e-9)
        assert f["irb_capital"][()] == pytest.approx(N * EAD * basel_k(PD, 1.0, m, cls), rel=1e-9)
        assert f["irb_risk_weighted_assets"][()] == pytest.approx(12.5 * f["irb_capital"][()])
        assert f["irb_class_by_segment"][0].decode() == cls
        pmf = exact(f)
        j = levels.index(0.999)
        assert abs(quantile(pmf, 0.999) * EAD / vq[j] - 1) < 0.05
        # and the weighted simulation's VaR holds the exact finite-book quantile
        assert f["var_lo"][j] <= quantile(pmf, 0.999) * EAD <= f["var_hi"][j]


def test_python_tools_weight_the_paths(d):
    """analysis/cascade_results.py reads the weights: the weighted mean of
    the per-path losses is the file's el, and the exceedance curve it plots
    gives the weighted tail probability at VaR 99.9% (about 0.001), not the
    share of paths beyond it (about half, under the shift)."""
    import sys
    sys.path.insert(0, str(SRC / "analysis"))
    import cascade_results as cr
    out = run(d, "is_python", "importance_sampling: {level: 0.999}")
    ds = cr.open_results([str(out)])
    w = cr.path_weights(ds).iloc[:, 0].to_numpy()
    loss = cr.per_path(ds).iloc[:, 0].to_numpy()
    with h5py.File(out, "r") as f:
        assert np.array_equal(w, f["weight"][:])
        assert (w * loss).sum() / len(loss) == pytest.approx(f["el"][()], rel=1e-12)
        var = f["var"][list(f["level"][:]).index(0.999)]
    fig = cr.plot_exceedance(ds)
    x, p = fig.axes[0].lines[0].get_data()
    at = np.searchsorted(x, var / cr.money_scale("CNY")[0])
    assert 0.0005 < p[at] < 0.002, p[at]
    assert (loss >= var).mean() > 0.1   # the shift put many paths there


def test_tail_estimates_converge_as_paths_grow(d):
    """Plain runs of 2,000 and 32,000 paths of the homogeneous book, 8
    seeds each: VaR and ES at 99% and 99.9% within 4 standard errors of the
    exact values in every run with at least 20 paths beyond the level (VaR:
    plus one loan, the loss's step; with 2 paths beyond 99.9%, as at 2,000
    paths, the standard error is itself a guess from 2 values: over 60
    seeds the ES missed by more than 4 of them in 4 to 8 runs, with either
    of the sparse kernel's streams, so such a run is checked by the
    convergence below instead); over
    sixteen times the paths the mean absolute error and the mean width of
    the 95% interval shrink by at least 2 (by 4 when the sampling error
    falls as 1 / sqrt(paths); more for intervals, which are wide and
    skewed when few paths lie beyond VaR: at 2,000 paths two beyond 99.9%)."""
    err, width = {}, {}
    for paths in (2000, 32000):
        for seed in range(8):
            out = run(d, f"converge_{paths}_{seed}", "", ["--paths", str(paths), "--seed", str(seed)])
            with h5py.File(out, "r") as f:
                pmf = exact(f)
                levels = list(f["level"][:])
                for a in (0.99, 0.999):
                    j = levels.index(a)
                    v, e = quantile(pmf, a) * EAD, es(pmf, a) * EAD
                    if (1 - a) * paths >= 20:
                        assert abs(f["var"][j] - v) <= 4 * f["var_se"][j] + EAD, (paths, a, f["var"][j], v)
                        assert abs(f["es"][j] - e) <= 4 * f["es_se"][j], (paths, a, f["es"][j], e)
                    err.setdefault((paths, a), []).append((abs(f["var"][j] - v), abs(f["es"][j] - e)))
                    width.setdefault((paths, a), []).append(
                        (f["var_hi"][j] - f["var_lo"][j], f["es_hi"][j] - f["es_lo"][j]))
    for a in (0.99, 0.999):
        e_ratio = np.mean(err[2000, a], axis=0) / np.mean(err[32000, a], axis=0)
        w_ratio = np.mean(width[2000, a], axis=0) / np.mean(width[32000, a], axis=0)
        print(a, e_ratio, w_ratio)
        assert np.all(e_ratio >= 2) and np.all(w_ratio >= 2), (a, e_ratio, w_ratio)


def test_defensive_mixture_keeps_el_and_the_tail(d):
    """importance_sampling with plain_share 0.5: half the paths drawn
    without the shift (the deterministic defensive mixture, docs/MODEL.md).
    The tail probability stays unbiased (4 s.e. of the exact), its variance
    per path stays at least 10 times below plain, and EL's standard error
    stays within 1.6 times a plain run's (the weights are at most 1 / 0.5),
    where the pure shift's is several times it."""
    plain = run(d, "mix_plain", "")
    pure = run(d, "mix_pure", "importance_sampling: {level: 0.999}")
    mix = run(d, "mix_half", "importance_sampling: {level: 0.999, plain_share: 0.5}")
    with h5py.File(mix, "r") as f:
        pmf = exact(f)
        loss, w = f["loss"][:], f["weight"][:]
        assert w.max() <= 2.0 + 1e-12
        assert "defensive mixture" in f.attrs["importance_sampling"]
        el_mix = f["el_se"][()]
    k = quantile(pmf, 0.999)
    p_exact = pmf[k + 1:].sum()
    hit = w * (loss > k * EAD)
    assert abs(hit.mean() - p_exact) <= 4 * hit.std(ddof=1) / math.sqrt(len(loss))
    assert p_exact * (1 - p_exact) / ((hit ** 2).mean() - p_exact ** 2) >= 10
    el_plain, el_pure = el_and_se(plain)[1], el_and_se(pure)[1]
    assert el_mix <= 1.6 * el_plain, (el_mix, el_plain)
    assert el_pure >= 2 * el_mix, (el_pure, el_mix)
    r = subprocess.run([BIN, "verify", str(mix)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_weighted_and_plain_runs_are_not_paired(d):
    """A weighted run and a plain one of the same seed and book drew other
    normals on their shifted paths: `cascade compare` treats them as
    independent runs (docs/OUTPUT.md, Comparing), and pairs two runs with
    the same importance sampling."""
    plain = run(d, "pair_plain", "")
    weighted = run(d, "pair_is", "importance_sampling: {level: 0.99}")
    weighted2 = run(d, "pair_is2", "importance_sampling: {level: 0.99}\nshocks: [{pd_multiplier: 1.5}]")
    text = subprocess.run([BIN, "compare", str(plain), str(weighted)], check=True,
                          capture_output=True, text=True).stdout
    assert text.splitlines()[2].rstrip().endswith("indep."), text
    text = subprocess.run([BIN, "compare", str(weighted), str(weighted2)], check=True,
                          capture_output=True, text=True).stdout
    assert "CRN x" in text.splitlines()[2], text


def test_a_shift_beyond_the_paths_warns_and_records_its_weights(d):
    """The weights' mean and effective sample size are recorded, the mean
    within its Monte Carlo error of 1 at 99.9% (4 standard errors of the
    sample mean); a shift 8.2 standard deviations out (level 1 - 1e-16)
    leaves a mean weight orders of magnitude below 1, and the run warns,
    even when quiet (it wrote figures with no warning before)."""
    out = run(d, "is_diag", "importance_sampling: {level: 0.999}")
    with h5py.File(out, "r") as f:
        w = f["weight"][:]
        assert f["importance_mean_weight"][()] == pytest.approx(w.mean(), rel=1e-12)
        assert f["importance_effective_paths"][()] == pytest.approx(w.sum() ** 2 / (w * w).sum(), rel=1e-12)
        assert abs(w.mean() - 1) <= 4 * w.std(ddof=1) / math.sqrt(len(w))
    path = d / "far.yaml"
    path.write_text("name: far\nportfolio: {file: book.csv}\n"
                    "importance_sampling: {level: 0.9999999999999999}\n")
    out = d / "far.h5"
    r = subprocess.run([BIN, "run", str(path), "-q", "--paths", "200", "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "warning: importance sampling: the paths' weights average" in r.stderr, r.stderr
    with h5py.File(out, "r") as f:
        assert f["importance_mean_weight"][()] < 0.1
