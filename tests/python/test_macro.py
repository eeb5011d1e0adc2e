"""The shipped macro scenarios (scenarios/macro_*.yaml, satellite model in
scenarios/macro/satellite.yaml): light, moderate and severe run and are
ordered as their names say. With the dense kernel and one seed (common
random numbers, one draw per loan) every path of a harsher scenario loses at
least as much as the same path of a milder one, so EL and ES 99.9% rise
whatever the noise; EL also by more than 3 combined Monte Carlo standard
errors each step. The satellite base with
every variable at 0 gives the baseline's numbers bit for bit; the resolved
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
    names = ["baseline", "macro/satellite", "macro_light", "macro_moderate", "macro_severe"]
    return {n: run(SRC / "scenarios" / f"{n}.yaml", d / f"{n.replace('/', '_')}.h5") for n in names}, d


def headline(path):
    with h5py.File(path, "r") as f:
        levels = list(f["level"][:])
        k = levels.index(0.999)
        return f["el"][()], f["el_se"][()], f["es"][k], f["es_se"][k]


def losses(path):
    with h5py.File(path, "r") as f:
        return f["loss"][:]


def test_light_moderate_severe_are_ordered(results):
    files, _ = results
    previous, previous_loss = headline(files["baseline"]), losses(files["baseline"])
    for name in ("macro_light", "macro_moderate", "macro_severe"):
        el, el_se, es, es_se = headline(files[name])
        loss = losses(files[name])
        assert np.all(loss >= previous_loss), name + ": a path lost less than under a milder scenario"
        assert el - previous[0] > 3 * np.hypot(el_se, previous[1]), name
        assert es > previous[2], name
        previous, previous_loss = (el, el_se, es, es_se), loss


def test_satellite_at_zero_is_the_baseline(results):
    files, _ = results
    with h5py.File(files["baseline"], "r") as a, h5py.File(files["macro/satellite"], "r") as b:
        for name in ("loss", "loss_by_segment", "factor_value", "es", "stressed_expected_loss"):
            np.testing.assert_array_equal(a[name][:], b[name][:], err_msg=name)


def test_resolved_macro_scenario_reruns(results):
    files, d = results
    with h5py.File(files["macro_severe"], "r") as f:
        resolved = f["scenario_resolved"][()].decode()
        loss = f["loss"][:]
        shift = f["factor_shift_given"][:]
    assert "macro:" in resolved and '"gdp_growth": -6' in resolved
    assert "shocks: []" in resolved          # the derived shocks are not written as shocks
    assert shift.min() < -2.0                # gdp -6 x 0.35: the global factor -2.1 SD
    again = d / "again.yaml"
    again.write_text(resolved)
    out = run(again, d / "again.h5")
    with h5py.File(out, "r") as f:
        np.testing.assert_array_equal(f["loss"][:], loss)
