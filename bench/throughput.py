#!/usr/bin/python3
"""Throughput of the simulation kernel on the built-in default portfolio.

    /usr/bin/python3 bench/throughput.py [--loans 100000] [--paths 4000]
        [--threads 1,2] [--kernels dense] [--repeat 3] [--bin build/cascade]

For every (loans, kernel, threads) it runs `cascade run scenarios/baseline.yaml`
--repeat times, each in a fresh process, and reads the simulation wall time
the program records in the result file (`elapsed_seconds`: the kernel only,
not portfolio generation or file writing). It prints a Markdown table of the
medians: wall time, loans x paths per second, defaults per second, peak
resident memory of the whole process (from wait4), and the speed-up over the
first thread count. Runs are interleaved (a b a b ...) so that a drift in the
machine's speed hits every configuration alike. Quote medians and ratios:
machines here are shared and noisy.
"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
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


def one_run(binary, loans, paths, threads, kernel, out):
    cmd = [str(binary), "run", str(ROOT / "scenarios" / "baseline.yaml"), "--loans", str(loans),
           "--paths", str(paths), "--threads", str(threads), "-q", "-o", str(out)]
    if kernel != "dense":
        cmd += ["--kernel", kernel]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"benchmark run failed: {' '.join(cmd)}\n{err}")
    with h5py.File(out, "r") as f:
        wall = float(f.attrs["elapsed_seconds"])
        defaults = float(f["defaults"][:].sum())
    out.unlink()
    return wall, defaults, usage.ru_maxrss / 1024.0  # MiB


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "build" / "cascade"))
    ap.add_argument("--loans", default="100000", help="comma-separated portfolio sizes")
    ap.add_argument("--paths", type=int, default=4000)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--kernels", default="dense")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    loans_list = [int(x) for x in args.loans.split(",")]
    threads_list = [int(x) for x in args.threads.split(",")]
    kernels = args.kernels.split(",")

    configs = [(n, k, t) for n in loans_list for k in kernels for t in threads_list]
    samples = {c: [] for c in configs}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for c in configs:
                n, k, t = c
                samples[c].append(one_run(args.bin, n, args.paths, t, k, Path(tmp) / "bench.h5"))

    version = subprocess.run([args.bin, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# {datetime.date.today().isoformat()}, {cpu_model()}, {os.cpu_count()} cores, {version}")
    print(f"# baseline scenario, {args.paths} paths, median of {args.repeat} runs (min-max of wall time)\n")
    print("| loans | kernel | threads | wall s (min-max) | loans x paths / s | defaults / s | peak RSS MiB | speed-up |")
    print("| ---: | --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for n in loans_list:
        for k in kernels:
            base = None
            for t in threads_list:
                runs = samples[(n, k, t)]
                walls = [r[0] for r in runs]
                wall = statistics.median(walls)
                defaults = statistics.median(r[1] for r in runs)
                rss = max(r[2] for r in runs)
                rate = n * args.paths / wall
                base = base or rate
                print(f"| {n:,} | {k} | {t} | {wall:.2f} ({min(walls):.2f}-{max(walls):.2f}) | "
                      f"{rate:.3g} | {defaults / wall:.3g} | {rss:.0f} | {rate / base:.2f} |")


if __name__ == "__main__":
    main()
