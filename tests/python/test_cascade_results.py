"""analysis/cascade_results.py: the folder loader, the comparison tables and
the plots, checked against the result files read directly with h5py.

Results are made once per module (small runs of the built program,
CASCADE_BINARY) in a folder laid out like a batch's: result files plus
manifest.json, batch.log and a temporary of a run in progress.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

BIN = os.environ.get("CASCADE_BINARY", "build/cascade")
SRC = Path(os.environ.get("CASCADE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SCRIPT = SRC / "analysis" / "cascade_results.py"
sys.path.insert(0, str(SRC / "analysis"))

import cascade_results as cr  # noqa: E402

SCENARIOS = ("tech_funding_winter", "baseline_contagion", "baseline")  # baseline last on purpose
LOANS, PATHS = 4000, 400


def run(*args):
    return subprocess.run([BIN, *map(str, args)], check=True, capture_output=True, text=True)


def script(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch")
    for name in SCENARIOS:
        run("run", SRC / "scenarios" / f"{name}.yaml", "--loans", LOANS, "--paths", PATHS, "-q",
            "-o", d / f"{name}.h5")
    (d / "manifest.json").write_text('{"scenarios": []}\n')
    (d / "batch.log").write_text("started\n")
    # a run in progress: a complete-looking HDF5 file under a temporary name
    shutil.copy(d / "baseline.h5", d / "green_transition.h5.tmp.4242")
    return d


@pytest.fixture(scope="module")
def ds(batch):
    return cr.open_results(batch, per_path=True)


def h5(batch, name):
    return h5py.File(batch / f"{name}.h5", "r")


def test_folder_loader_returns_every_result_and_skips_other_files(batch, ds):
    files = cr.result_files(batch)
    assert sorted(p.name for p in files) == sorted(f"{n}.h5" for n in SCENARIOS)
    # baseline first, then the others in file-name order
    assert list(ds["scenario"].values) == ["baseline", "baseline_contagion", "tech_funding_winter"]
    assert ds.sizes["path"] == PATHS
    assert [Path(s).name for s in ds["source"].values] == \
        ["baseline.h5", "baseline_contagion.h5", "tech_funding_winter.h5"]
    # root attributes become coordinates along scenario
    assert list(ds["paths"].values) == [PATHS] * 3
    assert list(ds["contagion"].values) == ["off", "on", "off"]


def test_contagion_variables_are_nan_where_a_file_lacks_them(batch, ds):
    share = ds["es_contagion_share"]
    assert share.dims == ("scenario", "level")
    assert np.isnan(share.sel(scenario="baseline")).all()
    with h5(batch, "baseline_contagion") as f:
        np.testing.assert_array_equal(share.sel(scenario="baseline_contagion"), f["es_contagion_share"][:])
    # integer variables every file has keep their type
    assert ds["defaults"].dtype.kind == "i"


def test_per_file_labels_line_up_by_position(batch, ds):
    """scenario_file holds each file's own paths: it becomes a position."""
    assert list(ds["scenario_file"].values) == [0, 1]
    labels = ds["scenario_file_label"]
    assert pd.isna(labels.sel(scenario="baseline", scenario_file=1).item())  # baseline has no base
    assert str(labels.sel(scenario="tech_funding_winter", scenario_file=1).item()).endswith("baseline.yaml")
    with h5(batch, "tech_funding_winter") as f:
        assert ds["scenario_text"].sel(scenario="tech_funding_winter", scenario_file=0).item() == \
            f["scenario_text"][0].decode()


