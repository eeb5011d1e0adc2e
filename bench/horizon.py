#!/usr/bin/python3
"""What a multi-year horizon costs: the same book over one year and three.

    /usr/bin/python3 bench/horizon.py [--loans 1000000] [--paths 1000]
        [--threads 2] [--kernel sparse] [--repeat 3] [--scenario baseline]
        [--bin build/cascade]

Runs the scenario (scenarios/<name>.yaml) as it is and extended with
model.horizon_years: 3, interleaved, each in a fresh process, and prints the
medians of the kernel's own time (read from the result file; building the
plans and writing the file are not in it), the whole process's time and the
peak memory, and the ratios three years / one year. The issue's bound is a
kernel-time ratio of at most 3.5.
"""
import argparse
import statistics
import subprocess
import tempfile
from pathlib import Path

from throughput import cpu_model, one_run


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = Path(__file__).resolve().parents[1]
    ap.add_argument("--bin", default=str(root / "build" / "cascade"))
    ap.add_argument("--loans", type=int, default=1000000)
    ap.add_argument("--paths", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kernel", default="sparse")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scenario", default="baseline")
    args = ap.parse_args()
    runs = {1: [], 3: []}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.h5"
        three = Path(tmp) / "three_years.yaml"
        three.write_text(f"extends: {root / 'scenarios' / (args.scenario + '.yaml')}\n"
                         f"name: {args.scenario}_3y\nmodel: {{horizon_years: 3}}\n")
        for _ in range(args.repeat):
            for years in runs:
                which = str(three) if years == 3 else args.scenario
                runs[years].append(one_run(args.bin, args.loans, args.paths, args.threads,
                                           args.kernel, out, which))
    version = subprocess.run([args.bin, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# {cpu_model()}, {version}; scenario {args.scenario}, {args.loans:,} loans, "
          f"{args.paths} paths, {args.threads} threads, kernel {args.kernel}, median of {args.repeat}\n")
    print("| horizon | kernel s (min-max) | process s | defaults per path | peak RSS MiB |")
    print("| --- | --- | ---: | ---: | ---: |")
    med = {}
    for years, rs in runs.items():
        walls = [r[0] for r in rs]
        med[years] = (statistics.median(walls), statistics.median(r[3] for r in rs),
                      max(r[2] for r in rs))
        defaults = statistics.median(r[1] for r in rs) / args.paths
        print(f"| {years} year{'s' if years > 1 else ''} | {med[years][0]:.3f} "
              f"({min(walls):.3f}-{max(walls):.3f}) | {med[years][1]:.2f} | {defaults:.0f} | "
              f"{med[years][2] / 2**20:.0f} |")
    print(f"\n- three years / one year: kernel {med[3][0] / med[1][0]:.2f}, "
          f"process {med[3][1] / med[1][1]:.2f}, peak memory {med[3][2] / med[1][2]:.2f}")


if __name__ == "__main__":
    main()
