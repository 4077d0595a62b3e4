#!/usr/bin/env bats
# vgg-train: a tiny net trained for a few epochs on tiny data sets made here (a directory of
# PGM images per class, a list file, IDX files); the loss falls, resume equals an
# uninterrupted run, the seed fixes the weights; every option; bad input.
load test_helper
load train_data
bats_require_minimum_version 1.5.0

TOOL=vgg-train
NET='input 8x8x1 conv3-4 maxpool FC-8 FC-2'

setup() {
	D=$BATS_TEST_TMPDIR
	OUT=$D/out.safetensors
	make_data "$D"
}

# train ARGS...: the tiny net on the class directory, quietly, one thread.
train() {
	vgg-train -q -t 1 --arch "$NET" --train "$D/classes" --batch 8 --lr 0.05 -o "$OUT" "$@"
}

# epoch_losses LOG: the per-epoch training losses of a --log file, one per line.
epoch_losses() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d["type"] == "epoch":
        print(d["loss"])' "$1"
}

@test "--help lists every option; -V gives the version" {
	run -0 vgg-train --help
	local opt
	for opt in --arch --width --input --train --val --val-split --output --epochs --batch --lr --momentum \
		--weight-decay --dropout --schedule --patience --lr-drops --step --warmup --scale \
		--pad --no-flip --colour --mean --std --init --init-from --freeze --labels \
		--checkpoint --resume --log --plot --threads --seed --overlap --quiet --help \
		--version; do
		assert_output --partial -- "$opt"
		grep -qF -- "${opt//-/\\-}" "$TOP/man/vgg-train.1" || fail "$opt is not in vgg-train(1)"
	done
	run -0 vgg-train -V
	assert_output 'vgg-train (vgg) 0.1.0'
}

@test "usage errors: no --train, -o or --arch; bad values; --val with --val-split" {
	check_usage_error -o "$OUT" --arch "$NET"
	check_usage_error --train "$D/classes" --arch "$NET"
	check_usage_error --train "$D/classes" -o "$OUT"
	local bad
	for bad in '--lr x' '--lr -1' '--epochs 0' '--batch 0' '--momentum 2' '--dropout 1' \
		'--schedule fast' '--init zeros' '--scale 0' '--scale 300:200' '--scale a:b' \
		'--mean 1,2' '--std 0,1,1' '--patience 0' '--val-split 1.5' '--threads 0' \
		'--pad -1' '--overlap maybe' '--bogus'; do
		# shellcheck disable=SC2086
		check_usage_error --arch "$NET" --train "$D/classes" -o "$OUT" $bad
	done
	check_usage_error --arch "$NET" --train "$D/classes" -o "$OUT" --val "$D/classes" \
		--val-split 0.2
	check_usage_error --arch "$NET" --train "$D/classes" -o "$OUT" extra
	check_usage_error --arch "$NET" --train "$D/classes" -o "$OUT" --freeze conv9_9
}

@test "a class directory: the loss falls, the weights classify, labels are the class names" {
	run -0 train --epochs 6 --log "$D/log"
	run -0 epoch_losses "$D/log"
	assert_equal "${#lines[@]}" 6
	python3 -c 'import sys; a = [float(x) for x in sys.argv[1:]]; sys.exit(0 if a[-1] < a[0] / 2 else 1)' \
		"${lines[@]}" || fail "the loss did not halve: ${lines[*]}"
	run -0 vgg-inspect "$OUT"
	assert_line --regexp '^  vgg\.labels +bottom \.\.\. \(2 lines, 10 bytes\)$'
	run -0 vgg-predict -k 1 -m "$OUT" "$D/classes/bottom/00.pgm" "$D/classes/top/00.pgm"
	assert_line --index 0 --regexp $'00\.pgm\t0:[0-9.]+:bottom$'
	assert_line --index 1 --regexp $'00\.pgm\t1:[0-9.]+:top$'
}

