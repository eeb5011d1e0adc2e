#!/usr/bin/python3
"""Throughput of the MPI program against the OpenMP one, and a cost model.

    bench/mpi.py [--loans N] [--paths N] [--reps N] [--scenario FILE]

Runs one scenario (default scenarios/baseline.yaml on the built-in book of
10^6 loans) as 2 MPI ranks x 1 thread (build-mpi/cascade under mpirun) and
as 1 process x 2 threads (build/cascade), alternating, --reps times each,
and prints the medians of the wall time and of each phase the program
reports on its "times:" line (setup, paths, gather, tail replays,
statistics and file), the throughput in paths per second of the paths
phase, and what a run moves between ranks: the bytes of one path's rows
(from the file: every dataset whose first dimension is the path) and of the
inputs sent from rank 0. From these it models the same run on 64 ranks
(docs/PERFORMANCE.md, Cost at 64 ranks). Build both programs first
(scripts/build.sh; scripts/build.sh mpi). Medians, because the machines are
shared: compare within one run.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import h5py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMES = re.compile(r"times: setup ([\d.]+) s, paths ([\d.]+) s, gather ([\d.]+) s, "
                   r"tail replays ([\d.]+) s, statistics, loan contributions and file ([\d.]+) s")
PHASES = ["setup", "paths", "gather", "replays", "post"]


def run(cmd):
    t = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stdout}{out.stderr}")
    m = TIMES.search(out.stdout)
    if not m:
        sys.exit(f"no times: line in the output of {' '.join(cmd)}\n{out.stdout}")
    return dict(zip(PHASES, map(float, m.groups())), wall=wall)


def row_bytes(path):
    """Bytes of one path's rows, summed over the per-path datasets."""
    total, n = 0, 0
    with h5py.File(path, "r") as f:
        paths = f["path"].shape[0]

        def visit(name, obj):
            nonlocal total, n
            if isinstance(obj, h5py.Dataset) and obj.ndim >= 1 and obj.shape[0] == paths \
                    and name != "path" and obj.dims[0].keys() == ["path"]:
                total += obj.dtype.itemsize * (obj.size // paths)
                n += 1
        f.visititems(visit)
    return total, n, paths


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=1_000_000)
    ap.add_argument("--paths", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--scenario", default=os.path.join(ROOT, "scenarios", "baseline.yaml"))
    a = ap.parse_args()
    serial = os.path.join(ROOT, "build", "cascade")
    mpi = os.path.join(ROOT, "build-mpi", "cascade")
    for b in (serial, mpi):
        if not os.access(b, os.X_OK):
            sys.exit(f"{b} missing: scripts/build.sh; scripts/build.sh mpi")
    launcher = ["mpirun", "--oversubscribe", "-np", "2"]
    if os.geteuid() == 0:
        launcher.insert(1, "--allow-run-as-root")
    common = [a.scenario, "--loans", str(a.loans), "--paths", str(a.paths)]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.h5")
        configs = {
            "1 process x 2 threads": [serial, "run", *common, "--threads", "2", "-o", out],
            "2 ranks x 1 thread": [*launcher, mpi, "run", *common, "--threads", "1", "-o", out],
        }
        # the one-process run at a quarter of the paths too: rank 0's work
        # after the paths (replays, statistics, the file) as a + b paths
        quarter = [serial, "run", a.scenario, "--loans", str(a.loans), "--paths",
                   str(a.paths // 4), "--threads", "2", "-o", out]
        got = {k: [] for k in configs}
        got["quarter"] = []
        for r in range(a.reps):
            order = list(configs) if r % 2 == 0 else list(reversed(configs))
            for k in order:
                got[k].append(run(configs[k]))
            got["quarter"].append(run(quarter))
        # the last run was the quarter's: the file of the full run again
        run(configs["2 ranks x 1 thread"])
        rb, ndatasets, paths = row_bytes(out)

    def med(k, field):
        return statistics.median(x[field] for x in got[k])

    print(f"{os.path.basename(a.scenario)}, {a.loans:,} loans, {a.paths:,} paths; median of "
          f"{a.reps} runs each, alternating; {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores")
    print()
    print("| configuration | wall s | setup s | paths s | gather s | tail replays s | "
          "statistics and file s | paths per s (paths phase) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for k in configs:
        print(f"| {k} | {med(k, 'wall'):.2f} | {med(k, 'setup'):.2f} | {med(k, 'paths'):.2f} | "
              f"{med(k, 'gather'):.3f} | {med(k, 'replays'):.2f} | {med(k, 'post'):.2f} | "
              f"{a.paths / med(k, 'paths'):,.0f} |")
    k1, k2 = list(configs)
    print()
    print(f"ratio MPI / OpenMP: wall {med(k2, 'wall') / med(k1, 'wall'):.3f}, paths phase "
          f"{med(k2, 'paths') / med(k1, 'paths'):.3f}")
    print(f"one path's rows: {rb} bytes in {ndatasets} per-path datasets; gathered at 2 ranks: "
          f"{rb * paths // 2:,} bytes")

    # Cost model at R = 64 ranks of one thread each (docs/PERFORMANCE.md):
    # - setup: every rank builds the same inputs at once: it does not shrink
    #   (the 2-rank median, two ranks sharing this machine's memory);
    # - paths: divided by R, at the rate of one rank measured in the 2-rank run;
    # - gather: (R - 1) / R of the rows into rank 0 through its one link, at
    #   an assumed 10 GB/s (InfiniBand EDR is 12.5);
    # - rank 0 after the gather (tail replays, statistics, contributions, the
    #   compressed file) as one process does it: a + b P, fitted to the
    #   one-process runs at P and P / 4 (done on rank 0's one thread at R x 1).
    R, bw = 64, 10e9
    rate = a.paths / med(k2, "paths") / 2
    p4 = a.paths // 4
    post_full = med(k1, "post") + med(k1, "replays")
    post_quarter = med("quarter", "post") + med("quarter", "replays")
    b = (post_full - post_quarter) / (a.paths - p4)
    a0 = max(post_full - b * a.paths, 0.0)
    print(f"rank 0 after the paths, fitted: {a0:.2f} s + {b * 1e6:.1f} us a path (one process, "
          f"{p4:,} and {a.paths:,} paths)")
    for P in (a.paths, 1_000_000):
        kernel = P / (rate * R)
        gather_bytes = rb * P * (R - 1) / R
        gather = gather_bytes / bw
        post = a0 + b * P
        setup = med(k2, "setup")
        total = setup + kernel + gather + post
        one = setup + P / rate + post
        print(f"model, {R} ranks x 1 thread, {P:,} paths: setup {setup:.1f} s + paths {kernel:.1f} s "
              f"+ gather {gather_bytes / 1e6:,.0f} MB = {gather:.2f} s + rank 0 after the paths "
              f"{post:.1f} s = {total:.1f} s; one rank {one:.0f} s; speed-up {one / total:.1f}, "
              f"serial share {(setup + gather + post) / total:.0%}")


if __name__ == "__main__":
    main()
