#!/usr/bin/python3
"""Importance sampling against plain Monte Carlo on the default book
(scenarios/baseline.yaml: no contagion), in one run of this script.

1. A plain run of PLAIN paths (default 10^6) gives VaR 99.9% and its
   interval.
2. A run with importance_sampling {level: 0.999} of IS paths (default
   10^5), same seed.
3. With v the plain run's VaR 99.9%, the variance per path of the estimate
   of P(L > v): plain p (1 - p) with p the plain run's fraction of paths
   beyond v; weighted mean(w^2 1{L > v}) - p_w^2 from the weighted run's
   paths. Their ratio is the variance reduction per path; the time per path
   of each run is printed too, so that the gain per second of work follows.
4. The two VaR 99.9% estimates and their combined standard error.

usage: bench/importance.py [--binary build/cascade] [--plain N] [--is N]
"""
import argparse
import math
import os
import subprocess
import tempfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def run(binary, scenario, out, paths, extra=()):
    t = time.monotonic()
    subprocess.run([binary, "run", scenario, "--paths", str(paths), "-q", "-o", out, *extra],
                   check=True)
    return time.monotonic() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build", "cascade"))
    ap.add_argument("--scenario", default=os.path.join(HERE, "..", "scenarios", "baseline.yaml"))
    ap.add_argument("--plain", type=int, default=1_000_000)
    ap.add_argument("--is", dest="is_paths", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        plain, weighted = os.path.join(d, "plain.h5"), os.path.join(d, "is.h5")
        t_plain = run(args.binary, args.scenario, plain, args.plain)
        t_is = run(args.binary, args.scenario, weighted, args.is_paths,
                   ["--importance-sampling", "0.999"])
        with h5py.File(plain, "r") as f, h5py.File(weighted, "r") as g:
            j = list(f["level"][:]).index(0.999)
            v, v_se = f["var"][j], f["var_se"][j]
            v_lo, v_hi = f["var_lo"][j], f["var_hi"][j]
            u, u_se = g["var"][j], g["var_se"][j]
            u_lo, u_hi = g["var_lo"][j], g["var_hi"][j]
            lp = f["loss"][:]
            lw, w = g["loss"][:], g["weight"][:]
    p = (lp > v).mean()
    var_plain = p * (1 - p)
    hit = w * (lw > v)
    p_w = hit.mean()
    var_is = (hit ** 2).mean() - p_w ** 2
    print(f"scenario {os.path.basename(args.scenario)}; plain {args.plain} paths in {t_plain:.1f} s "
          f"({1e6 * t_plain / args.plain:.1f} us/path), importance sampling {args.is_paths} "
          f"paths in {t_is:.1f} s ({1e6 * t_is / args.is_paths:.1f} us/path)")
    print(f"P(L > plain VaR 99.9%): plain {p:.6f}, weighted {p_w:.6f} "
          f"(s.e. {math.sqrt(var_is / len(lw)):.6f})")
    print(f"variance per path: plain {var_plain:.3e}, weighted {var_is:.3e}: "
          f"{var_plain / var_is:.1f} times less")
    print(f"variance x time per path: {var_plain * t_plain / args.plain / (var_is * t_is / args.is_paths):.1f}"
          " times less (the gain per unit of work)")
    z = (u - v) / math.hypot(v_se, u_se)
    print(f"VaR 99.9% [CNY mn]: plain {v / 1e6:.1f} (s.e. {v_se / 1e6:.1f}, 95% {v_lo / 1e6:.1f} .. "
          f"{v_hi / 1e6:.1f}); weighted {u / 1e6:.1f} (s.e. {u_se / 1e6:.1f}, 95% {u_lo / 1e6:.1f} .. "
          f"{u_hi / 1e6:.1f}); difference {z:+.2f} combined s.e.")


if __name__ == "__main__":
    main()
