"""Confidence intervals in result files and in `cascade compare`.

Every VaR and ES a result holds (any dataset named var* or es* with a
`level` axis that is an estimate, i.e. has an `_se` partner) has its 95%
interval as `_lo` and `_hi` partners of the same shape that bracket it, in a
one-year and a three-year file with mitigants. The summary printed by
`cascade run` shows them.

`cascade compare` takes a scenario's ES 99.9% minus the baseline's path by
path. Its figures are recomputed here from the per-path losses by an
independent numpy implementation of the same estimators (docs/OUTPUT.md,
Comparing): the difference is the difference of the two files' ES, its
interval is Hall's on the per-path influence difference
((L_s - VaR_s)+ - (L_b - VaR_b)+) / (1 - a), and the interval of
independent runs combines the two files' own intervals in quadrature. With
the shipped stress scenario tech_funding_winter on the baseline's seed the
paired interval is at least 3 times narrower.
"""
import os
import re
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

BIN = os.environ.get("CASCADE_BINARY", "build/cascade")
SRC = Path(os.environ.get("CASCADE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
Z = 1.959963984540054


def run(scenario, out, *extra):
    args = [BIN, "run", str(SRC / "scenarios" / f"{scenario}.yaml"), "--loans", "20000",
            "--paths", "4000", "--threads", "2", "-o", str(out), *extra]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("intervals")
    out = {}
    for name in ("baseline", "tech_funding_winter", "baseline_3y"):
        out[name] = d / f"{name}.h5"
        out[name + ".stdout"] = run(name, out[name])
    return out


def axes(ds):
    """The names of the dimension scales attached to each axis of ds."""
    return [ds.dims[i][0].name.lstrip("/") if len(ds.dims[i]) else "" for i in range(ds.ndim)]


def estimates_with_level(f):
    return [n for n in f if (n.startswith("var") or n.startswith("es")) and n + "_se" in f
            and "level" in axes(f[n])]


@pytest.mark.parametrize("name", ["baseline", "baseline_3y"])
def test_every_var_and_es_has_an_interval_that_brackets_it(files, name):
    with h5py.File(files[name], "r") as f:
        names = estimates_with_level(f)
        assert {"var", "es"} <= set(names)
        if name == "baseline_3y":
            assert {"var_cumulative", "es_cumulative", "var_by_year", "var_net"} <= set(names)
        for n in names:
            v, lo, hi = f[n][()], f[n + "_lo"][()], f[n + "_hi"][()]
            assert lo.shape == v.shape == hi.shape, n
            assert np.all(lo <= v) and np.all(v <= hi), n
            assert np.all(hi > lo), n
            assert f[n + "_lo"].attrs["long_name"].startswith("lower bound of the 95%")
        assert f["el_lo"][()] < f["el"][()] < f["el_hi"][()]


def test_run_prints_the_intervals(files):
    text = files["baseline.stdout"]
    assert "95% confidence interval" in text
    with h5py.File(files["baseline"], "r") as f:
        k = list(f["level"][:]).index(0.999)
        lo, hi = f["es_lo"][k] / 1e6, f["es_hi"][k] / 1e6
    line = next(l for l in text.splitlines() if l.strip().startswith("ES 99.9%"))
    assert f"{lo:.2f} .. {hi:.2f}" in line


def hall(x, z=Z):
    """Hall's (1992) interval for the mean of x (population moments)."""
    n = len(x)
    m = x.mean()
    d = x - m
    m2, m3 = (d * d).mean(), (d ** 3).mean()
    s = np.sqrt(m2)
    g = m3 / s ** 3 / np.sqrt(n)
    tu, tl = 3 / g * (np.cbrt(1 + g * (z - g / 6)) - 1), 3 / g * (np.cbrt(1 + g * (-z - g / 6)) - 1)
    return m - tu * s / np.sqrt(n), m - tl * s / np.sqrt(n)


def var_es(loss, a):
    """The plain estimators: VaR = L_(k), k = ceil(a n); ES as in stats.h."""
    x = np.sort(loss)
    n = len(x)
    k = int(np.ceil(a * n - 1e-9 * a * n))
    v = x[k - 1]
    return v, v + (x[k:] - v).sum() / (n * (1 - a))


def compare_row(files):
    """`cascade compare baseline tech_funding_winter`'s figures for the
    scenario: difference, its interval, ratio, its interval, CRN gain."""
    base, scen = files["baseline"], files["tech_funding_winter"]
    text = subprocess.run([BIN, "compare", str(base), str(scen)], check=True,
                          capture_output=True, text=True).stdout
    row = next(l for l in text.splitlines() if l.startswith("tech_funding_winter"))
    m = re.search(r"([+-][\d.]+) \[([+-][\d.]+), ([+-][\d.]+)\]\s+([\d.]+) \[([\d.]+), ([\d.]+)\]"
                  r"\s+CRN x([\d.]+)", row)
    assert m, row
    return map(float, m.groups())


def test_compare_pairs_paths_and_matches_an_independent_computation(files):
    base, scen = files["baseline"], files["tech_funding_winter"]
    diff, lo, hi, ratio, rlo, rhi, gain = compare_row(files)
    a = 0.999
    with h5py.File(base, "r") as fb, h5py.File(scen, "r") as fs:
        lb, ls = fb["loss"][:], fs["loss"][:]
        k = list(fb["level"][:]).index(a)
        ind_lo = (fs["es"][k] - fb["es"][k]) - np.hypot(fs["es"][k] - fs["es_lo"][k],
                                                         fb["es_hi"][k] - fb["es"][k])
        ind_hi = (fs["es"][k] - fb["es"][k]) + np.hypot(fs["es_hi"][k] - fs["es"][k],
                                                         fb["es"][k] - fb["es_lo"][k])
    vb, eb = var_es(lb, a)
    vs, es = var_es(ls, a)
    psi = (np.maximum(ls - vs, 0) - np.maximum(lb - vb, 0)) / (1 - a)
    plo, phi = hall(psi)
    d = es - eb
    want_lo, want_hi = d + plo - psi.mean(), d + phi - psi.mean()
    # the table prints CNY mn with 1 decimal at this book's size
    assert diff == pytest.approx(d / 1e6, abs=0.051)
    assert lo == pytest.approx(want_lo / 1e6, abs=0.051)
    assert hi == pytest.approx(want_hi / 1e6, abs=0.051)
    assert ratio == pytest.approx(es / eb, abs=0.051)
    assert rlo <= ratio <= rhi
    assert lo <= diff <= hi
    want_gain = (ind_hi - ind_lo) / (want_hi - want_lo)
    assert gain == pytest.approx(want_gain, abs=0.06)
    assert gain >= 3.0, f"common random numbers narrow the interval only {gain:.1f} times"


def test_python_differences_match_compare(files):
    """analysis/cascade_results.py's differences() gives the figures
    `cascade compare` prints (the module is a third implementation beside
    the program and the numpy one above)."""
    import sys
    sys.path.insert(0, str(SRC / "analysis"))
    import cascade_results as cr
    base, scen = files["baseline"], files["tech_funding_winter"]
    diff, lo, hi, ratio, rlo, rhi, gain = compare_row(files)
    t = cr.differences(cr.open_results([str(base), str(scen)]))
    r = t.loc["tech_funding_winter"]
    assert bool(r["paired"])
    for got, want in ((r["diff"], diff), (r["diff_low"], lo), (r["diff_high"], hi)):
        assert got / 1e6 == pytest.approx(want, abs=0.051)
    for got, want in ((r["ratio"], ratio), (r["ratio_low"], rlo), (r["ratio_high"], rhi)):
        assert got == pytest.approx(want, abs=0.0051)
    assert r["gain"] == pytest.approx(gain, abs=0.051)
    assert not bool(t.loc["baseline", "paired"]) and t.loc["baseline", "diff"] == 0


def test_report_shows_the_differences(files, tmp_path):
    """`cascade report` has a table of differences from the baseline with
    the same paired figures as `cascade compare` (ES 99.9%)."""
    base, scen = files["baseline"], files["tech_funding_winter"]
    out = tmp_path / "r.html"
    subprocess.run([BIN, "report", str(base), str(scen), "-o", str(out)], check=True,
                   capture_output=True)
    html = out.read_text()
    sec = html[html.index('<section id="differences">'):]
    sec = sec[:sec.index("</section>")]
    text = subprocess.run([BIN, "compare", str(base), str(scen)], check=True,
                          capture_output=True, text=True).stdout
    row = next(l for l in text.splitlines() if l.startswith("tech_funding_winter"))
    gain = re.search(r"CRN x([\d.]+)", row).group(1)
    ratio = re.search(r"\s([\d.]+) \[([\d.]+), ([\d.]+)\]\s+CRN", row).groups()
    assert f"paths paired, &times;{gain}" in sec
    assert "ES 99.9% &minus; base" in sec
    # the ratios by level, 99.9% last: the same as compare's to its 2 decimals
    got = re.findall(r'<td>([\d.]+)<br><span class="ci">\[([\d.]+), ([\d.]+)\]</span></td>', sec)
    assert len(got) == 3
    for g, want in zip(got[-1], ratio):
        assert abs(float(g) - float(want)) <= 0.0051, (got[-1], ratio)


def test_runs_without_common_random_numbers_are_not_paired(files, tmp_path):
    """A scenario run with another seed is compared as an independent run
    (a paired interval of independent runs covers ES 99.9% only about 90%
    of the time, tests/test_intervals.c): `compare` says `indep.`, its
    interval is the files' intervals combined, wider than the paired one of
    the same scenario on the baseline's seed, and differences() agrees."""
    import sys
    sys.path.insert(0, str(SRC / "analysis"))
    import cascade_results as cr
    other = tmp_path / "other_seed.h5"
    run("tech_funding_winter", other, "--seed", "99")
    base = files["baseline"]
    text = subprocess.run([BIN, "compare", str(base), str(other)], check=True,
                          capture_output=True, text=True).stdout
    row = next(l for l in text.splitlines() if l.startswith("tech_funding_winter"))
    assert row.rstrip().endswith("indep."), row
    lo, hi = map(float, re.search(r"\[([+-][\d.]+), ([+-][\d.]+)\]", row).groups())
    d, dlo, dhi, *_ = compare_row(files)
    # on this small book (20,000 loans, 4,000 paths) about twice as wide;
    # on the default book at 10,000 paths eight times (docs/OUTPUT.md)
    assert hi - lo > 1.5 * (dhi - dlo), (hi - lo, dhi - dlo)
    t = cr.differences(cr.open_results([str(base), str(other)]))
    assert not bool(t.loc["tech_funding_winter", "paired"])
    assert t.loc["tech_funding_winter", "diff_low"] / 1e6 == pytest.approx(lo, abs=0.051)
