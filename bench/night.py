#!/usr/bin/python3
"""Where the night goes (issue 15): this build against another, side by side.

    /usr/bin/python3 bench/night.py --vs OTHER/cascade [--bin build/cascade]
        [--repeat 5] [--csv-loans 10000000] [--work DIR] [--skip kernel,...]

Four measurements, each interleaving the two builds (a b a b ...) in fresh
processes and quoting medians; every figure is printed with its min-max:

kernel      the default book (scenarios/baseline.yaml: the built-in book and
            its network, guarantees booked) at 10^6 loans, 2,000 paths, the
            sparse kernel, 2 threads: the kernel's own time (the result's
            elapsed_seconds), and the ratio of throughputs.
homogeneous a book of 100,000 loans (EAD 1, LGD 1, PD 2%, one factor, asset
            correlation 0.15), 20,000 paths, 2 threads: the whole process
            (wall clock, from outside) with the sparse kernel of both
            builds and the dense kernel of this one (--repeat-dense runs).
contagion   baseline and baseline_contagion at 10^6 loans, 1,000 paths,
            2 threads: kernel time with contagion over kernel time without,
            for each build.
book        a CSV book of --csv-loans loans (made once in --work, kept
            for the next call): `cascade batch` of 10 scenarios on it
            (100 paths each), its wall time, and for this build the time the
            batch's log reports for reading the book, and how often it read
            it; `cascade validate` on the book, whole process.

Machines here are shared and noisy: compare within one run, quote medians
and ratios.
"""
import argparse
import datetime
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import cpu_model  # noqa: E402


def wall(cmd, env=None):
    """Seconds of a command's whole process (it must succeed)."""
    t = time.monotonic()
    cmd = [str(c) for c in cmd]
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    t = time.monotonic() - t
    if p.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(cmd)}\n{p.stderr}")
    return t


def kernel_seconds(binary, scenario, out, *args):
    """(kernel seconds from the result, process seconds)."""
    t = wall([binary, "run", str(scenario), "-q", "-o", str(out), *map(str, args)])
    with h5py.File(out, "r") as f:
        k = float(f.attrs["elapsed_seconds"])
    out.unlink()
    return k, t


def med(xs):
    return f"{statistics.median(xs):.3f} ({min(xs):.3f}-{max(xs):.3f})"


def ratio(xs, ys):
    """Median of pairwise ratios x / y."""
    return statistics.median(x / y for x, y in zip(xs, ys))


def write_homogeneous(d):
    with open(d / "homogeneous.csv", "w") as f:
        f.write("id,region,sector,ead,pd,lgd\n")
        for i in range(100000):
            f.write(f"L{i},r,s,1,0.02,1\n")
    (d / "homogeneous.yaml").write_text(
        "name: homogeneous\npaths: 20000\nseed: 7\nportfolio: {file: homogeneous.csv}\n"
        "model:\n  factors: [{name: systematic, loading: 0.3872983346207417}]\n")


