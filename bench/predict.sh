#!/bin/sh
# predict.sh: VGG-11, VGG-16 and VGG-19 at 224x224, ours beside PyTorch on the same machine
# in one run.  Per model and batch (1 and 8): ms per image, the median of ROUNDS rounds in
# which our passes and PyTorch's alternate, so that both see the same machine.  Then fc6's
# GEMV for one image against a memcpy of its weights' size, and the whole process of
# classifying one JPEG with VGG-16: vgg-predict against a Python one-liner that loads the
# same weights with torch, wall time and peak RSS.
# Usage: bench/predict.sh [THREADS [ROUNDS]]   (defaults 2 and 5; needs python3-torch and
# python3-torchvision, installed with apt-get when run as root)
set -eu
cd "$(dirname "$0")/.."
threads=${1:-2}
rounds=${2:-5}
if ! /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		apt-get install -y python3-torch python3-torchvision >&2
	else
		echo "predict.sh: needs apt-get install python3-torch python3-torchvision" >&2
		exit 1
	fi
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/vgg-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
make -s all build/bench/forward build/bench/fc
for a in vgg11 vgg16 vgg19; do
	/usr/bin/python3 bench/make_weights.py "$work/$a.safetensors" $a \
		$([ $a = vgg16 ] && echo "$work/vgg16.pth")
done
cp tests/data/photo.jpg "$work/one.jpg"

# The one-liner: torchvision's VGG-16 with the same weights, torchvision's preprocessing
# (resize 256, centre crop 224, ImageNet's mean and std), the top 5.
oneliner='import sys,torch,torchvision as tv,torchvision.transforms as T,PIL.Image as I;torch.set_num_threads(int(sys.argv[3]));torch.set_grad_enabled(False);m=tv.models.vgg16();m.load_state_dict(torch.load(sys.argv[1]));m.eval();x=T.Compose([T.Resize(256),T.CenterCrop(224),T.ToTensor(),T.Normalize([.485,.456,.406],[.229,.224,.225])])(I.open(sys.argv[2]).convert("RGB"));p,i=m(x[None]).softmax(1).topk(5);print(sys.argv[2],i[0].tolist(),p[0].tolist())'

median() {
	sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# One pass counted per process (after one that is not), alternating ours and PyTorch's.
for r in $(seq "$rounds"); do
	for a in vgg11 vgg16 vgg19; do
		for b in 1 8; do
			build/bench/forward "$work/$a.safetensors" $b 1 "$threads" >>"$work/ours.$a.$b"
			/usr/bin/python3 bench/torch_forward.py $a $b 1 "$threads" >>"$work/torch.$a.$b"
		done
	done
	/usr/bin/time -f '%e %M' -o "$work/time" build/vgg-predict -t "$threads" \
		-m "$work/vgg16.safetensors" "$work/one.jpg" >/dev/null
	cat "$work/time" >>"$work/ours.whole"
	/usr/bin/time -f '%e %M' -o "$work/time" /usr/bin/python3 -c "$oneliner" \
		"$work/vgg16.pth" "$work/one.jpg" "$threads" >/dev/null
	cat "$work/time" >>"$work/torch.whole"
done
set -- $(build/bench/fc "$work/vgg16.safetensors" "$threads")

echo "VGG at 224x224, $threads threads, ms per image (median of $rounds rounds, interleaved)"
printf '%-8s %6s %10s %10s %9s\n' model batch vgg PyTorch speed-up
for a in vgg11 vgg16 vgg19; do
	for b in 1 8; do
		o=$(median <"$work/ours.$a.$b") t=$(median <"$work/torch.$a.$b")
		printf '%-8s %6d %10.1f %10.1f %8.2fx\n' $a $b "$o" "$t" "$(echo "$t $o" | awk '{ print $1 / $2 }')"
	done
done
echo "(speed-up: PyTorch's time over ours)"
echo
echo "fc6 for one image: GEMV $1 ms ($2 GB/s of weights); memcpy of the same $5 MiB $3 ms ($4 GB/s, and as much written)"
echo
o=$(cut -d' ' -f1 "$work/ours.whole" | median) t=$(cut -d' ' -f1 "$work/torch.whole" | median)
om=$(cut -d' ' -f2 "$work/ours.whole" | median) tm=$(cut -d' ' -f2 "$work/torch.whole" | median)
size=$(wc -c <"$work/vgg16.safetensors")
echo "Whole process, one JPEG with VGG-16 (median of $rounds)"
printf '%-30s %8s %14s\n' "" "wall s" "peak RSS MiB"
printf '%-30s %8s %14d\n' "vgg-predict -m vgg16.safetensors" "$o" $((om / 1024))
printf '%-30s %8s %14d\n' "python3 one-liner (torch)" "$t" $((tm / 1024))
printf '%-30s %8.1fx\n' "speed-up" "$(echo "$t $o" | awk '{ print $1 / $2 }')"
echo "weights file: $((size / 1048576)) MiB; vgg-predict's RSS over it: $((om / 1024 - size / 1048576)) MiB"
