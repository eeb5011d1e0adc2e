#!/usr/bin/python3
"""What contagion costs: the same book with and without the cascade.

    /usr/bin/python3 bench/contagion.py [--loans 1000000] [--paths 1000]
        [--threads 2] [--kernel sparse] [--repeat 3] [--bin build/cascade]
        [--scenarios baseline,baseline_contagion,on_top] [--vs OTHER/cascade]

Runs scenarios/baseline.yaml (no contagion; the network's guarantees are
booked), scenarios/baseline_contagion.yaml (the same book, the built-in
network, spill-over, PD-preserving calibration) and the latter in on_top mode
(no calibration) interleaved, each in a fresh process, and prints the medians
of the kernel's own time (read from the result file; network generation,
calibration and file writing are not in it), loans x paths per second, the
ratio of the throughputs, and the whole process's time (which holds the
calibration's pilot runs), with the network's size and the mean defaults per
path.

--vs runs every scenario with a second build too, interleaved with the
first (a b a b ...), and prints the median of the pairwise ratios of the
kernel times, this build's over the other's: an A/B of a change to the
cascade. on_top alone is the quick one (no calibration pilots: a few
seconds a run at 10^6 loans).
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
    ap.add_argument("--scenarios", default="baseline,baseline_contagion,on_top")
    ap.add_argument("--vs", help="another build to compare with, run interleaved")
    args = ap.parse_args()
    runs = {s: [] for s in args.scenarios.split(",")}
    unknown = set(runs) - {"baseline", "baseline_contagion", "on_top"}
    if unknown:
        ap.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    other = {s: [] for s in runs}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.h5"
        on_top = Path(tmp) / "on_top.yaml"
        on_top.write_text(f"extends: {root / 'scenarios' / 'baseline_contagion.yaml'}\n"
                          "name: on_top\ncontagion: {calibration: {mode: on_top}}\n")
        for _ in range(args.repeat):
            for scenario in runs:
                which = str(on_top) if scenario == "on_top" else scenario
                runs[scenario].append(one_run(args.bin, args.loans, args.paths, args.threads,
                                              args.kernel, out, which, keep=True))
                if args.vs:
                    other[scenario].append(one_run(args.vs, args.loans, args.paths, args.threads,
                                                   args.kernel, out, which))
    version = subprocess.run([args.bin, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# {cpu_model()}, {version}; {args.loans:,} loans, {args.paths} paths, "
          f"{args.threads} threads, kernel {args.kernel}, median of {args.repeat}\n")
    print("| scenario | links | kernel s (min-max) | loans x paths / s | process s | defaults per path | peak RSS MiB |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    rate = {}
    for scenario, rs in runs.items():
        walls = [r[0] for r in rs]
        wall = statistics.median(walls)
        rate[scenario] = args.loans * args.paths / wall
        defaults = statistics.median(r[1] for r in rs) / args.paths
        links = rs[0][4].get("network_links", 0)
        process = statistics.median(r[3] for r in rs)
        print(f"| {scenario} | {int(links):,} | {wall:.3f} ({min(walls):.3f}-{max(walls):.3f}) | "
              f"{rate[scenario]:.3g} | {process:.2f} | {defaults:.0f} | "
              f"{max(r[2] for r in rs) / 2**20:.0f} |")
    if "baseline" in rate:
        for scenario, name in (("baseline_contagion", "PD-preserving"), ("on_top", "on top")):
            if scenario in rate:
                print(f"\n- kernel throughput with contagion / without, {name}: "
                      f"{rate[scenario] / rate['baseline']:.2f}")
    if args.vs:
        print(f"\n## against {args.vs}\n")
        for scenario, rs in other.items():
            mine = [r[0] for r in runs[scenario]]
            theirs = [r[0] for r in rs]
            pairs = statistics.median(a / b for a, b in zip(mine, theirs))
            print(f"- {scenario}: this {statistics.median(mine):.3f} s, other "
                  f"{statistics.median(theirs):.3f} s ({min(theirs):.3f}-{max(theirs):.3f}); "
                  f"this / other, median of pairs {pairs:.3f}")


if __name__ == "__main__":
    main()
