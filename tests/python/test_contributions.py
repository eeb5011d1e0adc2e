"""Risk contributions (docs/OUTPUT.md, Risk contributions): the Euler
allocation of ES to segments, regions, sectors and single loans.

- On the default book, plainly, with importance sampling and with
  contagion: the contributions by region and by sector add up to ES at
  every level, the sum over every loan of the book to ES at the highest
  level (all within 1e-12 relative: rounding), and the loans listed are
  in decreasing order of contribution.
- On a book of 80 loans (so that every loan with a contribution is
  listed), grouped by the segment the file gives each loan, the loans'
  contributions equal the segments' (es_contribution at the highest level),
  which the run computes from other data (the per-path losses by segment):
  two computations of the same allocation agree loan by loan summed.
- The loan contributions are the same bytes with 1 and 2 threads.
- VaR contributions (kernel estimator, stats.h) add up to VaR, by segment,
  region and sector, whether the run stored segments or only regions and
  sectors per path.
"""
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

BIN = os.environ.get("CASCADE_BINARY", "build/cascade")
SRC = Path(os.environ.get("CASCADE_SOURCE_DIR", Path(__file__).resolve().parents[2]))


def run(scenario, out, *args):
    subprocess.run([BIN, "run", str(scenario), "-q", "-o", str(out), *map(str, args)], check=True,
                   capture_output=True, text=True)
    return out


@pytest.mark.parametrize("name,extra", [
    ("baseline", []),
    ("baseline", ["--importance-sampling", "0.999"]),
    ("baseline_contagion", ["--loans", 5000, "--paths", 1000]),
])
def test_contributions_add_up_to_es(tmp_path, name, extra):
    args = ["--loans", 20000, "--paths", 3000] if not extra or extra[0] != "--loans" else []
    out = run(SRC / "scenarios" / f"{name}.yaml", tmp_path / "r.h5", *args, *extra)
    with h5py.File(out, "r") as f:
        es = f["es"][:]
        for by in ("es_contribution_by_region", "es_contribution_by_sector", "es_contribution"):
            np.testing.assert_allclose(f[by][:].sum(axis=1), es, rtol=1e-12, err_msg=by)
        top = f["es_contribution_loan_level"][()]
        j = list(f["level"][:]).index(top)
        assert top == f["level"][-1]
        assert f["es_contribution_loans_total"][()] == pytest.approx(es[j], rel=1e-12)
        c = f["es_contribution_loan"][:]
        assert len(c) == 100 and np.all(np.diff(c) <= 0) and c[-1] > 0
        assert c.sum() < es[j]
        ids = [x.decode() for x in f["es_contribution_loan_id"][:]]
        assert len(set(ids)) == 100
        var = f["var"][:]
        for by in ("var_contribution_by_region", "var_contribution_by_sector", "var_contribution"):
            np.testing.assert_allclose(f[by][:].sum(axis=1), var, rtol=1e-12, err_msg=by)
        assert np.all(f["var_contribution_paths"][:] >= 1)


def test_var_contributions_from_regions_and_sectors(tmp_path):
    """Without segments stored per path, the VaR contributions come from the
    per-path losses by region and by sector, and agree with the ones by
    segment of the same run stored the other way (same paths, same
    kernel window: the same sums up to rounding)."""
    for name, per_path in (("groups", "[region, sector]"), ("segments", "[segment]")):
        sc = tmp_path / f"{name}.yaml"
        sc.write_text(f"name: {name}\nextends: {SRC / 'scenarios' / 'baseline.yaml'}\n"
                      f"output: {{per_path: {per_path}}}\n")
        run(sc, tmp_path / f"{name}.h5", "--loans", 20000, "--paths", 3000,
            "--importance-sampling", 0.99)
    with h5py.File(tmp_path / "groups.h5", "r") as g, h5py.File(tmp_path / "segments.h5", "r") as s:
        assert "var_contribution" not in g and "var_contribution" in s
        for by in ("var_contribution_by_region", "var_contribution_by_sector"):
            np.testing.assert_allclose(g[by][:], s[by][:], rtol=1e-9, err_msg=by)
            np.testing.assert_allclose(g[by][:].sum(axis=1), g["var"][:], rtol=1e-12)


