"""A bank's own classification end to end: a portfolio CSV of the 41
prefecture-level cities of the delta (as regions) and the 20 sections of the
national industry classification (GB/T 4754-2017, A to T; as sectors), with
shocks named by city and by sector, runs; the result file carries those
labels for xarray, the analysis module and the report.

The classification comes from the CSV (first appearance); the scenario does
not declare it. A second run declares it and must give the same numbers.
"""
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

BIN = os.environ.get("CASCADE_BINARY", "build/cascade")
SRC = Path(os.environ.get("CASCADE_SOURCE_DIR", Path(__file__).resolve().parents[2]))

# Shanghai, 13 of Jiangsu, 11 of Zhejiang, 16 of Anhui.
CITIES = """shanghai nanjing wuxi xuzhou changzhou suzhou nantong lianyungang huaian yancheng
yangzhou zhenjiang taizhou_js suqian hangzhou ningbo wenzhou jiaxing huzhou shaoxing jinhua
quzhou zhoushan taizhou_zj lishui hefei huaibei bozhou suzhou_ah bengbu fuyang huainan chuzhou
luan maanshan wuhu xuancheng tongling chizhou anqing huangshan""".split()
SECTIONS = """agriculture mining manufacturing utilities construction wholesale_retail transport
hospitality information finance real_estate leasing_business research environment
household_services education health culture public_admin international""".split()


def run(*args):
    return subprocess.run([BIN, *map(str, args)], check=True, capture_output=True, text=True)


def write_book(path):
    # Sections in reverse in the first rows, so that first appearance is not
    # the list order; 3 loans per (city, section), PD by section.
    rows = ["id,region,sector,ead,pd,lgd"]
    k = 0
    for c, city in enumerate(CITIES):
        for s, sec in enumerate(reversed(SECTIONS) if c == 0 else SECTIONS):
            for j in range(3):
                pd = 0.005 + 0.001 * (SECTIONS.index(sec) % 7)
                rows.append(f"L{k},{city},{sec},{1000 + 10 * j + c},{pd},0.45")
                k += 1
    path.write_text("\n".join(rows) + "\n")