def write_book(path, loans):
    """A CSV book of the delta's classification, deterministic."""
    regions = ["shanghai", "jiangsu", "zhejiang", "anhui"]
    sectors = ["tech_startup", "green", "inclusive_micro", "manufacturing", "wholesale_retail",
               "real_estate", "construction", "infrastructure", "household"]
    x = 88172645463325252
    with open(path, "w") as f:
        f.write("id,region,sector,ead,pd,lgd\n")
        rows = []
        for i in range(loans):
            x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
            x ^= x >> 7
            x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
            ead = 1e4 + (x % 50000000)
            pd = 0.001 + (x >> 20) % 79000 / 1e6
            lgd = 0.2 + (x >> 40) % 500 / 1000
            rows.append(f"LN{i:09d},{regions[i % 4]},{sectors[(i * 7) % 9]},{ead:.2f},{pd:.6f},{lgd:.3f}\n")
            if len(rows) == 100000:
                f.write("".join(rows))
                rows = []
        f.write("".join(rows))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "build" / "cascade"))
    ap.add_argument("--vs", required=True, help="the other build's cascade")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--repeat-dense", type=int, default=3)
    ap.add_argument("--csv-loans", type=int, default=10000000)
    ap.add_argument("--work", default=None, help="folder for the CSV book (kept)")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    a, b = args.bin, args.vs
    ver = {x: subprocess.run([x, "--version"], capture_output=True, text=True).stdout.strip() for x in (a, b)}
    print(f"# {datetime.date.today()}, {cpu_model()}, {os.cpu_count()} cores")
    print(f"# this build: {ver[a]}\n# other build: {ver[b]}\n")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out = tmp / "bench.h5"
        if "kernel" not in skip:
            ka, kb = [], []
            for _ in range(args.repeat):
                for x, r in ((a, ka), (b, kb)):
                    r.append(kernel_seconds(x, ROOT / "scenarios" / "baseline.yaml", out, "--loans", 1000000,
                                            "--paths", 2000, "--threads", 2, "--kernel", "sparse")[0])
            print("## kernel: default book, 10^6 loans, 2,000 paths, sparse, 2 threads\n")
            print(f"- kernel s: this {med(ka)}, other {med(kb)}")
            print(f"- throughput this / other: {statistics.median(kb) / statistics.median(ka):.2f} "
                  f"(medians), {1 / ratio(ka, kb):.2f} (median of pairs)\n")
        if "homogeneous" not in skip:
            write_homogeneous(tmp)
            sc = tmp / "homogeneous.yaml"
            ha, hb, hd = [], [], []
            for i in range(args.repeat):
                ha.append(wall([a, "run", sc, "-q", "-o", out, "--threads", 2]))
                hb.append(wall([b, "run", sc, "-q", "-o", out, "--threads", 2]))
                if i < args.repeat_dense:
                    hd.append(wall([a, "run", sc, "-q", "-o", out, "--threads", 2, "--kernel", "dense"]))
            print("## homogeneous book: 100,000 loans, PD 2%, 20,000 paths, 2 threads, whole process\n")
            print(f"- sparse, this build: {med(ha)} s; other build: {med(hb)} s "
                  f"(this / other {ratio(ha, hb):.2f})")
            print(f"- dense, this build: {med(hd)} s")
            print(f"- dense / sparse, this build: {statistics.median(hd) / statistics.median(ha):.0f}\n")
        if "contagion" not in skip:
            c = {x: ([], []) for x in (a, b)}
            for _ in range(args.repeat):
                for x in (a, b):
                    for k, s in enumerate(("baseline", "baseline_contagion")):
                        c[x][k].append(kernel_seconds(x, ROOT / "scenarios" / f"{s}.yaml", out, "--loans", 1000000,
                                                      "--paths", 1000, "--threads", 2)[0])
            print("## contagion: 10^6 loans, 1,000 paths, 2 threads, kernel seconds\n")
            for x, name in ((a, "this"), (b, "other")):
                off, on = c[x]
                print(f"- {name}: without {med(off)}, with {med(on)}; throughput with / without "
                      f"{statistics.median(off) / statistics.median(on):.2f} (medians), "
                      f"{ratio(off, on):.2f} (median of pairs: each run with its run without, "
                      f"seconds apart)")
            print()
        if "book" not in skip:
            work = Path(args.work) if args.work else tmp
            work.mkdir(parents=True, exist_ok=True)
            book = work / f"book_{args.csv_loans}.csv"
            if not book.exists():
                write_book(book.with_suffix(".part"), args.csv_loans)
                book.with_suffix(".part").rename(book)
            scs = tmp / "scenarios"
            scs.mkdir()
            for i in range(10):
                (scs / f"s{i}.yaml").write_text(
                    f"name: s{i}\nseed: {i}\npaths: 100\nportfolio: {{file: {book}}}\nnetwork: {{builtin: none}}\n"
                    f"shocks: [{{sector: green, pd_multiplier: 1.{i}}}]\n")
            (scs.parent / "one.yaml").write_text(
                f"name: one\npaths: 100\nportfolio: {{file: {book}}}\nnetwork: {{builtin: none}}\n")
            va, vb, ba, bb, reads = [], [], [], [], []
            for i in range(max(1, args.repeat // 2)):
                va.append(wall([a, "validate", scs.parent / "one.yaml"]))
                vb.append(wall([b, "validate", scs.parent / "one.yaml"]))
                for x, r in ((a, ba), (b, bb)):
                    d = tmp / f"batch_{len(r)}_{x == a}"
                    r.append(wall([x, "batch", scs, "--out", d, "-q", "--threads", 2]))
                    if x == a:
                        log = (d / "batch.log").read_text()
                        reads.append([float(t) for t in re.findall(r"read the book .* in ([0-9.]+) s", log)])
            print(f"## book: {args.csv_loans:,} loans in a CSV file ({book.stat().st_size / 2**20:.0f} MiB)\n")
            print(f"- validate (read, hash, plan): this {med(va)} s, other {med(vb)} s")
            print(f"- batch of 10 scenarios, 100 paths each: this {med(ba)} s, other {med(bb)} s")
            print(f"- this build's batches read the book {statistics.median(len(r) for r in reads):.0f} "
                  f"time(s), in {med([sum(r) for r in reads])} s")


if __name__ == "__main__":
    main()
