#!/usr/bin/python3
"""Goldens for vgg-train's SGD step (tests/unit/test_train.c): two small VGGs, one plain with
LRN and one with batch norm, take two torch.optim.SGD steps (lr 0.1, momentum 0.9, weight
decay 5e-4, no dropout) on two batches of four 16x16 images, from the same weights.
Writes tests/data/train/NAME.init.safetensors, NAME.step2.safetensors, batch.npy (8x3x16x16)
and labels.npy.  Run once with /usr/bin/python3 (needs python3-torch)."""
import os

import numpy as np
import torch
from torch import nn

from vggweights import write

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "train")

NETS = {
    "plain": "input 16x16x3\nconv3-4\nLRN\nmaxpool\nconv3-8\nconv1-8\nmaxpool\n"
             "FC-16\nFC-16\nFC-5\nsoft-max\n",
    "bn": "input 16x16x3\nconv3-4 BN\nmaxpool\nconv3-8 BN\nconv1-8 BN\nmaxpool\n"
          "FC-16\nFC-16\nFC-5\nsoft-max\n",
}
CONVS = [("conv1_1", 3, 4, 3), ("conv2_1", 4, 8, 3), ("conv2_2", 8, 8, 1)]
# FC layers are numbered on from the last block, as Caffe's fc6 follows pool5.
FCS = [("fc3", 128, 16), ("fc4", 16, 16), ("fc5", 16, 5)]


def build(bn, lrn):
    named = {}
    feats = []
    for i, (name, cin, cout, k) in enumerate(CONVS):
        conv = nn.Conv2d(cin, cout, k, padding=k // 2)
        named[name] = conv
        feats.append(conv)
        if bn:
            norm = nn.BatchNorm2d(cout)
            named[name + ".bn"] = norm
            feats.append(norm)
        feats.append(nn.ReLU())
        if i == 0 and lrn:
            feats.append(nn.LocalResponseNorm(5, 1e-4, 0.75, 2))
        if i in (0, 2):
            feats.append(nn.MaxPool2d(2, 2))
    head = [nn.Flatten()]
    for i, (name, cin, cout) in enumerate(FCS):
        fc = nn.Linear(cin, cout)
        named[name] = fc
        head.append(fc)
        if i < 2:
            head.append(nn.ReLU())
    return nn.Sequential(*feats, *head), named


def tensors(named, bn):
    out = []
    for name, _, _, _ in CONVS:
        out += [(name + ".weight", named[name].weight), (name + ".bias", named[name].bias)]
        if bn:
            norm = named[name + ".bn"]
            out += [(name + ".bn.weight", norm.weight), (name + ".bn.bias", norm.bias),
                    (name + ".bn.running_mean", norm.running_mean),
                    (name + ".bn.running_var", norm.running_var)]
    for name, _, _ in FCS:
        out += [(name + ".weight", named[name].weight), (name + ".bias", named[name].bias)]
    return [(n, t.detach().numpy().copy()) for n, t in out]


def main():
    torch.manual_seed(7)
    x = torch.randn(8, 3, 16, 16)
    labels = torch.tensor([0, 1, 2, 3, 4, 0, 2, 4])
    np.save(os.path.join(OUT, "batch.npy"), x.numpy())
    np.save(os.path.join(OUT, "labels.npy"), labels.numpy().astype(np.float32))
    for name, text in NETS.items():
        bn = name == "bn"
        model, named = build(bn, not bn)
        if bn:
            # Non-trivial scales and statistics, so every part of batch norm is exercised.
            for conv, _, cout, _ in CONVS:
                norm = named[conv + ".bn"]
                with torch.no_grad():
                    norm.weight.uniform_(0.5, 1.5)
                    norm.bias.uniform_(-0.2, 0.2)
                    norm.running_mean.uniform_(-0.1, 0.1)
                    norm.running_var.uniform_(0.5, 2)
        meta = {"vgg.config": text, "vgg.name": "train-" + name}
        write(os.path.join(OUT, name + ".init.safetensors"), tensors(named, bn), meta)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        model.train()
        for step in range(2):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[4 * step:4 * step + 4]),
                                               labels[4 * step:4 * step + 4])
            loss.backward()
            opt.step()
            print(name, "step", step + 1, "loss", loss.item())
        write(os.path.join(OUT, name + ".step2.safetensors"), tensors(named, bn), meta)


if __name__ == "__main__":
    main()
