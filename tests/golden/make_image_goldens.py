#!/usr/bin/python3
"""Test images for the decoders and what PIL decodes them to, made with Debian's
python3-pil, python3-numpy and python3-skimage (run once from anywhere, commit the output;
the C tests read only the committed files and need no Python).

The photograph is Chelsea the cat from scikit-image's data directory (CC0, by Stefan van
der Walt), cropped to 4:3 and shrunk.  Sizes are odd on purpose: partial JPEG MCUs, partial
Adam7 passes and padded PBM rows are where decoders go wrong.  It writes into tests/data/:
  photo.jpg              baseline JPEG, 4:2:0, 129x97 (one pixel into the last MCUs)
  photo-progressive.jpg  the same pixels, progressive
  photo-gray.jpg         one-component JPEG
  photo-cmyk.jpg         Adobe CMYK JPEG (PIL writes it inverted) with real black ink, 81x61
  large.jpg              1200x900, quality 40, for DCT-scaled decoding
  small-*.png            63x47 PNGs: rgb, rgba, rgb16, interlaced (Adam7), palette (with
                         tRNS), gray, gray16, graya, gray1
  small.ppm, small.pgm   binary PNM with a header comment
and into tests/data/golden/ PIL's decode as P6 or P5, maxval 255: Image.open(f).convert("RGB"),
or "L" for gray inputs.  Files that must decode to the same pixels share a golden, and this
script asserts PIL agrees: the progressive JPEG with the baseline one, alpha, 16-bit and
interlaced PNGs with the 8-bit RGB or gray one.  The C test's table of pairs is GOLDENS below.

One departure from PIL: a 16-bit gray PNG opens as mode "I", and convert("L") clips those
values to 255 instead of scaling them.  The decoder takes the high byte, as PIL itself does
for 16-bit RGB (rawmode "RGB;16B"), so that golden is PIL's 16-bit values shifted right by 8.
PIL's own PNG writer cannot write 16-bit RGB or Adam7, so write_png below does.
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image
from skimage import data_dir

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
GOLDEN = os.path.join(OUT, "golden")

GOLDENS = [  # (test file, golden file); keep in step with tests/unit/test_image.c
    ("photo.jpg", "photo.ppm"),
    ("photo-progressive.jpg", "photo.ppm"),
    ("photo-gray.jpg", "photo-gray.pgm"),
    ("photo-cmyk.jpg", "photo-cmyk.ppm"),
    ("small-rgb.png", "small.ppm"),
    ("small-rgba.png", "small.ppm"),
    ("small-rgb16.png", "small.ppm"),
    ("small-interlaced.png", "small.ppm"),
    ("small.ppm", "small.ppm"),
    ("small-palette.png", "small-palette.ppm"),
    ("small-gray.png", "small.pgm"),
    ("small-gray16.png", "small.pgm"),
    ("small-graya.png", "small.pgm"),
    ("small.pgm", "small.pgm"),
    ("small-gray1.png", "small-gray1.pgm"),
]

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]  # x0, y0, dx, dy of each pass


def write_png(path, pixels, color_type, interlace=False):
    """A PNG of a uint8 or uint16 array (H x W or H x W x C), every row unfiltered."""
    depth = 16 if pixels.dtype == np.uint16 else 8
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    big_endian = pixels.astype(">u2" if depth == 16 else "u1")
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = big_endian[y0::dy, x0::dx]
        if sub.size:  # a pass with no pixels has no rows, not even filter bytes
            raw += b"".join(b"\0" + row.tobytes() for row in sub)
    height, width = pixels.shape[:2]
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, int(interlace))

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body)))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def write_pnm(path, pixels, comment=None):
    """Binary PPM or PGM, maxval 255, optionally with a comment line in the header."""
    height, width = pixels.shape[:2]
    note = "# %s\n" % comment if comment else ""
    head = "%s\n%s%d %d\n255\n" % ("P6" if pixels.ndim == 3 else "P5", note, width, height)
    with open(path, "wb") as f:
        f.write(head.encode("ascii") + np.ascontiguousarray(pixels, np.uint8).tobytes())


def low_bytes(shape):
    """A fixed pattern for the low byte of 16-bit samples, so taking the high byte and
    rounding to 8 bits give different answers."""
    y, x, c = np.indices(shape if len(shape) == 3 else shape + (1,))
    return ((x * 73 + y * 151 + c * 31) % 256).reshape(shape).astype(np.uint16)


def with_black_ink(rgb):
    """CMYK with grey component replacement, so K carries real ink (convert("CMYK") leaves
    K at 0, which would not show how K is combined)."""
    cmy = 255 - np.asarray(rgb, np.int32)
    k = cmy.min(axis=2) * 3 // 4
    cmyk = np.concatenate([cmy - k[:, :, None], k[:, :, None]], axis=2)
    return Image.fromarray(cmyk.astype(np.uint8), "CMYK")


def pil_decode(path):
    """PIL's pixels for a test file, as the decoder should give them."""
    im = Image.open(path)
    if im.mode in ("I", "I;16", "I;16B"):
        return (np.asarray(im, np.uint32) >> 8).astype(np.uint8)
    gray = im.mode in ("1", "L", "LA")
    return np.asarray(im.convert("L" if gray else "RGB"))


