"""The shipped macro scenarios (scenarios/macro_*.yaml, three years, on the
satellite model of scenarios/macro/satellite.yaml): light, moderate and
severe run and are ordered as their names say, against baseline_3y.yaml.
With the dense kernel and one seed (common random numbers, one draw per loan
and year, whether or not it already defaulted) every path of a harsher
scenario loses at least as much over the horizon as the same path of a
milder one (each year of a harsher scenario is at least as harsh as the
milder one's and as its own later years, so a loan defaults no later and
loses no less), so EL and ES 99.9% rise whatever the noise; EL also by more
than 3 combined Monte Carlo standard errors each step, and the cumulative
EL and ES by year rise too. The satellite bases with every variable at 0
give the baselines' numbers bit for bit (one year and three); the resolved
scenario (which writes the macro section, not the shocks it derives)
re-runs to the same losses.
"""
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

BIN = os.environ.get("CASCADE_BINARY", "build/cascade")
SRC = Path(os.environ.get("CASCADE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
ARGS = ["--loans", 20000, "--paths", 3000, "--threads", 2, "--kernel", "dense", "-q"]


def run(scenario, out):
    subprocess.run([BIN, "run", str(scenario), *map(str, ARGS), "-o", str(out)], check=True,
                   capture_output=True, text=True)
    return out


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("macro")
    names = ["baseline", "macro/satellite_1y", "baseline_3y", "macro/satellite", "macro_light",
             "macro_moderate", "macro_severe"]
    return {n: run(SRC / "scenarios" / f"{n}.yaml", d / f"{n.replace('/', '_')}.h5") for n in names}, d


def headline(path):
    with h5py.File(path, "r") as f:
        levels = list(f["level"][:])
        k = levels.index(0.999)
        return f["el"][()], f["el_se"][()], f["es"][k], f["es_se"][k]


def by_year(path):
    """Cumulative EL and ES 99.9% by year."""
    with h5py.File(path, "r") as f:
        k = list(f["level"][:]).index(0.999)
        assert list(f["year"][:]) == [1, 2, 3]
        return f["el_cumulative"][:], f["es_cumulative"][:, k]


def losses(path):
    with h5py.File(path, "r") as f:
        return f["loss"][:]


def test_light_moderate_severe_are_ordered(results):
    files, _ = results
    previous, previous_loss = headline(files["baseline_3y"]), losses(files["baseline_3y"])
    previous_years = by_year(files["baseline_3y"])
    for name in ("macro_light", "macro_moderate", "macro_severe"):
        el, el_se, es, es_se = headline(files[name])
        loss = losses(files[name])
        assert np.all(loss >= previous_loss), name + ": a path lost less than under a milder scenario"
        assert el - previous[0] > 3 * np.hypot(el_se, previous[1]), name
        assert es > previous[2], name
        years = by_year(files[name])
        assert np.all(years[0] > previous_years[0]) and np.all(years[1] > previous_years[1]), name
        previous, previous_loss, previous_years = (el, el_se, es, es_se), loss, years


def test_satellite_at_zero_is_the_baseline(results):
    files, _ = results
    for base, satellite, extra in (("baseline", "macro/satellite_1y", ()),
                                   ("baseline_3y", "macro/satellite", ("loss_cumulative",
                                                                       "loss_net_cumulative"))):
        with h5py.File(files[base], "r") as a, h5py.File(files[satellite], "r") as b:
            for name in ("loss", "loss_by_segment", "factor_value", "es", "stressed_expected_loss",
                         *extra):
                np.testing.assert_array_equal(a[name][:], b[name][:], err_msg=name)


def test_resolved_macro_scenario_reruns(results):
    files, d = results
    with h5py.File(files["macro_severe"], "r") as f:
        resolved = f["scenario_resolved"][()].decode()
        loss = f["loss"][:]
        shift = f["factor_shift_given"][:]
    assert "macro:" in resolved and '"gdp_growth": [-6, -4, -2]' in resolved
    assert "shocks: []" in resolved          # the derived shocks are not written as shocks
    assert shift.min() < -2.0                # gdp -6 x 0.35: the global factor -2.1 SD
    again = d / "again.yaml"
    again.write_text(resolved)
    out = run(again, d / "again.h5")
    with h5py.File(out, "r") as f:
        np.testing.assert_array_equal(f["loss"][:], loss)
