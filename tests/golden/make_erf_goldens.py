#!/usr/bin/python3
"""Golden effective receptive fields (Luo et al. 2016) made with Debian's python3-torch by
autograd (run once, commit the output; the C tests need no torch).

For the reduced-width vgg11 of tests/data/net/ (make_net_goldens.py) it writes into
tests/data/erf/:
  vgg11.conv3_2.npy    the 64x64 map for the two inputs of ../net/input.npy
  vgg11.conv4_2.npy    the 96x96 map for the two inputs of ../net/dense.input.npy
  radii.txt            per map: file, centre row and column, r50, r90, fraction inside the
                       theoretical box
A map is the gradient of the sum over channels of the layer's centre unit (out_h // 2,
out_w // 2), before its ReLU, with respect to each input; |.| summed over the input's
channels, then averaged over the inputs.  The radii are those of the smallest discs round
the unit's centre that hold 50% and 90% of the map's mass.
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
NET = os.path.join(HERE, "..", "data", "net")
OUT = os.path.join(HERE, "..", "data", "erf")
# (output, input batch, top layer)
CASES = [("vgg11.conv3_2.npy", "input.npy", "conv3_2"),
         ("vgg11.conv4_2.npy", "dense.input.npy", "conv4_2")]


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        assert t["dtype"] == "F32"
        tensors[name] = torch.from_numpy(
            np.frombuffer(data[8 + n + a:8 + n + b], dtype="<f4").reshape(t["shape"]).copy())
    return tensors, meta


def features(config, tensors, top):
    """The layers of `config` up to `top` (a conv, output before its ReLU), and the top's
    receptive field per axis: size, jump, effective padding."""
    layers, block, index = [], 1, 0
    rf, jump, pad = 1, 1, 0
    for line in config.splitlines():
        word = line.split("#")[0].strip()
        if not word or word.startswith("input"):
            continue
        if word == "maxpool":
            layers.append(nn.MaxPool2d(2, 2))
            rf, pad, jump = rf + jump, pad, jump * 2
            block, index = block + 1, 0
            continue
        assert word.startswith("conv3-"), word
        index += 1
        name = "conv%d_%d" % (block, index)
        w = tensors[name + ".weight"]
        conv = nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1)
        conv.weight.data, conv.bias.data = w, tensors[name + ".bias"]
        layers.append(conv)
        rf, pad = rf + 2 * jump, pad + jump
        if name == top:
            return nn.Sequential(*layers), rf, jump, pad
        layers.append(nn.ReLU())
    raise ValueError(top)


def main():
    os.makedirs(OUT, exist_ok=True)
    tensors, meta = read_safetensors(os.path.join(NET, "vgg11.safetensors"))
    lines = []
    for out, inputs, top in CASES:
        net, rf, jump, pad = features(meta["vgg.config"], tensors, top)
        x = torch.from_numpy(np.load(os.path.join(NET, inputs))).double().requires_grad_()
        y = net.double()(x)
        uy, ux = y.shape[2] // 2, y.shape[3] // 2
        (g,) = torch.autograd.grad(y[:, :, uy, ux].sum(), x)
        erf = g.abs().sum(1).mean(0).numpy()
        np.save(os.path.join(OUT, out), erf.astype("<f4"))

        h, w = erf.shape
        y0, x0 = uy * jump - pad, ux * jump - pad
        cy, cx = y0 + (rf - 1) / 2, x0 + (rf - 1) / 2
        rows, cols = np.mgrid[0:h, 0:w]
        d = np.hypot(rows - cy, cols - cx).ravel()
        m = erf.ravel()
        order = np.argsort(d, kind="stable")
        cum = np.cumsum(m[order])
        total = m.sum()
        radii = []
        for frac in (0.5, 0.9):
            i = int(np.searchsorted(cum, frac * total))
            # The C side sums float32 gradients: a threshold this close would be a coin toss.
            assert cum[i] - frac * total > 1e-4 * total or d[order[i]] == d[order[i - 1]]
            radii.append(d[order[i]])
        box = erf[max(y0, 0):y0 + rf, max(x0, 0):x0 + rf].sum() / total
        lines.append("%s %.1f %.1f %.6f %.6f %.6f" % (out, cy, cx, radii[0], radii[1], box))
    with open(os.path.join(OUT, "radii.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
