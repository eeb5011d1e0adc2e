"""The result file as scientists read it: h5py, xarray (h5netcdf and netcdf4
engines), and the reproducibility promise (the resolved scenario stored in a
file re-runs to the same numbers).

Runs the built program (CASCADE_BINARY) on a small built-in portfolio.
"""
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

BIN = os.environ.get("CASCADE_BINARY", "build/cascade")
SRC = Path(os.environ.get("CASCADE_SOURCE_DIR", Path(__file__).resolve().parents[2]))


def run(*args, cwd=None):
    return subprocess.run([BIN, *map(str, args)], check=True, capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    d = tmp_path_factory.mktemp("res")
    out = d / "tech.h5"
    run("run", SRC / "scenarios" / "tech_funding_winter.yaml", "--loans", 4000, "--paths", 400,
        "--threads", 2, "-q", "-o", out)
    return out


def test_h5py_reads_every_dataset_with_units(result):
    with h5py.File(result, "r") as f:
        paths = f.attrs["paths"]
        assert paths == 400
        assert f["loss"].shape == (400,)
        assert f["loss_by_segment"].shape == (400, 36)
        assert f["loss"].attrs["units"] == "CNY"
        segs = [s.decode() for s in f["segment"][:]]
        assert "zhejiang/green" in segs and "shanghai/tech_startup" in segs
        assert f.attrs["scenario_name"] == "tech_funding_winter"
        assert f.attrs["cascade_version"]
        # per-path segment losses add up to the path loss
        np.testing.assert_allclose(f["loss_by_segment"][:].sum(axis=1), f["loss"][:], rtol=1e-12)
        # ES contributions add up to ES
        np.testing.assert_allclose(f["es_contribution"][:].sum(axis=1), f["es"][:], rtol=1e-9)
        # the scenario text is stored byte for byte, with its base
        texts = [t.decode() for t in f["scenario_text"][:]]
        files = [p.decode() for p in f["scenario_file"][:]]
        assert len(texts) == 2 and files[1].endswith("baseline.yaml")
        assert texts[0] == (SRC / "scenarios" / "tech_funding_winter.yaml").read_text()


@pytest.mark.parametrize("engine", ["h5netcdf", "netcdf4"])
def test_xarray_named_dimensions(result, engine):
    ds = xr.open_dataset(result, engine=engine)
    try:
        assert ds["loss"].dims == ("path",)
        assert ds["loss_by_segment"].dims == ("path", "segment")
        assert ds["es"].dims == ("level",)
        assert list(ds["level"].values) == [0.95, 0.99, 0.999]
        assert "anhui/inclusive_micro" in [str(s) for s in ds["segment"].values]
        by_region = ds["el_by_segment"].groupby(ds["segment_region"]).sum()
        assert set(map(str, by_region["segment_region"].values)) == {"shanghai", "jiangsu", "zhejiang", "anhui"}
        es999 = float(ds["es"].sel(level=0.999))
        assert es999 >= float(ds["var"].sel(level=0.999)) > 0
        df = ds["loss_by_segment"].to_pandas()
        assert df.shape == (400, 36)
    finally:
        ds.close()


def test_resolved_scenario_reproduces_the_result(result, tmp_path):
    with h5py.File(result, "r") as f:
        resolved = f["scenario_resolved"][()].decode()
        loss = f["loss"][:]
        by_seg = f["loss_by_segment"][:]
        es = f["es"][:]
    scen = tmp_path / "again.yaml"
    scen.write_text(resolved)
    out = tmp_path / "again.h5"
    run("run", scen, "--threads", 1, "-q", "-o", out)
    with h5py.File(out, "r") as g:
        assert np.array_equal(g["loss"][:], loss)
        assert np.array_equal(g["loss_by_segment"][:], by_seg)
        assert np.array_equal(g["es"][:], es)


def test_compare_prints_each_scenario(result, tmp_path):
    base = tmp_path / "baseline.h5"
    run("run", SRC / "scenarios" / "baseline.yaml", "--loans", 4000, "--paths", 400, "-q", "-o", base)
    out = run("compare", base, result).stdout
    assert "baseline" in out and "tech_funding_winter" in out


def test_analysis_compare_script(result):
    script = SRC / "analysis" / "cascade_results.py"
    out = subprocess.run([sys.executable, str(script), "compare", str(result)], check=True,
                         capture_output=True, text=True).stdout
    assert "tech_funding_winter" in out and "ES 99.9%" in out


def test_compare_rejects_foreign_hdf5_without_crashing(tmp_path):
    """A file with the right names but wrong shapes must be refused, not read past its end."""
    evil = tmp_path / "evil.h5"
    with h5py.File(evil, "w") as f:
        f.attrs["scenario_name"] = "x"
        f.attrs["seed"] = np.arange(1000)
        f.attrs["paths"] = 1
        f.attrs["loans"] = 1
        f["el"] = np.arange(5.0)
        f["stressed_ead"] = np.arange(10000.0)
    proc = subprocess.run([BIN, "compare", str(evil)], capture_output=True, text=True)
    assert proc.returncode == 3
    assert "not a cascade result file" in proc.stderr


@pytest.fixture(scope="module")
def contagion_result(tmp_path_factory):
    d = tmp_path_factory.mktemp("cont")
    out = d / "chain.h5"
    run("run", SRC / "scenarios" / "chain_master_jiangsu.yaml", "--loans", 5000, "--paths", 300,
        "-q", "-o", out)
    return out


@pytest.mark.parametrize("engine", ["h5netcdf", "netcdf4"])
def test_contagion_datasets_have_named_dimensions(contagion_result, engine):
    ds = xr.open_dataset(contagion_result, engine=engine)
    try:
        assert ds.attrs["contagion"] == "on"
        assert int(ds.attrs["network_links"]) > 0
        assert ds["defaults_by_round"].dims == ("path", "round")
        assert ds["contagion_loss_by_segment"].dims == ("path", "segment")
        assert ds["longest_cascade_path"].dims == ("cascade_rank",)
        # defaults by round add up to the defaults of the path
        assert (ds["defaults_by_round"].sum("round") == ds["defaults"]).all()
        # contagion's part of each path's loss is its segments' sum, and at most the loss
        np.testing.assert_allclose(ds["contagion_loss_by_segment"].sum("segment"), ds["loss_contagion"],
                                   rtol=1e-12)
        assert (ds["loss_contagion"] <= ds["loss"] * (1 + 1e-12)).all()
        share = ds["es_contagion_share"].sel(level=0.999)
        assert 0.0 <= float(share) <= 1.0
        np.testing.assert_allclose(ds["es_contribution_contagion"].sum("segment"), ds["es_contagion"],
                                   rtol=1e-9)
    finally:
        ds.close()


def test_chunks_are_the_bytes_hdf5s_filters_write(tmp_path):
    """cascade deflates the per-path datasets' chunks on its threads and
    hands them to HDF5 ready-made (sim/output/output.c): each stored chunk,
    the last one padded past the end included, must be byte for byte the
    chunk HDF5's own shuffle and deflate filters store for the same values
    and layout, with the same filter mask."""
    out = tmp_path / "chunks.h5"
    run("run", SRC / "scenarios" / "tech_funding_winter.yaml", "--loans", 2000, "--paths", 5000,
        "--threads", 2, "-q", "-o", out)
    ref = tmp_path / "ref.h5"
    checked = 0
    with h5py.File(out, "r") as f, h5py.File(ref, "w") as g:
        for name, d in f.items():
            if not isinstance(d, h5py.Dataset) or d.chunks is None or d.compression != "gzip":
                continue
            assert d.shuffle and d.compression_opts == 4
            r = g.create_dataset(name, data=d[()], dtype=d.dtype, chunks=d.chunks, shuffle=True,
                                 compression="gzip", compression_opts=4)
            n = d.id.get_num_chunks()
            assert n == r.id.get_num_chunks() and n >= 1
            for i in range(n):
                offset = d.id.get_chunk_info(i).chunk_offset
                assert d.id.read_direct_chunk(offset) == r.id.read_direct_chunk(offset), (name, offset)
            checked += n
    # loss_by_segment alone has 3 chunks of 1,820 rows, the last one partial
    assert checked >= 10
