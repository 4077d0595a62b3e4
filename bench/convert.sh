#!/bin/sh
# convert.sh: time and peak memory of vgg-convert on a full-size VGG-16 (528 MB), from
# torchvision's random initialisation saved as a .pth (zip and legacy) and as a hub's
# safetensors.  Usage: bench/convert.sh   (needs python3-torch and -torchvision)
set -eu
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/vgg-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
make -s all
/usr/bin/python3 - "$work" <<'PY'
import sys, torch, torchvision
sd = torchvision.models.vgg16().state_dict()
torch.save(sd, sys.argv[1] + "/vgg16.zip.pth")
torch.save(sd, sys.argv[1] + "/vgg16.legacy.pth", _use_new_zipfile_serialization=False)
PY
printf '%-22s %8s %14s\n' input seconds "peak RSS (MB)"
for f in vgg16.zip.pth vgg16.legacy.pth; do
	# the input is read once before timing, so the page cache holds it for every run
	cat "$work/$f" >/dev/null
	/usr/bin/time -f '%e %M' -o "$work/time" build/vgg-convert "$work/$f" -o "$work/out.safetensors" 2>/dev/null
	read -r secs kb <"$work/time"
	printf '%-22s %8s %14d\n' "$f" "$secs" $((kb / 1024))
done
