#!/usr/bin/python3
"""Where a run's time goes: setup, paths and what follows them, by phase.

    /usr/bin/python3 bench/phases.py [--scenario baseline] [--loans 10000000]
        [--paths 100] [--threads 2] [--repeat 3] [--bin build/cascade]
        [--vs OTHER/cascade] [--no-network] [--grades N]

Runs `cascade run` in a fresh process --repeat times and reads the phase
times it prints on its `times:` line: setup (book, network, plan,
calibration), paths (the kernel), statistics, loan contributions and file
(the summary, the analytic cross-checks, the contributions, writing the
result), and the whole process's wall time. With few paths and many loans
(the defaults) the phases around the kernel dominate: a batch of dozens of
scenarios on a large book spends its night there unless it asks for many
paths. --vs runs a second build interleaved with the first (a b a b ...)
and prints the ratio of the medians, phase by phase. --no-network leaves
the scenario's built-in network out. --grades N runs the scenario on a CSV
book instead: the built-in book of --loans loans (exported with `cascade
portfolio`) with every PD moved to the nearest of N grades of a rating
scale, evenly spaced in log PD from 0.03% to 30% (banks' books take their
PDs from such a scale; the built-in book draws them from a continuous
distribution). Quote medians and ratios: the machines here are shared and
noisy.
"""
import argparse
import csv
import math
import statistics
import subprocess
import tempfile
from pathlib import Path

from mpi import run
from throughput import cpu_model

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("setup", "paths", "after", "process")


def one_run(binary, scenario, args, out):
    """The phases of one run in a fresh process: setup, paths, what follows
    (statistics, contributions, file) and the whole process, in seconds."""
    size = [] if args.grades else ["--loans", str(args.loans)]
    t = run([str(binary), "run", str(scenario)] + size + ["--paths", str(args.paths),
             "--threads", str(args.threads), "-o", str(out)])
    out.unlink()
    return [t["setup"], t["paths"], t["post"], t["wall"]]


def graded_book(args, scenario, tmp):
    """A scenario that extends `scenario` with the built-in book of
    args.loans loans as a CSV file whose PDs sit on args.grades grades."""
    raw, book = tmp / "book.csv", tmp / "graded.csv"
    subprocess.run([args.bin, "portfolio", "--loans", str(args.loans), "--export", str(raw), "-q"],
                   check=True)
    lo, hi, n = math.log(0.0003), math.log(0.3), args.grades
    with open(raw, newline="") as f, open(book, "w", newline="") as g:
        rows, out = csv.reader(f), csv.writer(g, lineterminator="\n")
        head = next(rows)
        out.writerow(head)
        at = head.index("pd")
        for row in rows:
            k = round((math.log(float(row[at])) - lo) / (hi - lo) * (n - 1)) if n > 1 else 0
            row[at] = repr(math.exp(lo + (hi - lo) * min(max(k, 0), n - 1) / max(n - 1, 1)))
            out.writerow(row)
    raw.unlink()
    graded = tmp / "graded.yaml"
    graded.write_text(f"extends: {Path(scenario).resolve()}\nname: {Path(scenario).stem}\n"
                      f"portfolio: {{file: {book}}}\nclassification: yrd\n")
    return graded


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "build" / "cascade"))
    ap.add_argument("--vs", help="another build to compare with, run interleaved")
    ap.add_argument("--scenario", default="baseline", help="a name in scenarios/ or a file")
    ap.add_argument("--loans", type=int, default=10000000)
    ap.add_argument("--paths", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-network", action="store_true")
    ap.add_argument("--grades", type=int, default=0, help="a CSV book with PDs on N grades")
    args = ap.parse_args()
    builds = [args.bin] + ([args.vs] if args.vs else [])
    runs = {b: [] for b in builds}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scenario = Path(args.scenario)
        if not scenario.suffix == ".yaml":
            scenario = ROOT / "scenarios" / f"{args.scenario}.yaml"
        if args.no_network:
            plain = tmp / "no_network.yaml"
            plain.write_text(f"extends: {scenario.resolve()}\nname: {scenario.stem}\n"
                             "network: {builtin: none}\n")
            scenario = plain
        if args.grades:
            scenario = graded_book(args, scenario, tmp)
        for _ in range(args.repeat):
            for b in builds:
                runs[b].append(one_run(b, scenario, args, tmp / "bench.h5"))
    book = f" (CSV book, PDs on {args.grades} grades)" if args.grades else ""
    print(f"# {cpu_model()}; {args.scenario}{' without network' if args.no_network else ''}, "
          f"{args.loans:,} loans{book}, {args.paths} paths, {args.threads} threads, "
          f"median of {args.repeat}\n")
    print("| build | " + " | ".join(f"{p} s (min-max)" for p in PHASES) + " |")
    print("| --- |" + " --- |" * len(PHASES))
    med = {}
    for b in builds:
        cols = list(zip(*runs[b]))
        med[b] = [statistics.median(c) for c in cols]
        cells = [f"{statistics.median(c):.2f} ({min(c):.2f}-{max(c):.2f})" for c in cols]
        name = subprocess.run([b, "--version"], capture_output=True, text=True).stdout.strip()
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.vs:
        ratios = ", ".join(f"{p} {med[args.bin][i] / med[args.vs][i]:.2f}"
                           for i, p in enumerate(PHASES) if med[args.vs][i] > 0)
        print(f"\n- this build / other build (medians): {ratios}")


if __name__ == "__main__":
    main()
