#!/bin/sh
# convert.sh: time and peak memory of vgg-convert on a full-size VGG-16 (528 MB), from
# torchvision's random initialisation saved as a .pth (zip and legacy), as a hub's
# safetensors (torchvision's names), as a V1 .caffemodel (the Oxford files' form), and as
# our own weights file converted back to a .pth.  Each conversion runs RUNS times (default
# 3); the table gives the fastest and slowest run and the largest peak RSS.
# Usage: bench/convert.sh [RUNS]   (needs python3-torch and -torchvision)
set -eu
cd "$(dirname "$0")/.."
runs=${1:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/vgg-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
make -s all
/usr/bin/python3 - "$work" <<'PY'
import struct, sys
import numpy as np
import torch, torchvision
sys.path.insert(0, "tests/golden")
import vggweights

out = sys.argv[1] + "/vgg16"
sd = torchvision.models.vgg16().state_dict()
torch.save(sd, out + ".zip.pth")
torch.save(sd, out + ".legacy.pth", _use_new_zipfile_serialization=False)
vggweights.write(out + ".hub.safetensors", [(k, v.numpy()) for k, v in sd.items()], {})
ours, config = vggweights.from_torchvision("vgg16", sd)
vggweights.write(out + ".ours.safetensors", ours, {"vgg.config": config})


def varint(n):
    b = bytearray()
    while True:
        b.append(n & 0x7F | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(b)


def field(number, payload):
    """A LEN field; an int payload is a VARINT field instead."""
    if isinstance(payload, int):
        return varint(number << 3) + varint(payload)
    return varint(number << 3 | 2) + varint(len(payload)) + payload


# NetParameter.layers (V1): name 4, type 5 (CONVOLUTION 4, INNER_PRODUCT 14), blobs 6, each
# a BlobProto with legacy dims num 1, channels 2, height 3, width 4 and packed data 5.
with open(out + ".caffemodel", "wb") as f:
    f.write(field(1, b"VGG_ILSVRC_16_layers"))
    for i in range(0, len(ours), 2):
        name = ours[i][0].split(".")[0]
        blobs = b""
        for _, a in ours[i:i + 2]:
            dims = (1,) * (4 - a.ndim) + a.shape
            blobs += field(6, b"".join(field(k + 1, d) for k, d in enumerate(dims)) +
                           field(5, np.ascontiguousarray(a, "<f4").tobytes()))
        kind = 14 if name.startswith("fc") else 4
        f.write(field(2, field(4, name.encode()) + field(5, kind) + blobs))
PY
# convert LABEL INPUT [OPTION]...: the output goes to $work/out, removed after each run
convert() {
	label=$1
	shift
	# the input is read once before timing, so the page cache holds it for every run
	cat "$1" >/dev/null
	best= worst= peak=0
	i=0
	while [ "$i" -lt "$runs" ]; do
		/usr/bin/time -f '%e %M' -o "$work/time" build/vgg-convert "$@" -o "$work/out" 2>/dev/null
		read -r secs kb <"$work/time"
		best=$(echo "$secs ${best:-$secs}" | awk '{ print ($1 < $2) ? $1 : $2 }')
		worst=$(echo "$secs ${worst:-$secs}" | awk '{ print ($1 > $2) ? $1 : $2 }')
		peak=$((kb > peak ? kb : peak))
		rm -rf "$work/out"
		i=$((i + 1))
	done
	printf '%-34s %7s %7s %14d\n' "$label" "$best" "$worst" $((peak / 1024))
}
echo "vgg-convert of VGG-16 (528 MB), $runs runs each"
printf '%-34s %7s %7s %14s\n' input fastest slowest "peak RSS (MB)"
for f in vgg16.zip.pth vgg16.legacy.pth vgg16.hub.safetensors vgg16.caffemodel; do
	convert "$f" "$work/$f"
done
convert "vgg16.ours.safetensors --to pytorch" "$work/vgg16.ours.safetensors" --to pytorch
convert "vgg16.zip.pth --to npy" "$work/vgg16.zip.pth" --to npy
