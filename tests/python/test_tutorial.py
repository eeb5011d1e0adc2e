"""docs/TUTORIAL.md runs as written: every fenced ```sh and ```python block,
in order, in a temporary folder laid out like the repository root (analysis/
and scenarios/ linked from the source tree, build/cascade the program under
test, CASCADE_BINARY). Python blocks run with Debian's interpreter, each as
its own script, as the tutorial says.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(os.environ.get("CASCADE_BINARY", "build/cascade")).resolve()
SRC = Path(os.environ.get("CASCADE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
TUTORIAL = SRC / "docs" / "TUTORIAL.md"
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable

FENCE = re.compile(r"^```(sh|python)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def blocks():
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(TUTORIAL.read_text())]


def test_tutorial_has_blocks_of_both_kinds():
    kinds = [k for k, _ in blocks()]
    assert kinds.count("sh") >= 4 and kinds.count("python") >= 4


def test_tutorial_runs_as_written(tmp_path):
    for name in ("analysis", "scenarios"):
        (tmp_path / name).symlink_to(SRC / name, target_is_directory=True)
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "cascade").symlink_to(BIN)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
    for i, (kind, code) in enumerate(blocks(), 1):
        cmd = ["bash", "-euo", "pipefail", "-c", code] if kind == "sh" else [PYTHON, "-c", code]
        proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            pytest.fail(f"tutorial block {i} ({kind}) failed with exit code {proc.returncode}:\n"
                        f"{code}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    # what the tutorial says it makes is there
    made = {p.name for p in (tmp_path / "figures").iterdir()}
    assert {"loss_distribution.png", "exceedance.png", "losses_by_region_sector.png",
            "contagion_share.png", "tail.svg"} <= made
    assert (tmp_path / "results" / "tutorial" / "comparison.csv").stat().st_size > 0
    # and nothing was written into the source tree through the links
    assert not any(p.name.endswith((".h5", ".png", ".svg")) for p in (SRC / "analysis").iterdir())
