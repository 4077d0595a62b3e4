#!/usr/bin/python3
"""Goldens for resize.c and preprocess.c, made by the libraries they must agree with:
Debian's python3-pil (Pillow 9.4), python3-opencv (OpenCV 4.6), python3-torchvision (0.14)
and python3-numpy.  Run it once from anywhere and commit the output; the C test
(tests/unit/test_preprocess.c) reads only the committed files and needs no Python.

Inputs are photographs from scikit-image's data directory (python3-skimage), shrunk with
PIL to odd sizes in both orientations: astronaut (NASA, public domain), chelsea and coffee
(CC0), camera (CC0, gray).  Everything goes into tests/data/preprocess/:
  *.ppm, *.pgm     inputs and resized outputs: binary P6 or P5, maxval 255
  *.npy            pipeline outputs: float32 '<f4', C order, channels x height x width
  MANIFEST         one case a line, which the C test follows:
    resize FILTER INPUT OUTPUT
        OUTPUT is INPUT resized to OUTPUT's size by FILTER: pil is
        Image.resize(size, Image.BILINEAR), cv is cv2.resize(img, size,
        interpolation=cv2.INTER_LINEAR); both must match byte for byte.
    pipeline PRESET INPUT CHANNELS RESIZE CROP_H CROP_W OUTPUT
        OUTPUT is INPUT through the preset's pipeline with those sizes (the presets'
        other values as vgg_preprocess_torchvision and vgg_preprocess_caffe set them):
        torchvision is Resize(RESIZE), CenterCrop((CROP_H, CROP_W)), ToTensor(),
        Normalize(mean, std) on the image converted to "RGB" or "L"; caffe is OpenCV's
        resize of the BGR pixels to the same size, the same centre crop, minus the mean
        pixel, in float32.
Only one pipeline runs at full size (Resize(256), CenterCrop(224)), and on one channel:
a 3x224x224 float tensor alone would be 600 KB.  The others use the same code at smaller
sizes, chosen so that crop offsets round half to even and one crop needs padding.
"""
import os

import cv2
import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from skimage import data_dir
from torchvision import transforms as T

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "preprocess")

# The presets' values, as lib/preprocess.c sets them.
TV_MEAN, TV_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

# name: (source photo, mode, width, height)
INPUTS = {
    "astronaut.ppm": ("astronaut.png", "RGB", 83, 111),  # portrait, odd by odd
    "chelsea.ppm": ("chelsea.png", "RGB", 125, 82),      # landscape
    "coffee.ppm": ("coffee.png", "RGB", 42, 30),         # small: halving and upscaling
    "camera.pgm": ("camera.png", "L", 134, 133),         # gray
}

RESIZES = [  # (input, width, height)
    ("astronaut.ppm", 47, 63),   # both sides shrink, by non-integer factors
    ("astronaut.ppm", 83, 40),   # the vertical pass alone
    ("chelsea.ppm", 40, 26),     # a wide filter: about 3 inputs per output
    ("coffee.ppm", 21, 15),      # exact halving: OpenCV switches to INTER_AREA
    ("coffee.ppm", 67, 53),      # both sides grow
    ("coffee.ppm", 60, 30),      # the horizontal pass alone, growing
    ("camera.pgm", 57, 50),      # one channel
]

PIPELINES = [  # (preset, input, channels, resize, crop_h, crop_w)
    # Full size: 134x133 -> 257x256, left offset round(16.5) = 16.
    ("torchvision", "camera.pgm", 1, 256, 224, 224),
    # 83x111 -> 40x53, top offset round(10.5) = 10.
    ("torchvision", "astronaut.ppm", 3, 40, 32, 32),
    # 125x82 -> 73x48, a non-square crop, left offset round(17.5) = 18.
    ("torchvision", "chelsea.ppm", 3, 48, 30, 38),
    # 42x30 -> 28x20, then a 25x25 crop: 2 rows of zeros above, 3 below.
    ("torchvision", "coffee.ppm", 3, 20, 25, 25),
    # Colour to luma, convert("L") before the resize.
    ("torchvision", "chelsea.ppm", 1, 48, 40, 40),
    # Gray to colour, convert("RGB").
    ("torchvision", "camera.pgm", 3, 40, 32, 32),
    # OpenCV's resize, BGR and the mean pixel.
    ("caffe", "astronaut.ppm", 3, 40, 32, 32),
    ("caffe", "chelsea.ppm", 3, 48, 30, 38),
]


