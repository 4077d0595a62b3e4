#!/usr/bin/python3
"""PyTorch's side of bench/predict.sh: ms per image of torchvision's vgg16 forward."""
import sys
import time

import torch
import torchvision

batch, runs, threads = (int(a) for a in sys.argv[1:4])
torch.set_num_threads(threads)
model = torchvision.models.vgg16().eval()
x = torch.rand(batch, 3, 224, 224) - 0.5
best = float("inf")
with torch.no_grad():
    for r in range(runs + 1):
        t0 = time.perf_counter()
        model(x)
        if r > 0:
            best = min(best, time.perf_counter() - t0)
print("%.2f" % (best * 1000 / batch))
