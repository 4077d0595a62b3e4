#!/usr/bin/python3
"""Golden files for taps after the ReLU and for the global-average-pool head, made with
Debian's python3-torch and python3-torchvision (run once, commit the output; the C tests
read only the committed files and need no torch).

tests/data/taps/, for torchvision's own VGG-19 `features` (vgg.make_layers of cfgs["E"],
widths divided by 32) with a classifier FC-16 FC-16 FC-10, random weights, 32x32 inputs:
  vgg19.safetensors  the weights in our format
  input.npy          a batch of two 3x32x32 inputs
  vgg19.NAME.npy     slices of `features` as perceptual and texture losses take them:
                     relu1_1 = features[:2], relu2_1 = features[:7], relu3_1 =
                     features[:12], relu4_1, relu5_1, relu5_4 (after the ReLU), conv3_1 =
                     features[:11] (before it), pool5; relu6 and relu7 from the classifier
tests/data/gap/, for VGG-16 with batch norm (make_layers of cfgs["D"], widths divided by
32) and the modern head: AdaptiveAvgPool2d(1), flatten, Linear(16, 10), on the 64x64
inputs of tests/data/net/input.npy:
  vgg16_bn_gap.safetensors  the weights, config "vgg16_bn_gap" scaled as the C side scales it
  vgg16_bn_gap.NAME.npy     avgpool (2x16x1x1), fc6 (the logits), prob
  vgg16_bn_gap.dense.npy    fc6 for tests/data/net/dense.input.npy (96x96): the pool
                            averages the 3x3 map of pool5, so the output stays 1x1
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from torchvision.models import vgg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vggweights  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
WIDTH_DIV = 32


def narrow(cfg):
    return [v if v == "M" else v // WIDTH_DIV for v in cfg]


def our_names(features):
    """Our name for each module index of a make_layers Sequential: convB_I, convB_I.bn,
    reluB_I, poolB."""
    names, block, index = {}, 1, 0
    for i, m in enumerate(features):
        if isinstance(m, nn.Conv2d):
            index += 1
            names[i] = "conv%d_%d" % (block, index)
        elif isinstance(m, nn.BatchNorm2d):
            names[i] = "conv%d_%d.bn" % (block, index)
        elif isinstance(m, nn.ReLU):
            names[i] = "relu%d_%d" % (block, index)
        elif isinstance(m, nn.MaxPool2d):
            names[i] = "pool%d" % block
            block, index = block + 1, 0
    return names


def notation(cfg, bn, size):
    text = ["input %dx%dx3" % (size, size)]
    text += ["maxpool" if v == "M" else "conv3-%d%s" % (v, " BN" if bn else "") for v in cfg]
    return text


def randomise(modules):
    for m in modules:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(m.weight, 0, (2.0 / m.weight[0].numel()) ** 0.5)
            nn.init.normal_(m.bias, 0, 0.1)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.normal_(m.bias, 0, 0.1)
            m.running_mean.normal_(0, 0.2)
            m.running_var.uniform_(0.5, 2.0)


def tensors_of(features, names, fcs):
    out = []
    for i, m in enumerate(features):
        if isinstance(m, nn.Conv2d):
            out += [(names[i] + ".weight", m.weight), (names[i] + ".bias", m.bias)]
        elif isinstance(m, nn.BatchNorm2d):
            for part in ("weight", "bias", "running_mean", "running_var"):
                out.append((names[i] + "." + part, getattr(m, part)))
    for name, m in fcs:
        out += [(name + ".weight", m.weight), (name + ".bias", m.bias)]
    return [(n, t.detach().numpy()) for n, t in out]


def save(directory, name, value):
    np.save(os.path.join(directory, name + ".npy"), value.detach().numpy())


def vgg19_taps():
    out = os.path.join(DATA, "taps")
    os.makedirs(out, exist_ok=True)
    cfg = narrow(vgg.cfgs["E"])
    features = vgg.make_layers(cfg)
    classifier = nn.Sequential(nn.Linear(16, 16), nn.ReLU(True), nn.Dropout(),
                               nn.Linear(16, 16), nn.ReLU(True), nn.Dropout(),
                               nn.Linear(16, 10))
    randomise(list(features) + list(classifier))
    features.eval()
    classifier.eval()
    names = our_names(features)
    index = {n: i for i, n in names.items()}
    # The slices the texture extractor of TTSR (and perceptual losses) take.
    assert (index["relu1_1"], index["relu2_1"], index["relu3_1"]) == (1, 6, 11)
    x = torch.randn(2, 3, 32, 32)
    np.save(os.path.join(out, "input.npy"), x.numpy())
    text = notation(cfg, False, 32) + ["FC-16", "FC-16", "FC-10", "soft-max"]
    fcs = list(zip(("fc6", "fc7", "fc8"), classifier[0::3]))
    meta = {"vgg.config": "\n".join(text) + "\n", "vgg.name": "vgg19-taps"}
    vggweights.write(os.path.join(out, "vgg19.safetensors"), tensors_of(features, names, fcs),
                     meta)
    with torch.no_grad():
        for tap in ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1", "relu5_4",
                    "conv3_1", "pool5"):
            save(out, "vgg19." + tap, features[:index[tap] + 1](x))
        flat = torch.flatten(features(x), 1)
        save(out, "vgg19.relu6", classifier[:2](flat)[:, :, None, None])
        save(out, "vgg19.relu7", classifier[:5](flat)[:, :, None, None])
        save(out, "vgg19.fc7", classifier[:4](flat)[:, :, None, None])


def vgg16_bn_gap():
    out = os.path.join(DATA, "gap")
    os.makedirs(out, exist_ok=True)
    cfg = narrow(vgg.cfgs["D"])
    features = vgg.make_layers(cfg, batch_norm=True)
    pool, fc = nn.AdaptiveAvgPool2d(1), nn.Linear(cfg[-2], 10)
    randomise(list(features) + [fc])
    features.eval()
    names = our_names(features)
    text = notation(cfg, True, 64) + ["avgpool", "FC-10", "soft-max"]
    meta = {"vgg.config": "\n".join(text) + "\n", "vgg.name": "vgg16_bn_gap-small"}
    vggweights.write(os.path.join(out, "vgg16_bn_gap.safetensors"),
                     tensors_of(features, names, [("fc6", fc)]), meta)
    x = torch.from_numpy(np.load(os.path.join(DATA, "net", "input.npy")))
    xd = torch.from_numpy(np.load(os.path.join(DATA, "net", "dense.input.npy")))
    with torch.no_grad():
        avg = pool(features(x))
        logits = fc(torch.flatten(avg, 1))
        save(out, "vgg16_bn_gap.avgpool", avg)
        save(out, "vgg16_bn_gap.fc6", logits[:, :, None, None])
        save(out, "vgg16_bn_gap.prob", torch.softmax(logits, 1)[:, :, None, None])
        dense = fc(torch.flatten(pool(features(xd)), 1))
        save(out, "vgg16_bn_gap.dense", dense[:, :, None, None])


def main():
    torch.manual_seed(2015)
    vgg19_taps()
    vgg16_bn_gap()


if __name__ == "__main__":
    main()
