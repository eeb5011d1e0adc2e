#!/usr/bin/python3
"""Throughput of the simulation kernels on the built-in default portfolio.

    /usr/bin/python3 bench/throughput.py [--loans 100000,1000000,10000000]
        [--paths 2000] [--paths-dense 100] [--threads 1,2]
        [--kernels sparse,dense] [--repeat 3] [--bin build/cascade]
        [--vs OTHER/cascade] [--no-network]

--vs runs every configuration with a second build too, interleaved with the
first (a b a b ...), and prints the ratio of their kernel times (medians,
and the median of the pairwise ratios). --no-network runs the baseline
without its network (the book and the kernel alone: the memory per loan of
the engine itself).

For every (loans, kernel, threads) it runs `cascade run scenarios/baseline.yaml`
--repeat times, each in a fresh process, and reads the simulation time the
program records in the result file (`elapsed_seconds`: the kernel only, not
portfolio generation or file writing) besides the whole process's wall time
and peak resident memory (from wait4). The dense kernel gets fewer paths
(--paths-dense): throughput is per loan and path, so the figures compare.
It prints a Markdown table of medians, then the ratios asked of the kernels:
sparse over dense throughput, 2 threads over 1, kernel time at 10x the
loans, and peak bytes per loan less the per-path output. Runs are
interleaved (a b a b ...) so that a drift in the machine's speed hits every
configuration alike. Quote medians and ratios: machines here are shared and
noisy.
"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parents[1]


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def one_run(binary, loans, paths, threads, kernel, out, scenario="baseline", keep=False):
    """One run in a fresh process: (kernel seconds, total defaults, peak RSS
    bytes, process seconds[, root attributes if keep]). scenario: a name in
    scenarios/ or the path of a scenario file."""
    path = scenario if str(scenario).endswith(".yaml") else ROOT / "scenarios" / f"{scenario}.yaml"
    cmd = [str(binary), "run", str(path), "--loans", str(loans),
           "--paths", str(paths), "--threads", str(threads), "--kernel", kernel, "-q", "-o", str(out)]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    process_wall = time.monotonic() - start
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"benchmark run failed: {' '.join(cmd)}\n{err}")
    with h5py.File(out, "r") as f:
        if f.attrs["kernel"] != kernel:
            sys.exit(f"benchmark asked for kernel {kernel}, the result says {f.attrs['kernel']}")
        wall = float(f.attrs["elapsed_seconds"])
        defaults = float(f["defaults"][:].sum())
        attrs = dict(f.attrs)
    out.unlink()
    result = (wall, defaults, usage.ru_maxrss * 1024.0, process_wall)  # RSS in bytes
    return result + (attrs,) if keep else result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "build" / "cascade"))
    ap.add_argument("--loans", default="100000", help="comma-separated portfolio sizes")
    ap.add_argument("--paths", type=int, default=2000)
    ap.add_argument("--paths-dense", type=int, default=100)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--kernels", default="sparse,dense")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--vs", default=None, help="a second build to compare with, interleaved")
    ap.add_argument("--no-network", action="store_true", help="the baseline without its network")
    args = ap.parse_args()
    loans_list = [int(x) for x in args.loans.split(",")]
    threads_list = [int(x) for x in args.threads.split(",")]
    kernels = args.kernels.split(",")

    configs = [(n, k, t) for n in loans_list for k in kernels for t in threads_list]
    paths = {k: (args.paths_dense if k == "dense" else args.paths) for k in kernels}
    samples = {c: [] for c in configs}
    other = {c: [] for c in configs}
    with tempfile.TemporaryDirectory() as tmp:
        scenario = "baseline"
        if args.no_network:
            scenario = Path(tmp) / "no_network.yaml"
            scenario.write_text(f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\n"
                                "name: baseline_no_network\nnetwork: {builtin: none}\n")
        for _ in range(args.repeat):
            for c in configs:
                n, k, t = c
                samples[c].append(one_run(args.bin, n, paths[k], t, k, Path(tmp) / "bench.h5",
                                          scenario))
                if args.vs:
                    other[c].append(one_run(args.vs, n, paths[k], t, k, Path(tmp) / "bench.h5",
                                            scenario))

    version = subprocess.run([args.bin, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# {datetime.date.today().isoformat()}, {cpu_model()}, {os.cpu_count()} cores, {version}")
    print(f"# baseline scenario; paths: {', '.join(f'{k} {p}' for k, p in paths.items())}; "
          f"median of {args.repeat} runs (min-max)\n")
    print("| loans | kernel | threads | paths | kernel s (min-max) | process s | loans x paths / s "
          "| defaults / s | peak RSS MiB | bytes / loan |")
    print("| ---: | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    med = {}
    for n in loans_list:
        for k in kernels:
            for t in threads_list:
                runs = samples[(n, k, t)]
                walls = [r[0] for r in runs]
                wall = statistics.median(walls)
                defaults = statistics.median(r[1] for r in runs)
                rss = max(r[2] for r in runs)
                process = statistics.median(r[3] for r in runs)
                # per-path output held in memory: loss, defaults, 36 segment losses, 14 factors
                output = paths[k] * 8 * (1 + 1 + 36 + 14)
                per_loan = (rss - output) / n
                rate = n * paths[k] / wall
                med[(n, k, t)] = (wall, rate)
                print(f"| {n:,} | {k} | {t} | {paths[k]} | {wall:.3f} ({min(walls):.3f}-{max(walls):.3f}) | "
                      f"{process:.2f} | {rate:.3g} | {defaults / wall:.3g} | {rss / 2**20:.0f} | {per_loan:.1f} |")

    print()
    if args.vs:
        vs_version = subprocess.run([args.vs, "--version"], capture_output=True, text=True).stdout.strip()
        print(f"Against {args.vs} ({vs_version}), kernel seconds, medians of {args.repeat} "
              "interleaved runs:\n")
        print("| loans | kernel | threads | this build s (min-max) | other build s (min-max) | "
              "ratio of medians | median of pairwise ratios | peak RSS MiB (this / other) |")
        print("| ---: | --- | ---: | --- | --- | ---: | ---: | ---: |")
        for c in configs:
            n, k, t = c
            a = [r[0] for r in samples[c]]
            b = [r[0] for r in other[c]]
            pair = statistics.median(x / y for x, y in zip(a, b))
            print(f"| {n:,} | {k} | {t} | {statistics.median(a):.3f} ({min(a):.3f}-{max(a):.3f}) | "
                  f"{statistics.median(b):.3f} ({min(b):.3f}-{max(b):.3f}) | "
                  f"{statistics.median(a) / statistics.median(b):.3f} | {pair:.3f} | "
                  f"{max(r[2] for r in samples[c]) / 2**20:.0f} / {max(r[2] for r in other[c]) / 2**20:.0f} |")
        print()
    tmax = max(threads_list)
    if "sparse" in kernels and "dense" in kernels:
        for n in loans_list:
            for t in threads_list:
                r = med[(n, "sparse", t)][1] / med[(n, "dense", t)][1]
                print(f"- {n:,} loans, {t} thread(s): sparse / dense throughput = {r:.1f}")
    if len(threads_list) > 1:
        for n in loans_list:
            for k in kernels:
                r = med[(n, k, tmax)][1] / med[(n, k, min(threads_list))][1]
                print(f"- {n:,} loans, {k}: {tmax} threads / {min(threads_list)} = {r:.2f}")
    for a, b in zip(loans_list, loans_list[1:]):
        for k in kernels:
            for t in threads_list:
                scale = (med[(b, k, t)][0] / paths[k]) / (med[(a, k, t)][0] / paths[k])
                print(f"- {k}, {t} thread(s): kernel time x{scale:.2f} from {a:,} to {b:,} loans")


if __name__ == "__main__":
    main()
