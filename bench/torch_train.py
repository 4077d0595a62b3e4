#!/usr/bin/python3
"""torch_train.py BATCH STEPS THREADS [DIR]: images/s of PyTorch training the issue's
Fashion-MNIST VGG (32x32x1; conv3-32 x2, conv3-64 x2, conv3-128 x2 with 2x2 max pools;
FC-256, FC-256, FC-10; dropout 0.5) with SGD, momentum and weight decay, as
bench/train_step does.  With DIR (Fashion-MNIST's IDX files), the seconds of one whole
epoch instead: read, pad 2 and random-crop, flip, normalise, step, as vgg-train does."""
import gzip
import sys
import time

import numpy as np

import torch
from torch import nn


def net():
    layers, c = [], 1
    for width in (32, 64, 128):
        for _ in range(2):
            layers += [nn.Conv2d(c, width, 3, padding=1), nn.ReLU()]
            c = width
        layers.append(nn.MaxPool2d(2))
    layers += [nn.Flatten(), nn.Linear(128 * 16, 256), nn.ReLU(), nn.Dropout(),
               nn.Linear(256, 256), nn.ReLU(), nn.Dropout(), nn.Linear(256, 10)]
    return nn.Sequential(*layers)


def epoch(model, opt, batch, path):
    start = time.perf_counter()
    with gzip.open(path + "/train-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 28, 28)
    with gzip.open(path + "/train-labels-idx1-ubyte.gz") as f:
        labels = torch.from_numpy(np.frombuffer(f.read()[8:], np.uint8).astype(np.int64))
    x = torch.from_numpy(np.pad(images, ((0, 0), (4, 4), (4, 4))).astype(np.float32) / 255)
    x = (x - 0.286) / 0.353
    order = torch.randperm(len(x))
    for i in range(0, len(x), batch):
        idx = order[i:i + batch]
        dy, dx = np.random.randint(0, 5, 2)
        b = x[idx, dy:dy + 32, dx:dx + 32].unsqueeze(1)
        if np.random.rand() < 0.5:
            b = b.flip(3)
        opt.zero_grad()
        nn.functional.cross_entropy(model(b), labels[idx]).backward()
        opt.step()
    return time.perf_counter() - start


def main():
    batch, steps, threads = (int(a) for a in sys.argv[1:4])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    if len(sys.argv) > 4:
        print("%.0f" % epoch(model, opt, batch, sys.argv[4]))
        return
    x = torch.rand(batch, 1, 32, 32) - 0.5
    y = torch.arange(batch) % 10
    best = float("inf")
    for step in range(steps + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        dt = time.perf_counter() - t0
        if step > 0:
            best = min(best, dt)
    print("%.0f" % (batch / best))


if __name__ == "__main__":
    main()