@test "epoch lines on stdout; --quiet silences them; a checkpoint beside the output" {
	run -0 --separate-stderr vgg-train -t 1 --arch "$NET" --train "$D/classes" --batch 8 \
		--epochs 2 -o "$OUT" --val "$D/classes"
	assert_line --index 0 --regexp '^epoch 1/2: loss [0-9.]+, accuracy [0-9.]+; validation loss [0-9.]+, top-1 error [0-9.]+, top-5 error 0\.0000; lr 0\.01; [0-9.]+ s$'
	assert_equal "${#lines[@]}" 2
	[ -f "$OUT.ckpt" ] || fail "no $OUT.ckpt"
	run -0 train --epochs 1 --checkpoint "$D/c.ckpt"
	assert_output ''
	[ -f "$D/c.ckpt" ] || fail "no --checkpoint file"
}

@test "the same seed gives the same weights; another seed others" {
	train --epochs 2 --seed 5
	cp "$OUT" "$D/a"
	train --epochs 2 --seed 5
	cmp "$OUT" "$D/a"
	train --epochs 2 --seed 6
	! cmp -s "$OUT" "$D/a"
}

@test "--resume from an epoch's checkpoint ends with the uninterrupted run's weights" {
	train --epochs 4 --log "$D/straight.log"
	cp "$OUT" "$D/straight"
	train --epochs 2
	run -0 vgg-inspect "$OUT.ckpt"
	assert_output --partial 'vgg.train.state'
	assert_output --partial 'conv1_1.weight.momentum'
	# --arch comes from the checkpoint when not given.
	vgg-train -q -t 1 --train "$D/classes" --batch 8 --lr 0.05 -o "$OUT" --epochs 4 \
		--resume "$OUT.ckpt"
	cmp "$OUT" "$D/straight"
}

@test "Ctrl-C mid-epoch writes a checkpoint, exits 130; --resume ends as an uninterrupted run" {
	# 3000 32x32 images, so that an epoch lasts long enough to be interrupted (750 steps of 4).
	python3 -c '
import random, struct, sys
random.seed(5)
n, images = 3000, []
for i in range(n):
    images.append(bytes(min(255, (180 if (y >= 16) == (i % 2 == 0) else 30) +
                            random.randint(0, 60)) for y in range(32) for x in range(32)))
open(sys.argv[1] + "/big-images-idx3-ubyte", "wb").write(
    struct.pack(">IIII", 0x803, n, 32, 32) + b"".join(images))
open(sys.argv[1] + "/big-labels-idx1-ubyte", "wb").write(
    struct.pack(">II", 0x801, n) + bytes(i % 2 for i in range(n)))' "$D"
	local args=(-t 1 --arch 'input 32x32x1 conv3-8 conv3-8 maxpool FC-16 FC-2' --batch 4
		--epochs 2 --train "$D/big-images-idx3-ubyte" -o "$OUT")
	vgg-train "${args[@]}" --log "$D/log" >"$D/stdout" 2>"$D/stderr" &
	local pid=$! status=0
	# Interrupted once its first step is logged: the two epochs last under a second here,
	# less than the fixed second this test used to wait.
	for _ in $(seq 600); do
		grep -q '"type":"step"' "$D/log" 2>/dev/null && break
		sleep 0.05
	done
	kill -INT "$pid"
	wait "$pid" || status=$?
	assert_equal "$status" 130
	run cat "$D/stderr"
	assert_output --partial "interrupted; checkpoint written to $OUT.ckpt"
	[ ! -e "$OUT" ] || fail "an output after an interrupt"
	run -0 vgg-inspect "$OUT.ckpt"
	assert_output --partial 'vgg.train.state'
	run -0 vgg-train -q "${args[@]}" --resume "$OUT.ckpt"
	mv "$OUT" "$D/resumed"
	run -0 vgg-train -q "${args[@]}"
	cmp "$OUT" "$D/resumed"
}

