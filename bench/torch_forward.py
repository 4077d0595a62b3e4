#!/usr/bin/python3
"""PyTorch's side of bench/predict.sh: ms per image of torchvision's VGG forward, the median
of RUNS passes after one not counted.  Usage: torch_forward.py ARCH BATCH RUNS THREADS"""
import statistics
import sys
import time

import torch
import torchvision

arch = sys.argv[1]
batch, runs, threads = (int(a) for a in sys.argv[2:5])
torch.set_num_threads(threads)
model = getattr(torchvision.models, arch)().eval()
x = torch.rand(batch, 3, 224, 224) - 0.5
times = []
with torch.no_grad():
    for r in range(runs + 1):
        t0 = time.perf_counter()
        model(x)
        if r > 0:
            times.append(time.perf_counter() - t0)
print("%.2f" % (statistics.median(times) * 1000 / batch))
