#!/usr/bin/python3
"""logits_error.py VGG_PREDICT WEIGHTS INPUT.npy EXPECTED.npy [LAYER]: runs the batch in
INPUT.npy (N x C x H x W, float32) through WEIGHTS with `vgg-predict --from data --layer
LAYER` (fc8 by default) and prints the largest difference from EXPECTED.npy relative to its
largest value.  Python's standard library only, so the tests need no numpy."""
import ast
import struct
import subprocess
import sys


def read_npy(data, pos=0):
    """(shape, floats, next position) of the float32 array at data[pos:]."""
    assert data[pos:pos + 6] == b"\x93NUMPY", "not a .npy array"
    major = data[pos + 6]
    if major == 1:
        (hlen,), start = struct.unpack_from("<H", data, pos + 8), pos + 10
    else:
        (hlen,), start = struct.unpack_from("<I", data, pos + 8), pos + 12
    header = ast.literal_eval(data[start:start + hlen].decode("latin-1"))
    assert header["descr"] == "<f4" and not header["fortran_order"], header
    n = 1
    for d in header["shape"]:
        n *= d
    body = start + hlen
    return header["shape"], struct.unpack_from("<%df" % n, data, body), body + 4 * n


def write_npy(shape, values):
    text = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else ""))
    text += " " * (63 - (10 + len(text)) % 64) + "\n"
    return (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() +
            struct.pack("<%df" % len(values), *values))


def main():
    tool, weights, inputs, expected = sys.argv[1:5]
    layer = sys.argv[5] if len(sys.argv) > 5 else "fc8"
    shape, x, _ = read_npy(open(inputs, "rb").read())
    one = len(x) // shape[0]
    stream = b"".join(write_npy(shape[1:], x[i * one:(i + 1) * one]) for i in range(shape[0]))
    out = subprocess.run([tool, "-m", weights, "--from", "data", "--layer", layer],
                         input=stream, capture_output=True, check=True).stdout
    ours, pos = [], 0
    while pos < len(out):
        _, values, pos = read_npy(out, pos)
        ours += values
    _, want, _ = read_npy(open(expected, "rb").read())
    assert len(ours) == len(want), (len(ours), len(want))
    scale = max(abs(v) for v in want)
    print("%.3g" % (max(abs(a - b) for a, b in zip(ours, want)) / scale))


if __name__ == "__main__":
    main()
