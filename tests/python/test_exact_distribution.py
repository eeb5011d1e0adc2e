"""The whole loss distribution of a small heterogeneous book against its
exact value, computed here from the model as docs/MODEL.md states it, not
from the program's code: what a second, independent program would give
on the same book and scenario.

The book: one region, two sectors (alpha, beta) of 60 loans each, PDs from
0.3% to 10%, EADs 4, 8 or 12 CNY, LGD 0.5. The factor model: a global
factor and one factor per sector, independent, with loadings that differ
by sector. The scenario shifts alpha's sector factor by -1 SD, multiplies
beta's odds of default by 2 and adds 0.25 to its LGD, so every loss is a
whole number of CNY (alpha 2, 4, 6; beta 3, 6, 9).

By the model (docs/MODEL.md: Factor model, Shocks), loan i of sector k
defaults when a_g G + a_k S_k + b_k eps_i < Phi^-1(PD'_i), with
PD'/(1 - PD') = m PD/(1 - PD), b_k = sqrt(1 - a_g^2 - a_k^2), G ~ N(0, 1),
S_alpha ~ N(-1, 1), S_beta ~ N(0, 1). Given G and S_k the sector's loans
default independently, so its loss distribution given (G, S_k) is a
convolution of two-point laws; integrating S_k out (Gauss-Hermite), then
convolving the two sectors given G and integrating G out gives the exact
probability of every loss. The quadrature is checked against a finer one.

Checks, on one fixed seed, for the dense and the sparse kernel:
 - the analytic EL the program reports equals the exact mean to 1e-9
   (deterministic: both are integrals);
 - a chi-square test of the simulated losses against the exact law, bins
   of at least 25 expected paths, at a significance of 1e-6 (Wilson-
   Hilferty's approximation of the critical value);
 - the tail probabilities P(L > x) at the exact 90%, 99%, 99.9% and 99.99%
   quantiles, each within 4.5 binomial standard errors;
 - EL and ES at 99% and 99.9% as the file reports them, each within 4.5
   of its reported standard errors of the exact value; the reported VaR is
   the empirical quantile of the file's losses, and the exact VaR lies
   within the 4.5-sigma band of order statistics around it.
With 200,000 paths (sparse kernel, 2026-12-03) the chi-square is 240 on
237 degrees of freedom, critical value 355. Reference laws built with a
deliberate mistake, against the same simulated losses: beta's PD doubled
instead of its odds 819 (critical 359); odds multiplied by 1.9 instead
of 2: 410 (352); the shift of +1 instead of -1: 56,700; on beta's factor
instead of alpha's: 81,400; loadings squared (taken for correlations):
1.6 million; the LGD add-on left out: 22,700. A program that made any of
these mistakes would fail the test.

The same for the Student-t copula (docs/MODEL.md, Copulas) on a one-factor
book of 40 loans, nu 4, odds x 1.5: loan i defaults when
sqrt(nu / W) X_i < t_nu^-1(PD'_i), W ~ chi2(nu) one per path, that is when
X_i < sqrt(W / nu) t_nu^-1(PD'_i); given W and the factor the loans are
independent, and W is integrated out by the trapezoidal rule in log W
(the t distribution function of nu 4 in closed form, inverted by
bisection). Here the exact 99.9% loss is 88 CNY against 58 for the
Gaussian copula at the same correlation; on the sparse kernel's losses
the chi-square is 44 on 50 degrees of freedom (critical 113), against
the Gaussian law 34,500 (critical 89), which the test asserts.
"""
import math
import os
import subprocess
from statistics import NormalDist

import h5py
import numpy as np
import pytest

BIN = os.environ.get("CASCADE_BINARY", "build/cascade")
PATHS = 200_000
PER_SECTOR = 60
PDS = [0.003, 0.01, 0.02, 0.05, 0.1]
EADS = [4.0, 8.0, 12.0]
LGD = 0.5
LOAD = {"alpha": (0.45, 0.30), "beta": (0.30, 0.50)}   # (global, sector)
SHIFT = {"alpha": -1.0, "beta": 0.0}                  # the sector factor's mean
ODDS = {"alpha": 1.0, "beta": 2.0}
LGD_ADD = {"alpha": 0.0, "beta": 0.25}
SCENARIO = """\
name: exact
seed: 20261203
paths: {paths}
portfolio: {{file: book.csv}}
classification: {{regions: [north], sectors: [alpha, beta]}}
model:
  factors: [{{name: global}}, {{name: sector, by: sector}}]
  loadings:
    alpha: {{global: 0.45, sector: 0.30}}
    beta: {{global: 0.30, sector: 0.50}}
shocks:
  - {{sector: alpha, factor_shift: -1.0}}
  - {{sector: beta, pd_multiplier: 2.0, lgd_add: 0.25}}
"""