def write_pnm(path, img):
    a = np.asarray(img)
    magic = b"P6" if a.ndim == 3 else b"P5"
    with open(path, "wb") as f:
        f.write(b"%s\n%d %d\n255\n" % (magic, a.shape[1], a.shape[0]))
        f.write(np.ascontiguousarray(a, dtype=np.uint8).tobytes())


def write_npy(path, a):
    a = np.ascontiguousarray(a, dtype="<f4")
    with open(path, "wb") as f:
        np.lib.format.write_array(f, a, version=(1, 0))


def resized_size(w, h, size):
    """torchvision's Resize(int) output size, as (width, height)."""
    short, long = (w, h) if w <= h else (h, w)
    if short == size:
        return w, h
    new_long = int(size * long / short)
    return (size, new_long) if w <= h else (new_long, size)


def crop_offset(size, crop):
    return int(round((size - crop) / 2.0))


def torchvision_pipeline(img, channels, resize, crop_h, crop_w):
    img = img.convert("RGB" if channels == 3 else "L")
    tf = T.Compose([
        T.Resize(resize),
        T.CenterCrop((crop_h, crop_w)),
        T.ToTensor(),
        T.Normalize(TV_MEAN[:channels], TV_STD[:channels]),
    ])
    return tf(img).numpy()


def caffe_pipeline(img, resize, crop_h, crop_w):
    bgr = np.ascontiguousarray(np.asarray(img.convert("RGB"))[:, :, ::-1])
    w, h = resized_size(bgr.shape[1], bgr.shape[0], resize)
    if (w, h) != (bgr.shape[1], bgr.shape[0]):
        bgr = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_LINEAR)
    assert crop_h <= h and crop_w <= w, "caffe goldens do not pad"
    top, left = crop_offset(h, crop_h), crop_offset(w, crop_w)
    crop = bgr[top:top + crop_h, left:left + crop_w].astype(np.float32)
    return (crop - np.array(CAFFE_MEAN_BGR, np.float32)).transpose(2, 0, 1)


def stem(name):
    return os.path.splitext(name)[0]


def main():
    os.makedirs(OUT, exist_ok=True)
    versions = "Pillow %s, OpenCV %s, torchvision %s, torch %s, numpy %s" % (
        PIL.__version__, cv2.__version__, torchvision.__version__, torch.__version__,
        np.__version__)
    lines = ["# Made by tests/golden/make_preprocess_goldens.py with " + versions + ".",
             "# resize FILTER INPUT OUTPUT",
             "# pipeline PRESET INPUT CHANNELS RESIZE CROP_H CROP_W OUTPUT"]
    images = {}
    for name, (photo, mode, w, h) in INPUTS.items():
        img = Image.open(os.path.join(data_dir, photo)).convert(mode)
        img = img.resize((w, h), Image.LANCZOS)
        write_pnm(os.path.join(OUT, name), img)
        images[name] = Image.open(os.path.join(OUT, name))

    for name, w, h in RESIZES:
        img = images[name]
        ext = os.path.splitext(name)[1]
        pil = img.resize((w, h), Image.BILINEAR)
        cv = cv2.resize(np.asarray(img), (w, h), interpolation=cv2.INTER_LINEAR)
        for filt, out in (("pil", pil), ("cv", cv)):
            out_name = "%s.%s.%dx%d%s" % (stem(name), filt, w, h, ext)
            write_pnm(os.path.join(OUT, out_name), out)
            lines.append("resize %s %s %s" % (filt, name, out_name))

    for preset, name, channels, resize, crop_h, crop_w in PIPELINES:
        img = images[name]
        if preset == "torchvision":
            t = torchvision_pipeline(img, channels, resize, crop_h, crop_w)
        else:
            t = caffe_pipeline(img, resize, crop_h, crop_w)
        assert t.shape == (channels, crop_h, crop_w), t.shape
        out_name = "%s.%s.%dx%dx%d.npy" % (stem(name), preset, channels, crop_h, crop_w)
        write_npy(os.path.join(OUT, out_name), t)
        lines.append("pipeline %s %s %d %d %d %d %s" % (preset, name, channels, resize,
                                                        crop_h, crop_w, out_name))

    with open(os.path.join(OUT, "MANIFEST"), "w") as f:
        f.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print("wrote %d files, %d bytes, to %s" % (len(os.listdir(OUT)), total, OUT))


if __name__ == "__main__":
    main()
