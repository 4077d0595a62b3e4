#!/bin/sh
# predict.sh: VGG-16 at 224x224, ours beside PyTorch on the same machine, in one run:
# ms per image at batch 1 and batch 8, and the whole process `vgg-predict -m W one.jpg`.
# Usage: bench/predict.sh [THREADS]   (default 2; needs python3-torch and -torchvision)
set -eu
cd "$(dirname "$0")/.."
threads=${1:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/vgg-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
make -s all build/bench/forward
/usr/bin/python3 bench/make_weights.py "$work/vgg16.safetensors" vgg16
cp tests/data/photo.jpg "$work/one.jpg"

ours1=$(build/bench/forward "$work/vgg16.safetensors" 1 5 "$threads")
ours8=$(build/bench/forward "$work/vgg16.safetensors" 8 3 "$threads")
torch1=$(/usr/bin/python3 bench/torch_forward.py 1 5 "$threads")
torch8=$(/usr/bin/python3 bench/torch_forward.py 8 3 "$threads")
best=
for i in 1 2 3 4 5; do
	t=$( { /usr/bin/time -f %e build/vgg-predict -t "$threads" -m "$work/vgg16.safetensors" \
		"$work/one.jpg" >/dev/null; } 2>&1 )
	best=$(echo "$t $best" | awk '{ print ($2 == "" || $1 < $2) ? $1 : $2 }')
done
echo "VGG-16 224x224, $threads threads, ms per image (best of runs)"
printf '%-28s %10s %10s %8s\n' "" vgg PyTorch ratio
printf '%-28s %10s %10s %8.2f\n' "forward, batch 1" "$ours1" "$torch1" "$(echo "$torch1 $ours1" | awk '{print $1/$2}')"
printf '%-28s %10s %10s %8.2f\n' "forward, batch 8" "$ours8" "$torch8" "$(echo "$torch8 $ours8" | awk '{print $1/$2}')"
printf '%-28s %10s\n' "vgg-predict one.jpg (s)" "$best"
echo "(ratio = PyTorch time / vgg time: above 1 means vgg is faster)"