PHI = np.vectorize(lambda x: 0.5 * math.erfc(-x / math.sqrt(2.0)))


def loans():
    """(sector, pd, ead) of every loan, in the CSV's order."""
    out = []
    for s in ("alpha", "beta"):
        for j in range(PER_SECTOR):
            out.append((s, PDS[j % len(PDS)], EADS[(j // len(PDS)) % len(EADS)]))
    return out


def gauss(n):
    """Nodes and weights of E f(Z), Z ~ N(0, 1) (probabilists' Hermite)."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / math.sqrt(2.0 * math.pi)


def exact_pmf(n):
    """P(L = l) for l = 0, 1, ... by quadrature with n nodes a factor."""
    g, wg = gauss(n)
    by_sector = []
    for s in ("alpha", "beta"):
        ag, ak = LOAD[s]
        b = math.sqrt(1.0 - ag * ag - ak * ak)
        z, wz = gauss(n)
        z = z + SHIFT[s]
        book = [(pd, ead) for sec, pd, ead in loans() if sec == s]
        units = [int(round(ead * (LGD + LGD_ADD[s]))) for _, ead in book]
        pmf = np.zeros((n, n, sum(units) + 1))
        pmf[:, :, 0] = 1.0
        for (pd, _), u in zip(book, units):
            m = ODDS[s]
            c = NormalDist().inv_cdf(m * pd / (1.0 - pd + m * pd))
            p = PHI((c - ag * g[:, None] - ak * z[None, :]) / b)[:, :, None]
            moved = np.zeros_like(pmf)
            moved[:, :, u:] = pmf[:, :, :-u]
            pmf = pmf * (1.0 - p) + moved * p
        by_sector.append(np.einsum("gzl,z->gl", pmf, wz))
    total = np.zeros(by_sector[0].shape[1] + by_sector[1].shape[1] - 1)
    for i in range(n):
        total += wg[i] * np.convolve(by_sector[0][i], by_sector[1][i])
    return total


@pytest.fixture(scope="module")
def exact():
    pmf = exact_pmf(48)
    finer = exact_pmf(72)
    assert abs(pmf.sum() - 1.0) < 1e-12
    assert np.max(np.abs(pmf - finer)) < 1e-10, "the quadrature has not converged"
    return pmf


@pytest.fixture(scope="module", params=["dense", "sparse"])
def result(request, tmp_path_factory):
    rows = [f"L{i},north,{s},{ead:g},{pd:g},{LGD:g}" for i, (s, pd, ead) in enumerate(loans())]
    return run_book(tmp_path_factory, rows, SCENARIO, "exact", request.param,
                    STATISTICS + ("factor_shift",))


def quantile(pmf, a):
    return int(np.searchsorted(np.cumsum(pmf), a))


def expected_shortfall(pmf, a):
    """Acerbi and Tasche's ES of a discrete law: the mean of its worst 1 - a."""
    q = quantile(pmf, a)
    x = np.arange(len(pmf))
    above = float(np.sum(x[q + 1:] * pmf[q + 1:]))
    return (above + q * (float(np.sum(pmf[:q + 1])) - a)) / (1.0 - a)


def check_var_es(r, pmf):
    """VaR: the file's is the empirical quantile L(ceil(a M)) of its own
    losses (docs/OUTPUT.md), and the exact quantile lies within the order
    statistics a M -+ 4.5 sqrt(M a (1 - a)) (distribution-free, so right
    for a discrete law too, where the file's order-statistic standard
    error can be 0: its band falls on one value). ES and EL: within 4.5 of
    their reported standard errors."""
    loss = np.sort(r["loss"])
    mean = float(np.sum(np.arange(len(pmf)) * pmf))
    assert abs(r["el"] - mean) <= 4.5 * r["el_se"], (r["kernel"], r["el"], mean)
    levels = list(np.round(r["level"], 6))
    for a in (0.99, 0.999):
        i = levels.index(a)
        q, es = quantile(pmf, a), expected_shortfall(pmf, a)
        assert r["var"][i] == loss[math.ceil(a * PATHS) - 1], (r["kernel"], a)
        band = 4.5 * math.sqrt(PATHS * a * (1.0 - a))
        lo, hi = loss[math.floor(a * PATHS - band) - 1], loss[math.ceil(a * PATHS + band) - 1]
        assert lo <= q <= hi, (r["kernel"], a, lo, q, hi)
        assert abs(r["es"][i] - es) <= 4.5 * r["es_se"][i], (r["kernel"], a, r["es"][i], es)


def chi_square(loss, pmf):
    """(statistic, degrees of freedom, critical value at 1e-6): bins of
    consecutive losses with at least 25 expected paths each."""
    counts = np.bincount(loss, minlength=len(pmf))
    assert len(counts) == len(pmf), "a loss above the book's largest"
    chi2, bins, obs, exp_ = 0.0, 0, 0, 0.0
    for k in range(len(pmf)):
        obs += counts[k]
        exp_ += PATHS * pmf[k]
        if exp_ >= 25.0 and PATHS * pmf[k + 1:].sum() >= 25.0:
            chi2 += (obs - exp_) ** 2 / exp_
            bins, obs, exp_ = bins + 1, 0, 0.0
    chi2 += (obs - exp_) ** 2 / exp_
    df = bins
    z = 4.753   # the standard normal's 1 - 1e-6 quantile
    critical = df * (1.0 - 2.0 / (9.0 * df) + z * math.sqrt(2.0 / (9.0 * df))) ** 3
    return chi2, df, critical


def run_book(tmp_path_factory, rows, text, name, kernel, datasets):
    """Writes the book (CSV rows after the header) and the scenario, runs
    it with this kernel and returns the datasets asked for, and the kernel."""
    d = tmp_path_factory.mktemp(name)
    (d / "book.csv").write_text("\n".join(["id,region,sector,ead,pd,lgd"] + rows) + "\n")
    (d / f"{name}.yaml").write_text(text.format(paths=PATHS))
    out = d / f"{kernel}.h5"
    subprocess.run([BIN, "run", str(d / f"{name}.yaml"), "--kernel", kernel, "-q", "-o", str(out)],
                   check=True)
    with h5py.File(out, "r") as f:
        r = {k: f[k][()] for k in datasets}
    r["kernel"] = kernel
    return r


STATISTICS = ("loss", "el", "el_se", "var", "var_se", "es", "es_se", "stressed_expected_loss", "level")


def lattice(r):
    """The path losses as whole CNY (every loss of these books is one)."""
    loss = np.rint(r["loss"]).astype(np.int64)
    assert np.all(np.abs(r["loss"] - loss) < 1e-9), "losses off the whole-CNY lattice"
    return loss


def check_analytic_el(r, pmf):
    mean = float(np.sum(np.arange(len(pmf)) * pmf))
    assert abs(float(np.sum(r["stressed_expected_loss"])) - mean) < 1e-9 * mean


def check_chi_square(r, pmf):
    chi2, df, critical = chi_square(lattice(r), pmf)
    assert chi2 < critical, f"{r['kernel']}: chi-square {chi2:.1f} on {df} df, critical {critical:.1f}"


def check_tails(r, pmf):
    loss = lattice(r)
    for a in (0.9, 0.99, 0.999, 0.9999):
        x = quantile(pmf, a)
        p = float(pmf[x + 1:].sum())
        got = float(np.mean(loss > x))
        se = math.sqrt(p * (1.0 - p) / PATHS)
        assert abs(got - p) <= 4.5 * se, f"{r['kernel']}: P(L > {x}) {got:.3g}, exact {p:.3g} (se {se:.2g})"


def test_the_scenario_is_read_as_documented(result):
    # sector.alpha is the shifted factor; nothing else moves (independent factors)
    assert list(result["factor_shift"]) == [0.0, -1.0, 0.0]


def test_analytic_el_is_the_exact_mean(result, exact):
    check_analytic_el(result, exact)


def test_losses_follow_the_exact_law(result, exact):
    check_chi_square(result, exact)


def test_tail_probabilities(result, exact):
    check_tails(result, exact)


def test_reported_statistics(result, exact):
    check_var_es(result, exact)


# --- Student-t copula ------------------------------------------------------

T_LOANS = 40
T_NU = 4
T_LOADING = 0.45
T_ODDS = 1.5
T_SCENARIO = """\
name: exact_t
seed: 20261204
paths: {paths}
portfolio: {{file: book.csv}}
classification: {{regions: [north], sectors: [alpha]}}
model:
  copula: t
  degrees_of_freedom: 4
  factors: [{{name: systematic, loading: 0.45}}]
shocks:
  - {{pd_multiplier: 1.5}}
"""


def t4_cdf(t):
    """The t distribution function with 4 degrees of freedom, closed form."""
    s = t / math.sqrt(1.0 + t * t / 4.0)
    return 0.5 + 0.375 * s * (1.0 - t * t / (12.0 * (1.0 + t * t / 4.0)))


def t4_quantile(p):
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if t4_cdf(mid) < p else (lo, mid)
    return 0.5 * (lo + hi)


def t_loans():
    return [(PDS[j % len(PDS)], EADS[(j // len(PDS)) % len(EADS)]) for j in range(T_LOANS)]


def exact_t_pmf(n, step, gaussian=False):
    """P(L = l) under the t copula: n Gauss-Hermite nodes for the factor,
    the trapezoidal rule with this step in log W for chi2(4) (density of
    y = log W: e^(2y) e^(-e^y / 2) / 4). gaussian: the Gaussian copula's law
    instead (W fixed at nu), for the test's own power."""
    g, wg = gauss(n)
    if gaussian:
        w, ww = np.array([float(T_NU)]), np.array([1.0])
    else:
        y = np.arange(-16.0, 4.5 + 1e-9, step)
        w = np.exp(y)
        ww = step * np.exp(2.0 * y - w / 2.0) / 4.0
    b = math.sqrt(1.0 - T_LOADING ** 2)
    units = [int(round(ead * LGD)) for _, ead in t_loans()]
    pmf = np.zeros((len(w), n, sum(units) + 1))
    pmf[:, :, 0] = 1.0
    for (pd, _), u in zip(t_loans(), units):
        pd2 = T_ODDS * pd / (1.0 - pd + T_ODDS * pd)
        c = NormalDist().inv_cdf(pd2) if gaussian else t4_quantile(pd2)
        p = PHI((np.sqrt(w / T_NU)[:, None] * c - T_LOADING * g[None, :]) / b)[:, :, None]
        moved = np.zeros_like(pmf)
        moved[:, :, u:] = pmf[:, :, :-u]
        pmf = pmf * (1.0 - p) + moved * p
    return np.einsum("wgl,w,g->l", pmf, ww, wg)


@pytest.fixture(scope="module")
def exact_t():
    pmf = exact_t_pmf(48, 0.1)
    finer = exact_t_pmf(72, 0.05)
    assert abs(pmf.sum() - 1.0) < 1e-10
    assert np.max(np.abs(pmf - finer)) < 1e-10, "the quadrature has not converged"
    return pmf


@pytest.fixture(scope="module", params=["dense", "sparse"])
def result_t(request, tmp_path_factory):
    rows = [f"T{i},north,alpha,{ead:g},{pd:g},{LGD:g}" for i, (pd, ead) in enumerate(t_loans())]
    return run_book(tmp_path_factory, rows, T_SCENARIO, "exact_t", request.param, STATISTICS)


def test_t_analytic_el_is_the_exact_mean(result_t, exact_t):
    check_analytic_el(result_t, exact_t)


def test_t_losses_follow_the_exact_law(result_t, exact_t):
    check_chi_square(result_t, exact_t)
    # the test can tell the t copula from the Gaussian one at the same correlation
    chi2_g, _, critical_g = chi_square(lattice(result_t), exact_t_pmf(48, 0.1, gaussian=True))
    assert chi2_g > 2.0 * critical_g, f"a Gaussian law passes: chi-square {chi2_g:.1f}"


def test_t_tail_and_reported_statistics(result_t, exact_t):
    check_tails(result_t, exact_t)
    check_var_es(result_t, exact_t)