def main():
    os.makedirs(GOLDEN, exist_ok=True)
    cat = Image.open(os.path.join(data_dir, "chelsea.png")).convert("RGB")
    cat = cat.crop((30, 0, 430, 300))  # 4:3 around the cat's face
    photo = cat.resize((129, 97), Image.Resampling.LANCZOS)
    small = np.asarray(cat.resize((63, 47), Image.Resampling.LANCZOS))
    small_gray = np.asarray(Image.fromarray(small).convert("L"))

    def out(name):
        return os.path.join(OUT, name)

    jpeg = dict(quality=90, subsampling="4:2:0")
    photo.save(out("photo.jpg"), **jpeg)
    photo.save(out("photo-progressive.jpg"), progressive=True, **jpeg)
    photo.convert("L").save(out("photo-gray.jpg"), quality=90)
    cmyk = with_black_ink(cat.resize((81, 61), Image.Resampling.LANCZOS))
    cmyk.save(out("photo-cmyk.jpg"), quality=90)

    Image.fromarray(small).save(out("small-rgb.png"))
    alpha = np.indices(small.shape[:2]).sum(axis=0).astype(np.uint8) * 2
    Image.fromarray(np.dstack([small, alpha]), "RGBA").save(out("small-rgba.png"))
    write_png(out("small-rgb16.png"), small.astype(np.uint16) << 8 | low_bytes(small.shape), 2)
    write_png(out("small-interlaced.png"), small, 2, interlace=True)
    palette = Image.fromarray(small).quantize(32, dither=Image.Dither.NONE)
    palette.save(out("small-palette.png"), transparency=0)
    Image.fromarray(small_gray).save(out("small-gray.png"))
    write_png(out("small-gray16.png"),
              small_gray.astype(np.uint16) << 8 | low_bytes(small_gray.shape), 0)
    Image.fromarray(np.dstack([small_gray, alpha]), "LA").save(out("small-graya.png"))
    Image.fromarray(small_gray).convert("1").save(out("small-gray1.png"))
    # Large enough for DCT-scaled decoding (vgg-predict --fast-decode) to act, small on disk.
    cat.resize((1200, 900), Image.Resampling.BICUBIC).save(out("large.jpg"), quality=40)
    write_pnm(out("small.ppm"), small, "vgg test image")
    write_pnm(out("small.pgm"), small_gray, "vgg test image")

    written = {}
    for test, golden in GOLDENS:
        pixels = pil_decode(out(test))
        if golden in written:
            assert np.array_equal(written[golden], pixels), (test, golden)
            continue
        write_pnm(os.path.join(GOLDEN, golden), pixels)
        written[golden] = pixels
    for name in sorted(os.listdir(OUT)) + ["golden/" + n for n in sorted(os.listdir(GOLDEN))]:
        if os.path.isfile(out(name)):
            print("%7d %s" % (os.path.getsize(out(name)), name))


if __name__ == "__main__":
    main()