@test "a list file and IDX files train as the class directory does" {
	run -0 vgg-train -q -t 1 --arch "$NET" --train "$D/list.txt" --batch 8 --epochs 3 \
		--lr 0.05 -o "$D/list.safetensors" --log "$D/list.log"
	run -0 epoch_losses "$D/list.log"
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[3]) < float(sys.argv[1]) else 1)' \
		"${lines[@]}" || fail "the loss did not fall: ${lines[*]}"
	printf 'bottom\ntop\n' >"$D/names"
	run -0 vgg-train -q -t 1 --arch "$NET" --train "$D/t-images-idx3-ubyte" --batch 8 \
		--epochs 3 --lr 0.05 -o "$D/idx.safetensors" --labels "$D/names"
	run -0 vgg-predict -k 1 -m "$D/idx.safetensors" "$D/classes/top/03.pgm"
	assert_output --regexp $'03\.pgm\t1:[0-9.]+:top$'
	# A list from share/vgg is named in the metadata, not copied; it must fit the classes.
	check_bad_input --arch "$NET" --train "$D/list.txt" --epochs 1 -o "$D/list.safetensors" \
		--labels fashion-mnist
	assert_equal "$stderr" "vgg-train: --labels fashion-mnist has 10 names for the data's 2 classes"
}

@test "--val and --val-split evaluate every epoch; --log has step and epoch objects" {
	run -0 train --epochs 2 --val-split 0.25 --log "$D/log"
	run -0 python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
steps = [r for r in rows if r["type"] == "step"]
epochs = [r for r in rows if r["type"] == "epoch"]
# 36 training images in batches of 8: 5 steps an epoch.
assert len(steps) == 10, len(steps)
assert [r["step"] for r in steps] == list(range(1, 11))
assert set(steps[0]) == {"type", "epoch", "step", "lr", "loss", "accuracy", "seconds"}, steps[0]
assert len(epochs) == 2
assert {"val_loss", "val_top1_error", "val_top5_error", "seconds"} <= set(epochs[0])
print("ok")' "$D/log"
	assert_output ok
}

@test "--plot draws loss and accuracy per epoch as an 800x500 PNG" {
	run -0 train --epochs 3 --val "$D/classes" --plot "$D/chart.png"
	run -0 python3 -c '
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
print("%dx%d" % struct.unpack(">II", data[16:24]))' "$D/chart.png"
	assert_output 800x500
	check_usage_error --arch "$NET" --train "$D/classes" -o "$OUT" --plot
}

@test "schedules: step and cosine with warm-up set the rate per step" {
	run -0 train --epochs 3 --schedule step --step 1 --lr 0.1 --log "$D/step.log"
	run -0 python3 -c '
import json, sys
lr = [json.loads(l)["lr"] for l in open(sys.argv[1]) if "\"epoch\"" in l and "\"step\"" in l]
print(" ".join("%.4g" % x for x in sorted(set(lr), reverse=True)))' "$D/step.log"
	assert_output '0.1 0.01 0.001'
	run -0 train --epochs 4 --schedule cosine --warmup 1 --lr 0.1 --log "$D/cos.log"
	run -0 python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
lr = [r["lr"] for r in rows if r["type"] == "step"]
assert lr[0] < 0.03, lr[:6]            # warm-up starts near 0
assert max(lr) <= 0.1 + 1e-6
assert lr[-1] < 0.02, lr[-6:]          # the cosine ends near 0
print("ok")' "$D/cos.log"
	assert_output ok
	run -0 train --epochs 6 --schedule plateau --patience 1 --lr-drops 1 --val "$D/classes"
}

@test "initialisations, dropout, momentum, weight decay, augmentation options all train" {
	local opts
	for opts in '--init glorot' '--init normal' '--init kaiming' '--dropout 0' \
		'--momentum 0' '--weight-decay 0' '--pad 2' '--no-flip' '--scale 8' \
		'--scale 8:12' '--colour 0' '--mean 0.5,0.5,0.5 --std 0.25,0.25,0.25'; do
		# shellcheck disable=SC2086
		train --epochs 1 $opts || fail "vgg-train $opts"
		[ -f "$OUT" ] || fail "no output with $opts"
	done
	run -0 vgg-inspect --json "$OUT"
	jcheck 'd["metadata"]["vgg.mean"]' '0.5,0.5,0.5' 'd["metadata"]["vgg.std"]' '0.25,0.25,0.25'
}

