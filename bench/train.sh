#!/bin/sh
# train.sh: training speed, ours beside PyTorch on the same machine in one run, for the
# issue's Fashion-MNIST VGG (32x32x1; conv3-32 x2, conv3-64 x2, conv3-128 x2, 2x2 pools;
# FC-256, FC-256, FC-10): images/s of SGD steps on one batch, and the epoch time they imply
# for Fashion-MNIST's 60,000 images.  With --epoch, also one whole epoch of vgg-train on
# the real data (loading, augmentation and all) beside one of PyTorch.
# Usage: bench/train.sh [--epoch] [THREADS [BATCH]]   (default 2 threads, batch 128;
# needs python3-torch; --epoch needs dataset-fashion-mnist)
set -eu
cd "$(dirname "$0")/.."
epoch=
if [ "${1:-}" = --epoch ]; then
	epoch=1
	shift
fi
threads=${1:-2}
batch=${2:-128}
work=$(mktemp -d "${TMPDIR:-/tmp}/vgg-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
make -s all build/bench/train_step
net='input 32x32x1 conv3-32 conv3-32 maxpool conv3-64 conv3-64 maxpool conv3-128 conv3-128 maxpool FC-256 FC-256 FC-10'

# Three rounds, ours and PyTorch's alternating, each the best of 20 steps; the medians.
# (Best of 5 steps, as this was first, swung by a quarter between runs on a shared host.)
for r in 1 2 3; do
	build/bench/train_step "$net" "$batch" 20 "$threads" >>"$work/ours"
	/usr/bin/python3 bench/torch_train.py "$batch" 20 "$threads" >>"$work/torch"
done
ours=$(sort -n "$work/ours" | sed -n 2p)
torch=$(sort -n "$work/torch" | sed -n 2p)
echo "Fashion-MNIST VGG 32x32x1, batch $batch, $threads threads: SGD steps (best of 20, median of 3 rounds)"
printf '%-28s %10s %10s %8s\n' "" vgg PyTorch ratio
printf '%-28s %10s %10s %8.2f\n' "images/s" "$ours" "$torch" "$(echo "$ours $torch" | awk '{print $1/$2}')"
printf '%-28s %10.0f %10.0f\n' "implied epoch (s)" "$(echo "$ours" | awk '{print 60000/$1}')" \
	"$(echo "$torch" | awk '{print 60000/$1}')"
[ -n "$epoch" ] || exit 0
fm=/usr/share/datasets/fashion-mnist
start=$(date +%s.%N)
build/vgg-train -q -t "$threads" --arch "$net" --train "$fm/train-images-idx3-ubyte.gz" \
	--batch "$batch" --epochs 1 --pad 2 -o "$work/fm.safetensors"
ours=$(echo "$start $(date +%s.%N)" | awk '{printf "%.0f", $2 - $1}')
torch=$(/usr/bin/python3 bench/torch_train.py "$batch" 0 "$threads" "$fm")
printf '%-28s %10s %10s %8.2f\n' "one real epoch (s)" "$ours" "$torch" "$(echo "$torch $ours" | awk '{print $1/$2}')"
echo "(ratio above 1: vgg is faster)"
