#!/usr/bin/python3
"""Instructions a path, counted: a measure that the machine's load does not move.

    /usr/bin/python3 bench/instructions.py [--bin build/cascade] [--vs OTHER/cascade]
        [--scenario on_top] [--loans 1000000] [--paths 100]
        [--function path_network]

Runs `cascade run` under valgrind's callgrind tool, counting only the
instructions executed inside --function and what it calls (callgrind's
--toggle-collect), and prints them per path. The default, path_network on
the on_top scenario (scenarios/baseline_contagion.yaml without the
calibration's pilot paths, as in bench/contagion.py), is the cascade of a
path; simulate_path on baseline is the sparse kernel of a path (with
on_top, simulate_path holds the cascade too). Other scenarios: a name in
scenarios/ or the path of a file.

Timings on a shared machine move by a tenth from one run to the next
(docs/PERFORMANCE.md), more than most single changes to a hot loop; an
instruction count is the same on every run of the same build. It is not a
time: it does not see cache misses, mispredicted branches or the
overlap of loads, so a change that trades instructions for misses (or
back) needs the timed benchmarks (bench/contagion.py, bench/night.py)
as well. valgrind runs the whole program about 50 times slower: at 10^6
loans a count takes about a minute a build, most of it the book's setup.

--vs counts a second build the same way and prints the ratio.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def count(binary, scenario, loans, paths, function, tmp):
    """Instructions executed inside `function` in one run, per path."""
    out = Path(tmp) / "count.out"
    cmd = ["valgrind", "--tool=callgrind", f"--toggle-collect={function}",
           f"--callgrind-out-file={out}", str(binary), "run", str(scenario), "-q",
           "-o", str(Path(tmp) / "count.h5"), "--loans", str(loans), "--paths", str(paths),
           "--threads", "1"]
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    totals = None
    for line in out.read_text().splitlines():
        if line.startswith("totals:") or line.startswith("summary:"):
            totals = int(line.split()[1])
    out.unlink()
    if not totals:
        sys.exit(f"no instructions counted inside {function}: is it a function of {binary}?")
    return totals / paths


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "build" / "cascade"))
    ap.add_argument("--vs", help="another build, counted the same way")
    ap.add_argument("--scenario", default="on_top")
    ap.add_argument("--loans", type=int, default=1000000)
    ap.add_argument("--paths", type=int, default=100)
    ap.add_argument("--function", default="path_network")
    args = ap.parse_args()
    if subprocess.run(["valgrind", "--version"], capture_output=True).returncode != 0:
        sys.exit("valgrind is needed (Debian package valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        scenario = args.scenario
        if scenario == "on_top":
            scenario = Path(tmp) / "on_top.yaml"
            scenario.write_text(f"extends: {ROOT / 'scenarios' / 'baseline_contagion.yaml'}\n"
                                "name: on_top\ncontagion: {calibration: {mode: on_top}}\n")
        elif not re.search(r"\.ya?ml$", scenario):
            scenario = ROOT / "scenarios" / f"{scenario}.yaml"
        builds = [args.bin] + ([args.vs] if args.vs else [])
        counts = [count(b, scenario, args.loans, args.paths, args.function, tmp) for b in builds]
    print(f"# instructions a path inside {args.function}: {args.scenario}, {args.loans:,} loans, "
          f"{args.paths} paths, 1 thread (callgrind)\n")
    for b, c in zip(builds, counts):
        print(f"- {b}: {c / 1e6:.3f} million")
    if args.vs:
        print(f"- this / other: {counts[0] / counts[1]:.3f}")


if __name__ == "__main__":
    os.environ.setdefault("CASCADE_HUGE_PAGES", "0")
    main()