def test_comparison_table_equals_the_files(batch, ds):
    table = cr.compare(ds)
    assert list(table.index) == ["baseline", "baseline_contagion", "tech_funding_winter"]
    assert list(dict.fromkeys(table.columns.get_level_values(0))) == \
        ["EL", "VaR 95%", "VaR 99%", "VaR 99.9%", "ES 95%", "ES 99%", "ES 99.9%"]
    with h5(batch, "baseline") as b:
        base_el, base_es = b["el"][()], b["es"][:]
    for name in SCENARIOS:
        with h5(batch, name) as f:
            row = table.loc[name]
            assert row[("EL", "value")] == f["el"][()]
            assert row[("EL", "se")] == f["el_se"][()]
            assert row[("EL", "ratio")] == pytest.approx(f["el"][()] / base_el, rel=1e-15)
            levels = f["level"][:]
            for i, level in enumerate(levels):
                label = f"{level * 100:g}%"
                assert row[(f"ES {label}", "value")] == f["es"][i]
                assert row[(f"ES {label}", "se")] == f["es_se"][i]
                assert row[(f"VaR {label}", "value")] == f["var"][i]
                assert row[(f"VaR {label}", "se")] == f["var_se"][i]
                assert row[(f"ES {label}", "ratio")] == pytest.approx(f["es"][i] / base_es[i], rel=1e-15)
    # a stress scenario loses more than the baseline on average
    assert table.loc["tech_funding_winter", ("EL", "ratio")] > 1


def test_baseline_can_be_chosen_and_must_exist(batch, ds):
    table = cr.compare(ds, baseline="tech_funding_winter")
    assert table.loc["tech_funding_winter", ("ES 99%", "ratio")] == 1.0
    # the ratios are taken to the chosen baseline (exactly; whether a stress
    # beats the plain baseline at 400 paths is Monte Carlo noise, not tested)
    with h5(batch, "tech_funding_winter") as t, h5(batch, "baseline") as b:
        es99 = list(t["level"][:]).index(0.99)
        want = b["es"][es99] / t["es"][es99]
    assert table.loc["baseline", ("ES 99%", "ratio")] == pytest.approx(want, rel=1e-15)
    with pytest.raises(cr.UsageError, match="no scenario 'nope'"):
        cr.compare(ds, baseline="nope")


def test_every_estimate_with_a_standard_error_is_listed(batch, ds):
    est = cr.estimates(ds)
    assert set(est["variable"]) == {"el", "sd", "var", "es", "el_contagion", "default_rate",
                                    "var_factor_only", "es_factor_only",
                                    "calibration_default_rate"}
    # el_contagion and the calibration only where the file has them
    assert list(est[est["variable"] == "el_contagion"]["scenario"]) == ["baseline_contagion"]
    assert set(est[est["variable"] == "calibration_default_rate"]["scenario"]) == {
        "baseline_contagion"}
    assert set(est["units"]) == {"CNY", "1"}
    assert set(est[est["units"] == "1"]["variable"]) == {"default_rate", "calibration_default_rate"}
    with h5(batch, "baseline_contagion") as f:
        row = est[(est["variable"] == "el_contagion")].iloc[0]
        assert (row["value"], row["se"]) == (f["el_contagion"][()], f["el_contagion_se"][()])


@pytest.mark.parametrize("group,key", [("region", "segment_region"), ("sector", "segment_sector")])
def test_losses_by_region_and_sector_equal_the_files(batch, ds, group, key):
    el = cr.by_group(ds, "el_by_segment", group)
    es = cr.by_group(ds, "es_contribution", group, level=0.999)
    for name in SCENARIOS:
        with h5(batch, name) as f:
            labels = np.array([s.decode() for s in f[key][:]])
            i999 = list(f["level"][:]).index(0.999)
            for g in np.unique(labels):
                assert el.loc[name, g] == pytest.approx(f["el_by_segment"][:][labels == g].sum(), rel=1e-12)
                assert es.loc[name, g] == pytest.approx(f["es_contribution"][i999][labels == g].sum(),
                                                        rel=1e-12)
            # the groups add up to the whole
            assert es.loc[name].sum() == pytest.approx(f["es"][i999], rel=1e-9)
    assert cr.groupings(ds) == {"region": "segment_region", "sector": "segment_sector"}
    with pytest.raises(cr.UsageError, match="no grouping 'city'"):
        cr.by_group(ds, "el_by_segment", "city")


