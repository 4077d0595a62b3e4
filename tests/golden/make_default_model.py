#!/usr/bin/python3
"""The shipped default model, share/vgg/models/fashion-mnist.safetensors, and the sample
images in share/vgg/samples/: a small VGG (the paper's notation, batch norm, 28x28 gray)
trained on Debian's dataset-fashion-mnist with the reference, python3-torch, so that the
README's first command has a real network to run.  vgg-train's own model replaces it.
Usage: make_default_model.py [EPOCHS]"""
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vggweights  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
SHARE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "share", "vgg")
CONFIG = """# A small VGG for Fashion-MNIST: three blocks, batch norm, one hidden FC layer.
input 28x28 gray
conv3-16 BN
conv3-16 BN
maxpool
conv3-32 BN
conv3-32 BN
maxpool
conv3-64 BN
maxpool
FC-128
FC-10
soft-max
"""
MEAN, STD = 0.2860, 0.3530


def idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def build():
    layers, c = [], 1
    for item in (16, 16, "M", 32, 32, "M", 64, "M"):
        if item == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, item, 3, padding=1), nn.BatchNorm2d(item), nn.ReLU()]
            c = item
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(64 * 3 * 3, 128), nn.ReLU(),
                         nn.Dropout(0.5), nn.Linear(128, 10))


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    torch.manual_seed(1)
    torch.set_num_threads(2)
    xs = (idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255 - MEAN) / STD
    ys = idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    xt = (idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255 - MEAN) / STD
    yt = idx("t10k-labels-idx1-ubyte.gz")
    x, y = torch.from_numpy(xs)[:, None], torch.from_numpy(ys)
    model = build()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=epochs * 469)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            b = perm[i:i + 128]
            xb = x[b]
            flip = torch.rand(len(b)) < 0.5
            xb[flip] = xb[flip].flip(3)
            loss = nn.functional.cross_entropy(model(xb), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            pred = model(torch.from_numpy(xt)[:, None]).argmax(1).numpy()
        accuracy = float((pred == yt).mean())
        print("epoch %d: test accuracy %.4f" % (epoch + 1, accuracy), file=sys.stderr)

    tensors, convs = [], [m for m in model if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    names = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"]
    for name, conv, bn in zip(names, convs[0::2], convs[1::2]):
        tensors += [(name + ".weight", conv.weight.detach().numpy()),
                    (name + ".bias", conv.bias.detach().numpy())]
        for part in ("weight", "bias", "running_mean", "running_var"):
            tensors.append((name + ".bn." + part, getattr(bn, part).detach().numpy()))
    fcs = [m for m in model if isinstance(m, nn.Linear)]
    for name, fc in zip(("fc4", "fc5"), fcs):
        tensors += [(name + ".weight", fc.weight.detach().numpy()),
                    (name + ".bias", fc.bias.detach().numpy())]
    labels = open(os.path.join(SHARE, "labels", "fashion-mnist.txt")).read()
    meta = {"vgg.config": CONFIG, "vgg.name": "fashion-mnist", "vgg.labels": labels,
            "vgg.scale": "0.00392156862745098", "vgg.mean": "%g,%g,%g" % (MEAN, MEAN, MEAN),
            "vgg.std": "%g,%g,%g" % (STD, STD, STD), "vgg.resize": "28", "vgg.crop": "28x28",
            "vgg.source": "trained with python3-torch by tests/golden/make_default_model.py, "
                          "%d epochs; Fashion-MNIST test accuracy %.4f" % (epochs, accuracy)}
    vggweights.write(os.path.join(SHARE, "models", "fashion-mnist.safetensors"), tensors, meta)
    # One test image of each class, named by its label, as the samples.
    names = [l.lower().replace("/", "-").replace(" ", "-") for l in labels.split("\n") if l]
    raw = idx("t10k-images-idx3-ubyte.gz")
    for c, name in enumerate(names):
        i = int(np.nonzero(yt == c)[0][0])
        Image.fromarray(raw[i]).save(os.path.join(SHARE, "samples", name + ".png"))


if __name__ == "__main__":
    main()
