#!/bin/sh
# loader.sh: how fast training batches come: vgg_dataset_open and one training epoch of
# 32x32x1 crops (2 pixels of padding, flips) in batches of 128, at 1 and 2 loader threads,
# from Fashion-MNIST's IDX files and from the first N of its images written as 28x28 PNGs
# in class directories.  Usage: bench/loader.sh [N]   (default 10000; needs Debian's
# dataset-fashion-mnist, and python3-numpy and -pil for the PNGs)
set -eu
cd "$(dirname "$0")/.."
n=${1:-10000}
idx=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
work=$(mktemp -d "${TMPDIR:-/tmp}/vgg-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
make -s all build/bench/loader
/usr/bin/python3 - "$idx" "$work/png" "$n" <<'PY'
import gzip, os, sys
import numpy as np
from PIL import Image
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
images = np.frombuffer(gzip.open(src).read(), np.uint8, offset=16).reshape(-1, 28, 28)
labels = np.frombuffer(gzip.open(src.replace("images-idx3", "labels-idx1")).read(), np.uint8,
                       offset=8)
for i in range(n):
    d = os.path.join(out, "%d" % labels[i])
    os.makedirs(d, exist_ok=True)
    Image.fromarray(images[i]).save(os.path.join(d, "%05d.png" % i))
PY
for threads in 1 2; do
	printf 'IDX: '
	build/bench/loader "$idx" 32 2 128 "$threads"
done
for threads in 1 2; do
	printf 'PNG: '
	build/bench/loader "$work/png" 32 2 128 "$threads"
done
