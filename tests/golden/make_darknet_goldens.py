#!/usr/bin/python3
"""Darknet test files for lib/darknet.c, made with numpy (run once, commit the output;
tests/unit/test_darknet.c reads only the committed files).

Darknet's .weights files hold no names and no shapes, only a header and float32 values in
layer order (../shared/FORMATS.md, the comment at the top of lib/darknet.c), so each file
here is written for one small config, net.cfg, in our notation (vgg-config(5)):
input 16x12x3; conv1_1 conv3-4; pool1; conv2_1 conv3-8 with batch norm; pool2; fc3 FC-16
over the 8x4x3 pooled map (96 inputs, a non-square window); fc4 FC-10; prob.  It writes
into tests/data/darknet/:
  net.cfg                 the config
  v2.weights              header 0.2.0 with an 8-byte `seen`
  v1.weights              header 0.1.0 with a 4-byte `seen`
  transposed.weights      the header of the published vgg-16.weights: the float32 values
                          1e-5, 0.9, 0.0005 where the ints belong, a 4-byte `seen`, and FC
                          weights stored [inputs, outputs]
  bad-truncated.weights   v2 cut after 100 of conv2_1's 288 weights
  bad-long.weights        v2 with 3 floats more than the config needs
  wnids.txt               10 WordNet ids, one a line, in no sorted order (as Darknet's
                          imagenet.labels.list is in the ILSVRC devkit's order)
  expected.txt            NAME DIMS per tensor, in the order the reader gives them
  expected.npy            their values as an .npy stream in the same order
  permuted.txt, .npy      fc4.weight and fc4.bias with row i moved to the rank of line i
                          of wnids.txt in sorted order
  input.npy               a 1x3x16x12 input, fed to the net as it is
  darknet.fc4.npy         the logits (fc4, before the soft-max) of Darknet's forward pass
                          on input.npy, in float64 by numpy with Darknet's formulas: a
                          batch-normalised conv divides by sqrt(rolling_variance) + 1e-6
                          (its normalize_cpu), not by sqrt(variance + eps); two of conv2_1's
                          variances are small (about 1e-4 and 1e-3), where that matters
The expected tensors use our names: LAYER.weight, LAYER.bias, and for the batch-normalised
conv LAYER.bn.weight (Darknet's scales), LAYER.bn.bias (Darknet's biases, which are the
batch norm's shift), LAYER.bn.running_mean, LAYER.bn.running_var, with LAYER.bias zeros.
"""
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "darknet")

CONFIG = """\
# A reduced VGG for the Darknet reader's tests (tests/golden/make_darknet_goldens.py).
input 16x12x3
conv3-4
maxpool
conv3-8 BN
maxpool
FC-16
FC-10
soft-max
"""

rng = np.random.RandomState(2014)


def f32(*shape):
    return rng.standard_normal(shape).astype("<f4")


# Darknet's arrays, in file order, per layer.
conv1 = {"biases": f32(4), "weights": f32(4, 3, 3, 3)}
conv2 = {"biases": f32(8), "scales": f32(8), "rolling_mean": f32(8),
         "rolling_variance": (rng.uniform(0.5, 2.0, 8) *
                              np.array([1e-4, 1e-3, 1, 1, 1, 1, 1, 1])).astype("<f4"),
         "weights": f32(8, 4, 3, 3)}
fc3 = {"biases": f32(16), "weights": f32(16, 8 * 4 * 3)}
fc4 = {"biases": f32(10), "weights": f32(10, 16)}


def body(transposed):
    parts = [conv1["biases"], conv1["weights"],
             conv2["biases"], conv2["scales"], conv2["rolling_mean"],
             conv2["rolling_variance"], conv2["weights"]]
    for fc in (fc3, fc4):
        w = fc["weights"].T if transposed else fc["weights"]
        parts += [fc["biases"], np.ascontiguousarray(w)]
    return b"".join(p.astype("<f4").tobytes() for p in parts)


def header(major, minor, revision, seen):
    wide = major * 10 + minor >= 2 and major < 1000 and minor < 1000
    return struct.pack("<iii", major, minor, revision) + struct.pack("<Q" if wide else "<I", seen)


