#!/usr/bin/python3
"""What contagion costs: the same book with and without the cascade.

    /usr/bin/python3 bench/contagion.py [--loans 1000000] [--paths 1000]
        [--threads 2] [--kernel sparse] [--repeat 3] [--bin build/cascade]

Runs scenarios/baseline.yaml (no contagion) and scenarios/baseline_contagion.yaml
(the same book, the built-in network of about 3 links per loan, spill-over)
interleaved, each in a fresh process, and prints the medians of the kernel's
own time (read from the result file; network generation and file writing
are not in it), loans x paths per second, and the ratio of the two
throughputs, with the network's size and the mean defaults per path.
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
    args = ap.parse_args()
    runs = {"baseline": [], "baseline_contagion": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.h5"
        for _ in range(args.repeat):
            for scenario in runs:
                runs[scenario].append(one_run(args.bin, args.loans, args.paths, args.threads,
                                              args.kernel, out, scenario, keep=True))
    version = subprocess.run([args.bin, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# {cpu_model()}, {version}; {args.loans:,} loans, {args.paths} paths, "
          f"{args.threads} threads, kernel {args.kernel}, median of {args.repeat}\n")
    print("| scenario | links | kernel s (min-max) | loans x paths / s | defaults per path | peak RSS MiB |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    rate = {}
    for scenario, rs in runs.items():
        walls = [r[0] for r in rs]
        wall = statistics.median(walls)
        rate[scenario] = args.loans * args.paths / wall
        defaults = statistics.median(r[1] for r in rs) / args.paths
        links = rs[0][4].get("network_links", 0)
        print(f"| {scenario} | {int(links):,} | {wall:.3f} ({min(walls):.3f}-{max(walls):.3f}) | "
              f"{rate[scenario]:.3g} | {defaults:.0f} | {max(r[2] for r in rs) / 2**20:.0f} |")
    print(f"\n- throughput with contagion / without: "
          f"{rate['baseline_contagion'] / rate['baseline']:.2f}")


if __name__ == "__main__":
    main()
