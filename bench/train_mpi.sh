#!/bin/sh
# train_mpi.sh: vgg-train's data parallelism on this machine, 1 rank using every core
# against `mpirun -np 2` ranks sharing them, summing the gradients after the backward pass
# (--overlap no, the default on one machine) or during it (--overlap yes): training
# images/s, and the share of the step spent summing gradients (in MPI_Allreduce) and
# still waited for after the backward pass.  Two nets on random images: the Fashion-MNIST
# VGG of bench/train.sh (32x32x1, 0.9 M parameters) and VGG-16 at 224x224 with 1000
# classes (138 M parameters, 553 MB of gradients a step).  From VGG-16's figures it then
# estimates the step time for 8 and 64 machines on 10 and 100 Gb/s networks with the
# model of doc/distributed.md.
# Usage: bench/train_mpi.sh [STEPS]   (VGG-16 steps of 8 images, default 3; needs an MPI
# build, which ./configure makes when it finds Open MPI; 7 minutes on two busy cores)
set -eu
cd "$(dirname "$0")/.."
steps=${1:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/vgg-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
make -s all
if ! build/vgg-train --help | grep -q '^Built with MPI'; then
	echo "train_mpi.sh: build/vgg-train has no MPI (apt-get install openmpi-bin" \
	     "libopenmpi-dev, then ./configure)" >&2
	exit 1
fi
cores=$(nproc)
half=$((cores / 2 > 0 ? cores / 2 : 1))
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none

# Random images: 2048 of 32x32 in IDX files, and 8 x STEPS of 224x224 as PGM files in a
# list whose labels reach 999, so that VGG-16 keeps its 1000 classes.
python3 - "$work" "$steps" <<'EOF'
import os, random, struct, sys
work, steps = sys.argv[1], int(sys.argv[2])
random.seed(1)
n = 2048
with open(os.path.join(work, "fm-images-idx3-ubyte"), "wb") as f:
    f.write(struct.pack(">IIII", 0x803, n, 32, 32) + os.urandom(n * 32 * 32))
with open(os.path.join(work, "fm-labels-idx1-ubyte"), "wb") as f:
    f.write(struct.pack(">II", 0x801, n) + bytes(random.randrange(10) for _ in range(n)))
with open(os.path.join(work, "big.txt"), "w") as lst:
    for i in range(8 * steps):
        with open(os.path.join(work, "%d.pgm" % i), "wb") as f:
            f.write(b"P5\n224 224\n255\n" + os.urandom(224 * 224))
        lst.write("%d.pgm %d\n" % (i, 999 if i == 0 else random.randrange(1000)))
EOF

# run NAME RANKS THREADS BATCH ARGS...: one epoch of training, logged to $work/NAME.log.
run() {
	name=$1 ranks=$2 threads=$3 batch=$4
	shift 4
	launch=""
	[ "$ranks" = 1 ] || launch="mpirun --oversubscribe --allow-run-as-root -np $ranks"
	nice -n 19 $launch build/vgg-train -q -t "$threads" --batch "$batch" --epochs 1 \
		--dropout 0 --log "$work/$name.log" -o "$work/$name.safetensors" \
		--checkpoint "$work/$name.ckpt" "$@"
}

# steps RUN BATCH: over a run's steps after the first, which warms up: images/s, and the
# shares of their time spent summing gradients and waiting for the sums.
steps() {
	python3 - "$work/$1.log" "$2" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in rows if r["type"] == "step"][1:]
secs = sum(r["seconds"] for r in rows)
summed = sum(r.get("allreduce_seconds", 0) for r in rows)
waited = sum(r.get("allreduce_wait_seconds", 0) for r in rows)
print("%.6g %.6g %.6g" % (len(rows) * int(sys.argv[2]) / secs, summed / secs, waited / secs))
EOF
}

# report LABEL RUN BATCH: a row of the table.
report() {
	steps "$2" "$3" | awk -v label="$1" '{
		printf "%-36s %10.2f %12.1f %10.1f\n", label, $1, 100 * $2, 100 * $3 }'
}

fm='input 32x32x1 conv3-32 conv3-32 maxpool conv3-64 conv3-64 maxpool conv3-128 conv3-128
    maxpool FC-256 FC-256 FC-10'
for net in fm big; do
	if [ $net = fm ]; then
		set -- 128 --arch "$fm" --train "$work/fm-images-idx3-ubyte"
	else
		set -- 8 --arch vgg16 --train "$work/big.txt"
	fi
	run ${net}1 1 "$cores" "$@"
	run ${net}2 2 "$half" "$@" --overlap no
	run ${net}2o 2 "$half" "$@" --overlap yes
done

echo "Data parallelism on this machine ($cores cores), random images, the steps after the first:"
printf '%-36s %10s %12s %10s\n' "" "images/s" "allreduce %" "waited %"
report "FM VGG, 1 rank x $cores threads" fm1 128
report "FM VGG, 2 ranks x $half, summed after" fm2 128
report "FM VGG, 2 ranks x $half, summed during" fm2o 128
report "VGG-16, 1 rank x $cores threads" big1 8
report "VGG-16, 2 ranks x $half, summed after" big2 8
report "VGG-16, 2 ranks x $half, summed during" big2o 8

# The model of doc/distributed.md, for VGG-16 and a global batch of 256 on N machines like
# this one, one rank each: compute (256 / N) t_img, t_img this machine's time per image; a
# ring allreduce moving 2 (N - 1) / N of the 553 MB through each machine at 90% of the line
# rate, plus 2 (N - 1) latencies of 30 us for each of the 23 buckets; overlapped, all but
# the conv layers' 10.6% of the gradients go out while the conv layers' backward pass (2/3
# of the compute) runs.
t_img=$(steps big1 8 | awk '{ printf "%.4g", 1 / $1 }')
echo
echo "Estimate: VGG-16, batch 256, machines like this one (t_img $t_img s), one rank each:"
printf '%-8s %-9s %10s %12s %10s %10s %9s %10s\n' machines network compute allreduce \
	"serial" overlap images/s efficiency
for n in 8 64; do
	for gbps in 10 100; do
		awk -v n="$n" -v gbps="$gbps" -v t="$t_img" 'BEGIN {
			bytes = 4 * 138357544; buckets = 23; alpha = 30e-6; tail = 14714688 / 138357544
			compute = 256 / n * t
			net = 2 * (n - 1) / n * bytes / (0.9 * gbps * 1e9 / 8) + 2 * (n - 1) * buckets * alpha
			exposed = net - 2 / 3 * compute
			if (exposed < tail * net)
				exposed = tail * net
			step = compute + exposed
			printf "%-8d %-9s %9.3fs %11.3fs %9.3fs %9.3fs %9.1f %9.0f%%\n", n, gbps " Gb/s",
			       compute, net, compute + net, step, 256 / step, 100 * compute / step }'
	done
done