@test "--init-from: the same net fine-tunes every layer; a deeper one gets the surgery" {
	train --epochs 2
	cp "$OUT" "$D/base"
	run -0 --separate-stderr vgg-train -t 1 --arch "$NET" --train "$D/classes" --batch 8 \
		--epochs 1 -o "$D/tuned" --init-from "$D/base"
	assert_equal "$stderr" "vgg-train: fine-tuning from $D/base: conv1_1 fc2 fc3"
	run -0 --separate-stderr vgg-train -q -t 1 --train "$D/classes" --batch 8 --epochs 1 \
		--arch 'input 8x8x1 conv3-4 conv3-4 maxpool FC-8 FC-2' -o "$D/deeper" \
		--init-from "$D/base"
	assert_equal "$stderr" "vgg-train: net surgery from $D/base: conv1_1 fc2 fc3"
	# The weights may come through a pipe.
	run -0 --separate-stderr vgg-train -q -t 1 --arch "$NET" --train "$D/classes" --batch 8 \
		--epochs 1 -o "$D/piped" --init-from - <"$D/base"
	assert_equal "$stderr" "vgg-train: fine-tuning from -: conv1_1 fc2 fc3"
	run -1 --separate-stderr vgg-train -q -t 1 --train "$D/classes" --epochs 1 -o "$D/x" \
		--arch 'input 8x8x1 conv3-5 maxpool FC-9 FC-2' --init-from "$D/base"
	assert_regex "$stderr" "^vgg-train: '$D/base': no layer of .* has weights of the same name and shape there$"
}

@test "--freeze keeps a layer's weights; the others move" {
	train --epochs 1
	cp "$OUT" "$D/base"
	train --epochs 2 --init-from "$D/base" --freeze conv1_1
	run -0 vgg-inspect --json "$D/base"
	local before=$output
	run -0 vgg-inspect --json "$OUT"
	run -0 python3 -c '
import json, sys
a = {t["name"]: t for t in json.loads(sys.argv[1])["tensors"]}
b = {t["name"]: t for t in json.loads(sys.argv[2])["tensors"]}
same = [n for n in a if a[n] == b[n]]
print(" ".join(sorted(same)))' "$before" "$output"
	assert_output 'conv1_1.bias conv1_1.weight'
	train --epochs 1 --init-from "$D/base" --freeze conv1_1..fc2
}

@test "bad data: a missing directory, an empty one, a broken image among good ones" {
	check_bad_input --arch "$NET" --train "$D/nope" -o "$OUT"
	mkdir "$D/empty"
	check_bad_input --arch "$NET" --train "$D/empty" -o "$OUT"
	printf 'not an image' >"$D/classes/top/99.pgm"
	run -0 --separate-stderr train --epochs 1
	assert_regex "$stderr" "^vgg-train: skipped: .*99\.pgm.*"
	[ -f "$OUT" ] || fail "no output"
}

@test "--width and a GAP head: vgg11_bn_gap at a sixteenth of its width trains" {
	run -0 vgg-train -q -t 1 --arch vgg11_bn_gap --width 0.0625 --input 32x32x1 \
		--train "$D/classes" --batch 8 --epochs 2 -o "$OUT"
	run -0 vgg-inspect "$OUT"
	assert_line --index 0 'vgg11_bn_gap: input 1x32x32, 2 classes'
	assert_line --regexp '^conv1_1 +conv\+bn +4x32x32 '
	assert_line --regexp ' avgpool +32x1x1 '
	run -0 vgg-predict -m "$OUT" "$D/classes/top/00.pgm"
	check_usage_error --arch "$NET" --train "$D/classes" -o "$OUT" --width 0
	check_usage_error --arch "$NET" --train "$D/classes" -o "$OUT" --input 0x8
}

@test "a net without an FC layer cannot train: exit 1, one line" {
	check_bad_input --arch 'input 8x8x1 conv3-4 maxpool' --train "$D/classes" -o "$OUT"
}

@test "every vgg-train example in man/vgg-train.1 has valid options" {
	# Training on the examples' data takes minutes: --help last makes getopt check every
	# option before it, then exit 0.
	local cmd n=0
	while IFS= read -r -d '' cmd; do
		run -0 bash -c "$cmd --help" || fail "$cmd"
		n=$((n + 1))
	done < <(man_examples "$TOP/man/vgg-train.1" vgg-train)
	assert_equal "$n" 2
}