def write_small_book(path):
    lines = ["id,region,sector,ead,pd,lgd"]
    k = 0
    for r in ("north", "south"):
        for s, pd in (("a", 0.03), ("b", 0.08)):
            for i in range(20):
                lines.append(f"{r}-{s}-{i},{r},{s},{1e6 * (1 + i)},{pd},0.5")
                k += 1
    path.write_text("\n".join(lines) + "\n")


def run_on_1_and_2_threads(tmp_path, sc, names):
    """The scenario run on 1 and on 2 threads; the datasets names equal
    in both. Returns the two files."""
    one = run(sc, tmp_path / "one.h5", "--threads", 1)
    two = run(sc, tmp_path / "two.h5", "--threads", 2)
    with h5py.File(one, "r") as f, h5py.File(two, "r") as g:
        for n in names:
            assert np.array_equal(f[n][()], g[n][()]), n
    return one, two


def test_loans_sum_to_their_segments_and_do_not_depend_on_threads(tmp_path):
    write_small_book(tmp_path / "small.csv")
    sc = tmp_path / "small.yaml"
    sc.write_text("name: small\nseed: 3\npaths: 4000\nportfolio: {file: small.csv}\n"
                  "output: {per_path: [segment]}\n")
    one, _ = run_on_1_and_2_threads(tmp_path, sc, [
        "es_contribution_loan", "es_contribution_loan_id", "es_contribution_loan_index",
        "es_contribution_loans_total"])
    with h5py.File(one, "r") as f:
        segs = [x.decode() for x in f["segment"][:]]
        top = list(f["level"][:]).index(f["es_contribution_loan_level"][()])
        by_seg = dict(zip(segs, f["es_contribution"][top]))
        loans = {}
        for seg, c in zip(f["es_contribution_loan_segment"][:], f["es_contribution_loan"][:]):
            loans[seg.decode()] = loans.get(seg.decode(), 0.0) + c
        assert len(f["es_contribution_loan"]) < 100   # every contributing loan is listed
        for seg, c in by_seg.items():
            assert loans.get(seg, 0.0) == pytest.approx(c, rel=1e-10, abs=1e-6), seg
        # ids name the loans of the file, and their rows
        ids = [x.decode() for x in f["es_contribution_loan_id"][:]]
        rows = f["es_contribution_loan_index"][:]
        book = (tmp_path / "small.csv").read_text().splitlines()[1:]
        assert [book[r].split(",")[0] for r in rows] == ids


def test_loans_alike_share_their_buckets_contribution(tmp_path):
    """A segment of loans alike (one PD, EAD and LGD) is drawn as a count
    (docs/MODEL.md): its ES contribution is shared equally among its loans
    (their expected part given the count), so they all show the same
    contribution, the loans add up to their segment's and to ES, and the
    run reproduces itself for 1 and 2 threads. The other segment, whose
    EADs differ, keeps loan-by-loan contributions."""
    lines = ["id,region,sector,ead,pd,lgd"]
    lines += [f"h{i},north,a,1000000,0.03,0.5" for i in range(60)]
    lines += [f"v{i},south,b,{1e6 * (1 + i)},0.03,0.5" for i in range(20)]
    (tmp_path / "alike.csv").write_text("\n".join(lines) + "\n")
    sc = tmp_path / "alike.yaml"
    sc.write_text("name: alike\nseed: 5\npaths: 4000\nportfolio: {file: alike.csv}\n"
                  "output: {per_path: [segment]}\n")
    one, _ = run_on_1_and_2_threads(tmp_path, sc, [
        "es_contribution_loan", "es_contribution_loan_id", "es_contribution_loans_total"])
    with h5py.File(one, "r") as f:
        top = list(f["level"][:]).index(f["es_contribution_loan_level"][()])
        assert f["es_contribution_loans_total"][()] == pytest.approx(f["es"][top], rel=1e-10)
        ids = [x.decode() for x in f["es_contribution_loan_id"][:]]
        c = dict(zip(ids, f["es_contribution_loan"][:]))
        alike = [v for k, v in c.items() if k.startswith("h")]
        assert len(alike) == 60 and min(alike) == max(alike) > 0.0, alike[:3]
        segs = [x.decode() for x in f["segment"][:]]
        by_seg = dict(zip(segs, f["es_contribution"][top]))
        assert sum(alike) == pytest.approx(by_seg["north/a"], rel=1e-10)
        other = [v for k, v in c.items() if k.startswith("v")]
        assert len(set(other)) > 1