def float_header(seen):
    return np.array([1e-5, 0.9, 0.0005], "<f4").tobytes() + struct.pack("<I", seen)


def expected():
    return [
        ("conv1_1.weight", conv1["weights"]),
        ("conv1_1.bias", conv1["biases"]),
        ("conv2_1.weight", conv2["weights"]),
        ("conv2_1.bias", np.zeros(8, "<f4")),
        ("conv2_1.bn.weight", conv2["scales"]),
        ("conv2_1.bn.bias", conv2["biases"]),
        ("conv2_1.bn.running_mean", conv2["rolling_mean"]),
        ("conv2_1.bn.running_var", conv2["rolling_variance"]),
        ("fc3.weight", fc3["weights"]),
        ("fc3.bias", fc3["biases"]),
        ("fc4.weight", fc4["weights"]),
        ("fc4.bias", fc4["biases"]),
    ]


def conv3(x, weights, biases):
    """A 3x3 convolution (cross-correlation, as Darknet's) with padding 1 over x [C, H, W]."""
    c, h, w = x.shape
    padded = np.zeros((c, h + 2, w + 2))
    padded[:, 1:-1, 1:-1] = x
    cols = np.array([[padded[:, i:i + h, j:j + w] for j in range(3)] for i in range(3)])
    return np.einsum("ocij,ijchw->ohw", weights.astype(np.float64), cols) + biases[:, None, None]


def maxpool2(x):
    c, h, w = x.shape
    return x.reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))


def darknet_forward(x):
    """net.cfg as Darknet runs it: conv, relu, pool; conv (batch norm), relu, pool; two
    connected layers, relu between them; the logits before the soft-max."""
    y = maxpool2(np.maximum(conv3(x, conv1["weights"], conv1["biases"]), 0))
    y = conv3(y, conv2["weights"], np.zeros(8))
    mean = conv2["rolling_mean"].astype(np.float64)[:, None, None]
    var = conv2["rolling_variance"].astype(np.float64)[:, None, None]
    y = (y - mean) / (np.sqrt(var) + .000001)
    y = y * conv2["scales"][:, None, None] + conv2["biases"][:, None, None]
    y = maxpool2(np.maximum(y, 0)).reshape(-1)
    y = np.maximum(fc3["weights"].astype(np.float64) @ y + fc3["biases"], 0)
    return fc4["weights"].astype(np.float64) @ y + fc4["biases"]


def write_tensors(stem, tensors):
    with open(os.path.join(OUT, stem + ".txt"), "w") as txt, \
            open(os.path.join(OUT, stem + ".npy"), "wb") as npy:
        for name, a in tensors:
            txt.write("%s %s\n" % (name, "x".join(str(d) for d in a.shape)))
            np.save(npy, np.ascontiguousarray(a, "<f4"))


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    write("net.cfg", CONFIG.encode())
    v2 = header(0, 2, 0, 32013312) + body(False)
    write("v2.weights", v2)
    write("v1.weights", header(0, 1, 0, 1600000) + body(False))
    write("transposed.weights", float_header(0) + body(True))
    cut = 20 + 4 * (4 + 108 + 8 * 4 + 100)
    write("bad-truncated.weights", v2[:cut])
    write("bad-long.weights", v2 + f32(3).tobytes())

    ids = rng.choice(np.arange(1440764, 15075141), 10, replace=False)
    wnids = ["n%08d" % i for i in ids]
    assert wnids != sorted(wnids)
    write("wnids.txt", "".join(w + "\n" for w in wnids).encode())

    x = rng.standard_normal((1, 3, 16, 12)).astype("<f4")
    np.save(os.path.join(OUT, "input.npy"), x)
    np.save(os.path.join(OUT, "darknet.fc4.npy"),
            darknet_forward(x[0].astype(np.float64))[None].astype("<f4"))

    write_tensors("expected", expected())
    # Row j of the result is the row of the id that sorts j-th.
    order = sorted(range(len(wnids)), key=lambda i: wnids[i])
    write_tensors("permuted", [("fc4.weight", fc4["weights"][order]),
                               ("fc4.bias", fc4["biases"][order])])


if __name__ == "__main__":
    main()