def test_per_path_view(batch, ds):
    df = cr.per_path(ds, "loss")
    assert df.shape == (PATHS, 3)
    with h5(batch, "tech_funding_winter") as f:
        np.testing.assert_array_equal(df["tech_funding_winter"].to_numpy(), f["loss"][:])


def add_year_axis(src, dst):
    """A copy of SRC with a new axis `year` and an estimate along it (the
    kind of dataset a later version of the format may add)."""
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        year = f.create_dataset("year", data=np.array([1, 2, 3], dtype=np.int32))
        year.make_scale("year")
        year.attrs["units"] = "year"
        year.attrs["long_name"] = "year of the horizon"
        es = f["es"][:]
        for name, data in (("es_by_year", np.outer([0.5, 0.8, 1.0], es)),
                           ("es_by_year_se", np.outer([0.05, 0.08, 0.1], es))):
            d = f.create_dataset(name, data=data)
            d.dims[0].attach_scale(year)
            d.dims[1].attach_scale(f["level"])
            d.attrs["units"] = "CNY"
            d.attrs["long_name"] = "expected shortfall of the year's losses"
        paid = f.create_dataset("mitigant_paid", data=np.ones((PATHS, 3)))
        paid.dims[0].attach_scale(f["path"])
        paid.dims[1].attach_scale(year)
        paid.attrs["units"] = "CNY"
        paid.attrs["long_name"] = "mitigant payout by year"
    # changed after cascade wrote it: resealed, as a later version's file
    # would carry its own seal (docs/OUTPUT.md, "Seal")
    subprocess.run([sys.executable, str(SRC / "tests" / "tools" / "reseal.py"), str(dst)], check=True)


def test_an_unknown_new_axis_flows_through(batch, tmp_path):
    folder = tmp_path / "res"
    folder.mkdir()
    shutil.copy(batch / "baseline.h5", folder / "baseline.h5")
    add_year_axis(batch / "tech_funding_winter.h5", folder / "tech_funding_winter.h5")
    one = cr.open_result(folder / "tech_funding_winter.h5")
    assert one["es_by_year"].dims == ("year", "level")
    ds = cr.open_results(folder)
    assert ds["es_by_year"].dims == ("scenario", "year", "level")
    assert list(ds["year"].values) == [1, 2, 3]
    assert ds["mitigant_paid"].dims == ("scenario", "path", "year")
    assert np.isnan(ds["es_by_year"].sel(scenario="baseline")).all()

    est = cr.estimates(ds)
    rows = est[est["variable"] == "es_by_year"]
    assert len(rows) == 9 and set(rows["scenario"]) == {"tech_funding_winter"}
    assert "ES_by_year" not in set(rows["measure"])
    r = rows[(rows["year"] == 2) & (rows["level"] == 0.99)].iloc[0]
    with h5py.File(folder / "tech_funding_winter.h5", "r") as f:
        assert r["value"] == f["es_by_year"][1, 1] and r["se"] == f["es_by_year_se"][1, 1]
    assert r["measure"] == "es_by_year year=2 99%" and r["units"] == "CNY"

    listed = cr.variables(ds)
    assert listed.loc["es_by_year", "dims"] == "year, level"
    assert listed.loc["es_by_year", "se"] == "es_by_year_se"
    assert listed.loc["mitigant_paid", "units"] == "CNY"

    out = script("compare", folder, "--all")
    assert out.returncode == 0, out.stderr
    assert "es_by_year year=3 99.9%" in out.stdout


def test_runs_with_different_path_counts_are_padded(batch, tmp_path):
    short = tmp_path / "short.h5"
    run("run", SRC / "scenarios" / "green_transition.yaml", "--loans", LOANS, "--paths", PATHS // 2,
        "-q", "-o", short)
    ds = cr.open_results([batch / "baseline.h5", short])
    assert ds.sizes["path"] == PATHS
    loss = cr.per_path(ds)
    assert loss["green_transition"].notna().sum() == PATHS // 2
    assert loss["baseline"].notna().sum() == PATHS