SCENARIO = """name: own_book
seed: 11
paths: 1000
levels: [0.975, 0.99, 0.999]
portfolio: {file: book.csv}
shocks:
  - {region: hefei, pd_multiplier: 3}
  - {sector: real_estate, pd_multiplier: 2, factor_shift: -1}
  - {region: wenzhou, sector: manufacturing, lgd_add: 0.2}
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("own")
    write_book(d / "book.csv")
    (d / "own.yaml").write_text(SCENARIO)
    declared = SCENARIO.replace("name: own_book", "name: own_book_declared") + (
        "classification:\n  regions: [%s]\n  sectors: [%s]\n"
        % (", ".join(CITIES), ", ".join(reversed(SECTIONS))))
    (d / "declared.yaml").write_text(declared)
    out = d / "own.h5"
    run("run", d / "own.yaml", "--threads", 2, "-q", "-o", out)
    out2 = d / "declared.h5"
    run("run", d / "declared.yaml", "--threads", 1, "-q", "-o", out2)
    # the same run storing every segment per path as well
    (d / "full.yaml").write_text(SCENARIO.replace("name: own_book", "name: own_book_full") +
                                 "output: {per_path: [segment, region, sector]}\n")
    out3 = d / "full.h5"
    run("run", d / "full.yaml", "--threads", 2, "-q", "-o", out3)
    return out, out2, d, out3


def test_xarray_shows_the_books_labels(results):
    out = results[0]
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert [str(r) for r in ds["region"].values] == CITIES
        assert [str(s) for s in ds["sector"].values] == list(reversed(SECTIONS))
        assert ds.sizes["segment"] == 41 * 20
        segs = [str(s) for s in ds["segment"].values]
        assert "hefei/manufacturing" in segs and "huangshan/agriculture" in segs
        # 820 segments: per path by city and by sector (docs/OUTPUT.md, Memory)
        assert "loss_by_segment" not in ds
        assert ds["loss_by_region"].dims == ("path", "region")
        assert ds["loss_by_sector"].dims == ("path", "sector")
        assert ds["es_contribution"].dims == ("level", "segment")
        assert list(ds["level"].values) == [0.975, 0.99, 0.999]
        by_city = ds["el_by_segment"].groupby(ds["segment_region"]).sum()
        assert set(map(str, by_city["segment_region"].values)) == set(CITIES)
        assert ds.attrs["classification"] == "data"


def test_shocks_by_city_and_sector_hit_their_segments(results):
    out = results[0]
    with h5py.File(out, "r") as f:
        segs = [s.decode() for s in f["segment"][:]]
        pd = f["portfolio_pd"][:]
        stressed = f["stressed_default_rate"][:]
        regions = [s.decode() for s in f["segment_region"][:]]
        sectors = [s.decode() for s in f["segment_sector"][:]]
        shift = dict(zip([s.decode() for s in f["factor"][:]], f["factor_shift_given"][:]))
    assert shift["sector.real_estate"] == -1.0
    assert shift["region.hefei"] == 0.0
    for i, seg in enumerate(segs):
        if regions[i] == "hefei" or sectors[i] == "real_estate":
            assert stressed[i] > 1.5 * pd[i], seg
    # a segment no shock names moves only through correlated factor means
    # (conditional mode) and PD odds stay: its stressed rate stays within 2x
    i = segs.index("lishui/education")
    assert 0.5 * pd[i] < stressed[i] < 2 * pd[i]


def test_declaring_the_classification_gives_the_same_numbers(results):
    out, out2 = results[0], results[1]
    with h5py.File(out, "r") as a, h5py.File(out2, "r") as b:
        for name in ("loss", "loss_by_region", "loss_by_sector", "es", "var", "factor_value",
                     "default_rate", "es_contribution", "el_by_segment"):
            np.testing.assert_array_equal(a[name][:], b[name][:], err_msg=name)
        assert b.attrs["classification"] == "declared"


def test_the_resolved_scenario_declares_the_classification(results):
    out, d = results[0], results[2]
    with h5py.File(out, "r") as f:
        resolved = f["scenario_resolved"][()].decode()
        loss = f["loss"][:]
    assert "classification:" in resolved and '"huangshan"' in resolved
    again = d / "again.yaml"
    again.write_text(resolved)
    out3 = d / "again.h5"
    run("run", again, "--threads", 2, "-q", "-o", out3)
    with h5py.File(out3, "r") as f:
        np.testing.assert_array_equal(f["loss"][:], loss)


def test_analysis_module_and_report_read_any_classification(results, tmp_path):
    out = results[0]
    import sys
    sys.path.insert(0, str(SRC / "analysis"))
    import cascade_results as cr
    ds = cr.open_results([out])
    table = cr.by_group(ds, "el_by_segment", "region")
    assert set(table.columns) == set(CITIES)
    html = tmp_path / "report.html"
    run("report", out, "-o", html)
    text = html.read_text()
    assert "huangshan" in text and "public_admin" in text


def test_summaries_by_segment_without_segments_per_path(results):
    """Stored by region and sector only, the file still holds every summary
    by segment: the ES contributions (from the tail paths simulated again)
    are those of a run that stores every segment, bit for bit; the means
    and default rates agree to rounding (sums in another order); the
    per-path groupings are the segments summed."""
    out, full = results[0], results[3]
    with h5py.File(out, "r") as a, h5py.File(full, "r") as b:
        np.testing.assert_array_equal(a["loss"][:], b["loss"][:])
        np.testing.assert_array_equal(a["es_contribution"][:], b["es_contribution"][:])
        np.testing.assert_allclose(a["es_contribution"][:].sum(axis=1), a["es"][:], rtol=1e-9)
        np.testing.assert_allclose(a["el_by_segment"][:], b["el_by_segment"][:], rtol=1e-12)
        np.testing.assert_allclose(a["default_rate"][:], b["default_rate"][:], rtol=1e-12)
        np.testing.assert_allclose(a["default_rate_se"][:], b["default_rate_se"][:], rtol=1e-9,
                                   atol=1e-15)
        np.testing.assert_array_equal(a["loss_by_region"][:], b["loss_by_region"][:])
        seg = b["loss_by_segment"][:]
        regions = [r.decode() for r in b["segment_region"][:]]
        names = [r.decode() for r in b["region"][:]]
        by_region = np.stack([seg[:, [i for i, r in enumerate(regions) if r == n]].sum(axis=1)
                              for n in names], axis=1)
        np.testing.assert_allclose(a["loss_by_region"][:], by_region, rtol=1e-12, atol=1e-9)
        assert a["loss_by_region"].shape == (1000, 41)


def test_contagion_without_segments_per_path(tmp_path):
    """With contagion along the bank's own links (a links CSV), storing by
    city and sector only still gives the contagion's ES contributions by
    segment, from the tail paths simulated again, bit for bit those of a
    run that stores every segment; the contagion datasets come by city and
    sector per path."""
    write_book(tmp_path / "book.csv")
    n = 41 * 20 * 3
    rng = np.random.default_rng(5)
    rows = ["from,to,type,weight,amount"]
    seen = set()
    while len(rows) < 1 + 3000:
        a, b = rng.integers(0, n, 2)
        if a == b or (a, b) in seen:
            continue
        seen.add((a, b))
        if len(rows) % 5 == 0:
            rows.append(f"L{a},L{b},guarantee,0.5,500")
        else:
            rows.append(f"L{a},L{b},supply_chain,0.8,")
    (tmp_path / "links.csv").write_text("\n".join(rows) + "\n")
    base = ("seed: 3\npaths: 600\nportfolio: {file: book.csv}\nnetwork: {file: links.csv}\n"
            "contagion:\n  model: network\n  calibration: {mode: pd_preserving, paths: 300}\n"
            "  spillover: [{region: hefei, sector: manufacturing, factor: region.hefei, beta: 2}]\n")
    (tmp_path / "auto.yaml").write_text("name: auto\n" + base)
    (tmp_path / "full.yaml").write_text("name: full\n" + base + "output: {per_path: [segment, region, sector]}\n")
    run("run", tmp_path / "auto.yaml", "--threads", 2, "-q", "-o", tmp_path / "auto.h5")
    run("run", tmp_path / "full.yaml", "--threads", 1, "-q", "-o", tmp_path / "full.h5")
    with h5py.File(tmp_path / "auto.h5", "r") as a, h5py.File(tmp_path / "full.h5", "r") as b:
        assert "contagion_loss_by_segment" not in a
        assert a["contagion_loss_by_region"].shape == (600, 41)
        assert float(a["loss_contagion"][:].sum()) > 0
        for name in ("loss", "loss_contagion", "es", "es_contribution", "es_contribution_contagion",
                     "contagion_loss_by_region", "loss_by_sector", "cascade_rounds"):
            np.testing.assert_array_equal(a[name][:], b[name][:], err_msg=name)
        np.testing.assert_allclose(a["es_contribution_contagion"][:].sum(axis=1),
                                   a["es_contagion"][:], rtol=1e-9, atol=1e-9)
