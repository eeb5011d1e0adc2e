#!/usr/bin/python3
"""Compares two cascade result files dataset by dataset, byte for byte.

    same_datasets.py A.h5 B.h5

Every dataset of either file, in every group, must be in both with the same
type, shape and bytes (variable-length strings compared as their values);
so must every attribute, except those that record how the run was made and
never enter a result (command_line, created_utc, elapsed_seconds, threads,
ranks), and the dimension-scale references (DIMENSION_LIST,
REFERENCE_LIST: file addresses), whose meaning, the names of the scales
attached to each dimension, is compared instead. Exit 0 and one line if the files agree; 1 and the differences if
not.
"""
import sys

import h5py
import numpy as np

INFORMATIONAL = {"command_line", "created_utc", "elapsed_seconds", "threads", "ranks",
                 "DIMENSION_LIST", "REFERENCE_LIST"}


def scales(d):
    return [[s.name for s in dim.values()] for dim in d.dims]


def walk(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj))
    out["/"] = f
    return out


def value_bytes(v):
    if isinstance(v, np.ndarray) and v.dtype.kind == "O":
        return repr([x for x in v.flat]).encode()
    if isinstance(v, np.ndarray):
        return v.dtype.str.encode() + repr(v.shape).encode() + v.tobytes()
    if isinstance(v, (bytes, str)):
        return repr(v).encode()
    a = np.asarray(v)
    return a.dtype.str.encode() + a.tobytes()


def main(pa, pb):
    problems = []
    ndata = 0
    with h5py.File(pa, "r") as a, h5py.File(pb, "r") as b:
        oa, ob = walk(a), walk(b)
        for name in sorted(set(oa) | set(ob)):
            if name not in oa or name not in ob:
                problems.append(f"{name}: only in {pa if name in oa else pb}")
                continue
            x, y = oa[name], ob[name]
            if isinstance(x, h5py.Dataset) != isinstance(y, h5py.Dataset):
                problems.append(f"{name}: a dataset in one file only")
                continue
            if isinstance(x, h5py.Dataset):
                ndata += 1
                if x.dtype != y.dtype or x.shape != y.shape:
                    problems.append(f"{name}: {x.dtype}{x.shape} against {y.dtype}{y.shape}")
                elif value_bytes(x[()]) != value_bytes(y[()]):
                    problems.append(f"{name}: values differ")
                if scales(x) != scales(y):
                    problems.append(f"{name}: other dimension scales")
            keys = (set(x.attrs) | set(y.attrs)) - INFORMATIONAL
            for k in sorted(keys):
                if k not in x.attrs or k not in y.attrs:
                    problems.append(f"{name}@{k}: attribute in one file only")
                elif value_bytes(x.attrs[k]) != value_bytes(y.attrs[k]):
                    problems.append(f"{name}@{k}: attribute differs")
    if problems:
        print(f"{pa} and {pb} differ:")
        for p in problems:
            print("  " + p)
        return 1
    print(f"{ndata} datasets identical")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