def test_plots_are_written_and_not_empty(ds, tmp_path):
    out = tmp_path / "figures"
    written = cr.plot_all(ds, out, fmt="png")
    names = sorted(p.name for p in written)
    assert names == ["contagion_share.png", "exceedance.png", "loss_distribution.png",
                     "losses_by_region_sector.png"]
    for p in written:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000
    assert sorted(os.listdir(out)) == names  # no temporaries left


@pytest.mark.parametrize("fmt,magic", [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_plot_command_writes_each_format(batch, tmp_path, fmt, magic):
    out = tmp_path / "fig"
    proc = script("plot", batch / "baseline.h5", batch / "tech_funding_winter.h5", "--out", out,
                  "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    # no result with contagion: no contagion plot
    assert sorted(os.listdir(out)) == [f"{n}.{fmt}" for n in
                                       ("exceedance", "loss_distribution", "losses_by_region_sector")]
    for p in out.iterdir():
        assert p.read_bytes().startswith(magic)


def test_compare_command_prints_every_scenario_and_writes_csv(batch, tmp_path):
    csv = tmp_path / "table.csv"
    proc = script("compare", batch, "--by", "region", "--csv", csv)
    assert proc.returncode == 0, proc.stderr
    for name in SCENARIOS:
        assert name in proc.stdout
    assert "zhejiang" in proc.stdout
    table = pd.read_csv(csv)
    with h5(batch, "baseline_contagion") as f:
        row = table[(table["scenario"] == "baseline_contagion") & (table["measure"] == "ES 99.9%")]
        assert row["value"].item() == pytest.approx(f["es"][2], rel=1e-15)


def test_bad_input_is_refused_with_the_file_named(batch, tmp_path):
    missing = script("compare", tmp_path / "nothing.h5")
    assert missing.returncode == 3 and "nothing.h5: no such file" in missing.stderr

    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"not hdf5 at all")
    proc = script("compare", bad)
    assert proc.returncode == 3 and "broken.h5: not an HDF5 file" in proc.stderr

    # a damaged *.h5 in a folder is not silently left out
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(batch / "baseline.h5", folder / "baseline.h5")
    with h5py.File(folder / "other.h5", "w") as f:
        f["x"] = np.arange(3)
    proc = script("compare", folder)
    assert proc.returncode == 3 and "other.h5: not a cascade result file" in proc.stderr

    # a result damaged or changed since cascade wrote it: refused by its seal
    (folder / "other.h5").unlink()
    data = bytearray((batch / "baseline.h5").read_bytes())
    data[len(data) // 2] ^= 0x04
    (folder / "flipped.h5").write_bytes(bytes(data))
    proc = script("compare", folder)
    assert proc.returncode == 3 and "flipped.h5: damaged or changed since cascade wrote it" in proc.stderr
    (folder / "flipped.h5").write_bytes(bytes(data[:-100]))
    proc = script("compare", folder)
    assert proc.returncode == 3 and "flipped.h5: damaged or changed" in proc.stderr

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "manifest.json").write_text("{}")
    proc = script("plot", empty, "--out", tmp_path / "f")
    assert proc.returncode == 3 and "no result files" in proc.stderr
    assert not (tmp_path / "f").exists()

    proc = script("compare", batch, "--baseline", "nope")
    assert proc.returncode == 2 and "no scenario 'nope'" in proc.stderr
    proc = script("compare", batch, "--level", "1.5")
    assert proc.returncode == 2
    # a level the files do not have is an error, not the nearest one; nothing printed
    proc = script("compare", batch, "--by", "region", "--level", "0.98")
    assert proc.returncode == 2 and "no level 0.98" in proc.stderr and proc.stdout == ""
    proc = script("plot", batch, "--out", tmp_path / "g", "--level", "0.98")
    assert proc.returncode == 2 and not (tmp_path / "g").exists()
    proc = script("frobnicate")
    assert proc.returncode == 2


def test_a_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / "fig.png"

    def fail(tmp):
        Path(tmp).write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        cr.write_atomically(target, fail)
    assert list(tmp_path.iterdir()) == []
