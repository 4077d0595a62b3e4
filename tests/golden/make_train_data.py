#!/usr/bin/python3
"""Tiny training sets for the dataset, loader and vgg-train tests, and numpy's statistics of
one of them, made with Debian's python3-numpy and python3-pil (run once from anywhere,
commit the output; the C tests read only the committed files).  It writes into
tests/data/train/:
  idx/tiny-{images-idx3,labels-idx1}-ubyte.gz
                 48 gray 28x28 images in 4 classes (horizontal bars, vertical bars, a square,
                 a diagonal), 12 each in a shuffled order, IDX as MNIST's, gzip'd
  dir/CLASS/*    3 classes of 16x16 images (red, green and blue blobs on noise): PNGs, one
                 PPM and one gray PNG per class, as a directory dataset
  list.txt       the same images as `PATH LABEL` lines, relative to the list's directory,
                 with labels in reverse class order
  stats.txt      numpy's mean, std and eigen-decomposition of the covariance of the RGB
                 values (0..1, gray as R = G = B) of every pixel of dir/: one line each of
                 mean, std, eigenvalues (descending), then the three eigenvectors, one a line
                 with its largest component positive
"""
import gzip
import os
import struct

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "train")
rng = np.random.RandomState(5)


def idx_set():
    n, side = 48, 28
    labels = np.repeat(np.arange(4), n // 4)
    rng.shuffle(labels)
    images = np.zeros((n, side, side), np.uint8)
    yy, xx = np.mgrid[0:side, 0:side]
    for i, c in enumerate(labels):
        dy, dx = rng.randint(-3, 4, size=2)
        if c == 0:
            img = ((yy + dy) // 4) % 2 == 0
        elif c == 1:
            img = ((xx + dx) // 4) % 2 == 0
        elif c == 2:
            img = (abs(yy - 14 - dy) < 7) & (abs(xx - 14 - dx) < 7)
        else:
            img = abs((yy - dy) - (xx - dx)) < 3
        images[i] = np.where(img, 200, 30) + rng.randint(0, 2, size=(side, side)) * 12
    os.makedirs(os.path.join(OUT, "idx"), exist_ok=True)
    for name, magic, dims, data in (("images-idx3", 0x803, (n, side, side), images),
                                    ("labels-idx1", 0x801, (n,), labels.astype(np.uint8))):
        raw = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims)
        path = os.path.join(OUT, "idx", "tiny-%s-ubyte.gz" % name)
        with open(path, "wb") as f:
            f.write(gzip.compress(raw + data.tobytes(), mtime=0))


def dir_set():
    classes = ["blue", "green", "red"]
    lines, pixels = [], []
    yy, xx = np.mgrid[0:16, 0:16]
    for c, name in enumerate(classes):
        os.makedirs(os.path.join(OUT, "dir", name), exist_ok=True)
        for i in range(4):
            cy, cx = rng.randint(5, 11, size=2)
            blob = ((yy - cy) ** 2 + (xx - cx) ** 2 < 16)[..., None]
            colour = np.zeros(3)
            colour[2 - c] = 220
            img = np.where(blob, colour, 40) + rng.randint(0, 30, size=(16, 16, 3))
            img = img.astype(np.uint8)
            if i == 3:
                im = Image.fromarray(img).convert("L")
                rel = "dir/%s/%d-gray.png" % (name, i)
                pixels.append(np.repeat(np.asarray(im)[..., None], 3, axis=2))
            else:
                im = Image.fromarray(img)
                rel = "dir/%s/%d.%s" % (name, i, "ppm" if i == 2 else "png")
                pixels.append(img)
            im.save(os.path.join(OUT, rel))
            lines.append("%s %d\n" % (rel, len(classes) - 1 - c))
    with open(os.path.join(OUT, "list.txt"), "w") as f:
        f.writelines(lines)
    rgb = np.concatenate([p.reshape(-1, 3) for p in pixels]).astype(np.float64) / 255.0
    mean = rgb.mean(axis=0)
    cov = np.cov(rgb, rowvar=False, bias=True)
    val, vec = np.linalg.eigh(cov)
    order = np.argsort(val)[::-1]
    with open(os.path.join(OUT, "stats.txt"), "w") as f:
        f.write("%.9g %.9g %.9g\n" % tuple(mean))
        f.write("%.9g %.9g %.9g\n" % tuple(np.sqrt(np.diag(cov))))
        f.write("%.9g %.9g %.9g\n" % tuple(val[order]))
        for k in order:
            v = vec[:, k]
            v = v if v[np.argmax(abs(v))] > 0 else -v
            f.write("%.9g %.9g %.9g\n" % tuple(v))


idx_set()
dir_set()
