#!/usr/bin/python3
"""Golden files for the forward pass, made with Debian's python3-torch (run once, commit
the output; the C tests read only the committed files and need no torch).

For reduced-width versions of the paper's configurations (widths divided by 16, 64x64
inputs, FC-64 FC-64 FC-10) it writes into tests/data/net/:
  NAME.safetensors   random weights in our format, config and preprocessing in metadata
  input.npy          a batch of two 3x64x64 inputs shared by all nets
  NAME.LAYER.npy     torch's outputs: fc8 (logits), prob, pool5, conv3_1 (after its batch
                     norm if any, before its ReLU)
  NAME.dense.npy     fc8 for a 2x3x96x96 input (dense.input.npy), FC layers as convs
torchvision's VGG applies AdaptiveAvgPool2d((7, 7)) before the classifier, which at these
sizes would resample pool5; the nets here are torchvision's `features` (make_layers) with the
classifier right after flattening, as the paper and Caffe have it.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vggweights  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "net")
WIDTH_DIV = 16
SIZE = 64
FC = 64
CLASSES = 10

CONFIGS = {  # the paper's Table 1, 'M' for maxpool, 'L' for LRN, (1, n) for conv1-n
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "A-LRN": [64, "L", "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, (1, 256), "M", 512, 512, (1, 512), "M",
          512, 512, (1, 512), "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"],
}
# (config, batch norm, input size, Caffe's ceil rounding of pooled sizes)
NETS = [("vgg11", False, SIZE, False), ("A-LRN", False, SIZE, False), ("C", False, SIZE, False),
        ("vgg16", False, SIZE, False), ("vgg16", True, SIZE, False), ("vgg11", False, 72, True)]


def build(cfg, bn, size, ceil):
    """The net, its notation text, and our tensor name for each torch parameter."""
    layers, names, text = [], {}, ["input %dx%dx3" % (size, size)]
    channels, block, index = 3, 1, 0
    for item in cfg:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=ceil))
            text.append("maxpool")
            block, index = block + 1, 0
        elif item == "L":
            layers.append(nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0))
            text.append("LRN")
        else:
            k, width = item if isinstance(item, tuple) else (3, item)
            width //= WIDTH_DIV
            index += 1
            name = "conv%d_%d" % (block, index)
            names[len(layers)] = name
            layers.append(nn.Conv2d(channels, width, k, padding=k // 2))
            text.append("conv%d-%d%s" % (k, width, " BN" if bn else ""))
            if bn:
                names[len(layers)] = name + ".bn"
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU())
            channels = width
    features = nn.Sequential(*layers)
    side = size
    for item in cfg:
        if item == "M":
            side = (side + 1) // 2 if ceil else side // 2
    fc = [nn.Linear(channels * side * side, FC), nn.ReLU(), nn.Dropout(),
          nn.Linear(FC, FC), nn.ReLU(), nn.Dropout(), nn.Linear(FC, CLASSES)]
    text += ["FC-%d" % FC, "FC-%d" % FC, "FC-%d" % CLASSES, "soft-max"]
    classifier = nn.Sequential(*fc)
    return features, classifier, names, "\n".join(text) + "\n", side


def randomise(features, classifier):
    for m in list(features) + list(classifier):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            nn.init.normal_(m.weight, 0, (2.0 / fan_in) ** 0.5)
            nn.init.normal_(m.bias, 0, 0.1)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.normal_(m.bias, 0, 0.1)
            m.running_mean.normal_(0, 0.2)
            m.running_var.uniform_(0.5, 2.0)


def main():
    torch.manual_seed(2014)
    os.makedirs(OUT, exist_ok=True)
    x = torch.randn(2, 3, SIZE, SIZE)
    xd = torch.randn(2, 3, 96, 96)
    np.save(os.path.join(OUT, "input.npy"), x.numpy())
    np.save(os.path.join(OUT, "dense.input.npy"), xd.numpy())
    for cfg_name, bn, size, ceil in NETS:
        name = cfg_name + ("_bn" if bn else "") + ("_ceil" if ceil else "")
        features, classifier, names, text, side = build(CONFIGS[cfg_name], bn, size, ceil)
        xs = x if size == SIZE else torch.randn(2, 3, size, size)
        if size != SIZE:
            np.save(os.path.join(OUT, "%s.input.npy" % name), xs.numpy())
        randomise(features, classifier)
        features.eval()
        classifier.eval()
        tensors = []
        for i, module in enumerate(features):
            if i not in names:
                continue
            if isinstance(module, nn.Conv2d):
                tensors += [(names[i] + ".weight", module.weight.detach().numpy()),
                            (names[i] + ".bias", module.bias.detach().numpy())]
            else:
                for part in ("weight", "bias", "running_mean", "running_var"):
                    tensors.append((names[i] + "." + part,
                                    getattr(module, part).detach().numpy()))
        for fc, module in zip(("fc6", "fc7", "fc8"), classifier[0::3]):
            tensors += [(fc + ".weight", module.weight.detach().numpy()),
                        (fc + ".bias", module.bias.detach().numpy())]
        labels = "\n".join("class %d" % i for i in range(CLASSES))
        meta = {"vgg.config": text, "vgg.name": name + "-small", "vgg.labels": labels}
        if ceil:
            meta["vgg.pool_round"] = "ceil"
        vggweights.write(os.path.join(OUT, name + ".safetensors"), tensors, meta)
        with torch.no_grad():
            # A conv's tap is its output before the ReLU: after batch norm where it has one.
            conv31 = max(i for i, n in names.items() if n.startswith("conv3_1"))
            outs = {"conv3_1": features[:conv31 + 1](xs), "pool5": features(xs)}
            logits = classifier(torch.flatten(outs["pool5"], 1))
            outs["fc8"] = logits
            outs["prob"] = torch.softmax(logits, 1)
            # Dense: the classifier as convolutions over pool5's map.
            fmap = features(xd)
            w6 = classifier[0].weight.view(FC, -1, side, side)
            y = torch.relu(nn.functional.conv2d(fmap, w6, classifier[0].bias))
            y = torch.relu(nn.functional.conv2d(y, classifier[3].weight[:, :, None, None],
                                                classifier[3].bias))
            y = nn.functional.conv2d(y, classifier[6].weight[:, :, None, None],
                                     classifier[6].bias)
            outs["dense"] = y
        for layer, value in outs.items():
            np.save(os.path.join(OUT, "%s.%s.npy" % (name, layer)), value.numpy())
        print(name, {k: tuple(v.shape) for k, v in outs.items()}, file=sys.stderr)


if __name__ == "__main__":
    main()
