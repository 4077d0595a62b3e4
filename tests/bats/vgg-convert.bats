#!/usr/bin/env bats
# vgg-convert: every input form to our weights file, checked by running the result against
# the reference's outputs (torch for .pth and safetensors, OpenCV's dnn for .caffemodel);
# every option; bad input.
load test_helper
bats_require_minimum_version 1.5.0

setup() {
	C=$TOP/tests/data/convert
	CAFFE=$TOP/tests/data/caffe
	IN=$TOP/tests/data/net/input.npy
	OUT=$BATS_TEST_TMPDIR/out.safetensors
}

# error_of WEIGHTS INPUT EXPECTED [LAYER]: the largest relative difference of our run.
error_of() {
	python3 "$BATS_TEST_DIRNAME/logits_error.py" "$VGG_BUILD/vgg-predict" "$@"
}

below() {
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$1" "$2" ||
		fail "relative error $1 is not below $2"
}

@test "PyTorch zip, legacy, module. prefixes, checkpoint dict: logits equal torch's" {
	local form
	for form in zip legacy module checkpoint; do
		run -0 --separate-stderr vgg-convert "$C/vgg11.$form.pth" -o "$OUT"
		assert_equal "$stderr" "vgg-convert: '$C/vgg11.$form.pth' (pytorch) holds a custom VGG: see vgg-inspect of the output"
		run -0 error_of "$OUT" "$IN" "$C/vgg11.fc8.npy"
		below "$output" 1e-4
	done
}

@test "a hub's safetensors with torchvision or timm names: logits equal torch's" {
	run -0 vgg-convert "$C/vgg11.timm.safetensors" -o "$OUT"
	run -0 error_of "$OUT" "$IN" "$C/vgg11.fc8.npy"
	below "$output" 1e-4
	run -0 vgg-convert "$C/vgg11.hub.safetensors" -o "$OUT"
	run -0 error_of "$OUT" "$IN" "$C/vgg11.fc8.npy"
	below "$output" 1e-4
	run -0 vgg-inspect "$OUT"
	assert_line --regexp '^  vgg\.source +vgg-convert 0\.1\.0 from .*'
	assert_line --index 0 'custom: input 3x64x64, 10 classes'
}

@test "batch norm kept, or folded with --fold-bn: the same logits" {
	run -0 vgg-convert "$C/vgg16_bn.zip.pth" -o "$OUT"
	run -0 vgg-inspect "$OUT"
	assert_line --regexp '^conv1_1\.bn\.running_var +F32 +\[2\] '
	assert_line --regexp '^conv1_1 +conv\+bn '
	run -0 error_of "$OUT" "$IN" "$C/vgg16_bn.fc8.npy"
	below "$output" 1e-4
	run -0 vgg-convert --fold-bn "$C/vgg16_bn.zip.pth" -o "$OUT"
	run -0 vgg-inspect "$OUT"
	refute_line --partial '.bn.'
	assert_line --regexp '^conv1_1 +conv '
	run -0 error_of "$OUT" "$IN" "$C/vgg16_bn.fc8.npy"
	below "$output" 1e-4
}

@test "Caffe V1 and V2 files, float, double and unpacked data: logits equal OpenCV's dnn" {
	local f
	for f in v1 v2 double unpacked; do
		run -0 vgg-convert "$CAFFE/$f.caffemodel" -o "$OUT"
		# the last FC layer is fc4 in our names: the net has two pools
		run -0 error_of "$OUT" "$CAFFE/input.npy" "$CAFFE/opencv.fc7.npy" fc4
		below "$output" 1e-4
	done
	run -0 vgg-inspect "$OUT"
	assert_line --regexp '^  vgg\.order +BGR$'
	assert_line --regexp '^  vgg\.mean +103\.939,116\.779,123\.68$'
	assert_line --regexp '^  vgg\.pool_round +ceil$'
	assert_line --regexp '^  vgg\.resize_filter +cv-linear$'
}

@test "--mean sets Caffe's mean pixel; a malformed one is a usage error" {
	run -0 vgg-convert --mean 100,110,120.5 "$CAFFE/v2.caffemodel" -o "$OUT"
	run -0 vgg-inspect "$OUT"
	assert_line --regexp '^  vgg\.mean +100,110,120\.5$'
	run -2 --separate-stderr vgg-convert --mean 1,2 "$CAFFE/v2.caffemodel" -o "$OUT"
	assert_equal "$stderr" "vgg-convert: --mean '1,2': expected three numbers B,G,R
Try 'vgg-convert --help' for more information."
	run -2 --separate-stderr vgg-convert --mean 100,110,120 "$C/vgg11.zip.pth" -o "$OUT"
	assert_equal "${stderr_lines[0]}" "vgg-convert: --mean goes with Caffe weights"
}

@test "-l and --labels store the labels; without them 10 classes have none" {
	printf 'c%d\n' 0 1 2 3 4 5 6 7 8 9 >"$BATS_TEST_TMPDIR/labels.txt"
	run -0 vgg-convert -l "$BATS_TEST_TMPDIR/labels.txt" "$C/vgg11.zip.pth" -o "$OUT"
	run -0 vgg-predict -m "$OUT" -k 1 "$TOP/tests/data/photo.jpg"
	assert_output --regexp $'\t[0-9]:[0-9.]+:c[0-9]$'
	run -0 vgg-convert --labels "$BATS_TEST_TMPDIR/labels.txt" "$C/vgg11.zip.pth" -o "$OUT"
	printf 'a\nb\n' >"$BATS_TEST_TMPDIR/two.txt"
	cp "$OUT" "$BATS_TEST_TMPDIR/good"
	run -1 --separate-stderr vgg-convert --labels "$BATS_TEST_TMPDIR/two.txt" "$C/vgg11.zip.pth" -o "$OUT"
	assert_regex "$stderr" "2 labels for 10 classes"
	cmp "$OUT" "$BATS_TEST_TMPDIR/good" || fail "a failed conversion replaced a good $OUT"
	run ls "$BATS_TEST_TMPDIR"
	refute_output --partial ".new."
}

@test "-a and --arch: a config that fits is taken; one that does not names the tensor" {
	run -0 vgg-inspect --json "$C/../net/vgg11.safetensors"
	local arch='input 64x64 conv3-2 maxpool conv3-4 maxpool conv3-8 conv3-8 maxpool conv3-16 conv3-16 maxpool conv3-16 conv3-16 maxpool FC-64 FC-64 FC-10 soft-max'
	run -0 vgg-convert -a "$arch" "$C/vgg11.zip.pth" -o "$OUT"
	run -0 error_of "$OUT" "$IN" "$C/vgg11.fc8.npy"
	below "$output" 1e-4
	# a failed conversion leaves a good file where it was, and makes none where there was none
	cp "$OUT" "$BATS_TEST_TMPDIR/good"
	run -1 --separate-stderr vgg-convert --arch vgg11 "$C/vgg11.zip.pth" -o "$OUT"
	assert_equal "$stderr" "vgg-convert: '$C/vgg11.zip.pth': tensor 'features.0.weight' is [2,3,3,3], conv1_1 needs [64,3,3,3]"
	cmp "$OUT" "$BATS_TEST_TMPDIR/good"
	run -1 vgg-convert --arch vgg11 "$C/vgg11.zip.pth" -o "$BATS_TEST_TMPDIR/new.safetensors"
	[ ! -e "$BATS_TEST_TMPDIR/new.safetensors" ]
	# a count that differs: the first tensor left over, or the first layer left without
	run -1 --separate-stderr vgg-convert -a 'input 16x16 conv3-4 maxpool conv3-8 maxpool' "$CAFFE/v2.caffemodel" -o "$OUT"
	assert_equal "$stderr" "vgg-convert: '$CAFFE/v2.caffemodel': tensor 'fc6.weight' is left over: 4 weight layers found, the config has 2"
	run -1 --separate-stderr vgg-convert -a 'input 16x16 conv3-4 maxpool conv3-8 maxpool FC-16 FC-10 FC-10' "$CAFFE/v2.caffemodel" -o "$OUT"
	assert_equal "$stderr" "vgg-convert: '$CAFFE/v2.caffemodel': no weights for fc5: 4 weight layers found, the config has more"
}

@test "not a weights file, a missing file, a damaged file: one line, exit 1, no output" {
	run -1 --separate-stderr vgg-convert "$TOP/tests/data/photo.jpg" -o "$OUT"
	assert_equal "$stderr" "vgg-convert: '$TOP/tests/data/photo.jpg': not a PyTorch, Caffe, Darknet or safetensors weights file"
	run -1 --separate-stderr vgg-convert "$BATS_TEST_TMPDIR/nope.pth" -o "$OUT"
	assert_equal "$stderr" "vgg-convert: cannot open '$BATS_TEST_TMPDIR/nope.pth': No such file or directory"
	local bad
	for bad in "$CAFFE"/bad-*.caffemodel; do
		run -1 --separate-stderr vgg-convert "$bad" -o "$OUT"
		assert_equal "${#stderr_lines[@]}" 1
		assert_regex "$stderr" "^vgg-convert: .*$(basename "$bad")"
	done
	[ ! -e "$OUT" ] || fail "a failed conversion left $OUT"
	run ls "$BATS_TEST_TMPDIR"
	refute_output --partial '.tmp.'
}

@test "usage errors: no INPUT, no -o, two INPUTs, unknown option" {
	run -2 --separate-stderr vgg-convert -o "$OUT"
	assert_equal "${stderr_lines[0]}" "vgg-convert: no INPUT given"
	run -2 --separate-stderr vgg-convert "$C/vgg11.zip.pth"
	assert_equal "${stderr_lines[0]}" "vgg-convert: no OUTPUT given (-o FILE)"
	run -2 --separate-stderr vgg-convert a b -o "$OUT"
	assert_equal "${stderr_lines[0]}" "vgg-convert: one INPUT only, but 'b' follows 'a'"
	run -2 --separate-stderr vgg-convert --bogus "$C/vgg11.zip.pth" -o "$OUT"
	assert_equal "${stderr_lines[0]}" "vgg-convert: unknown option '--bogus'"
	assert_equal "${stderr_lines[1]}" "Try 'vgg-convert --help' for more information."
}

@test "-h, --help and the man page list every option; -V, --version" {
	local opt
	run -0 vgg-convert --help
	for opt in --output --arch --prototxt --labels --mean --darknet-labels --fold-bn --to --help --version; do
		assert_output --partial -- "$opt"
		grep -q -- "${opt//-/\\\\-}" "$TOP/man/vgg-convert.1" || fail "vgg-convert.1 lacks $opt"
	done
	run -0 vgg-convert -h
	assert_line --index 0 'Usage: vgg-convert [OPTION]... INPUT -o OUTPUT'
	run -0 vgg-convert -V
	assert_output 'vgg-convert (vgg) 0.1.0'
	run -0 vgg-convert --version
	assert_output 'vgg-convert (vgg) 0.1.0'
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	run -0 mandoc -Tlint "$TOP/man/vgg-convert.1"
	assert_output ''
}

@test "-t and --to pytorch: a .pth that converts back to the same net (batch norm too)" {
	local pth=$BATS_TEST_TMPDIR/out.pth
	run -0 vgg-convert --to pytorch "$TOP/tests/data/net/vgg16_bn.safetensors" -o "$pth"
	run -0 python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); print(d[:4] == b"PK\x03\x04", b"archive/data.pkl" in d)' "$pth"
	assert_output 'True True'
	run -0 vgg-convert -t pytorch "$C/vgg11.legacy.pth" -o "$pth"
	run -0 vgg-convert "$pth" -o "$OUT"
	run -0 error_of "$OUT" "$IN" "$C/vgg11.fc8.npy"
	below "$output" 1e-4
	run -0 vgg-convert --to pytorch "$TOP/tests/data/net/vgg16_bn.safetensors" -o "$pth"
	run -0 vgg-convert "$pth" -o "$OUT"
	run -0 error_of "$OUT" "$IN" "$TOP/tests/data/net/vgg16_bn.fc8.npy"
	below "$output" 1e-4
}

@test "--to npy: a new directory of NAME.npy files; an existing one is refused" {
	local dir=$BATS_TEST_TMPDIR/tensors
	run -0 vgg-convert --to npy "$C/vgg11.zip.pth" -o "$dir"
	run -0 ls "$dir"
	assert_line conv1_1.weight.npy
	assert_line fc8.bias.npy
	assert_equal "${#lines[@]}" 22
	run -0 vgg-inspect "$dir/conv1_1.weight.npy"
	assert_line --index 1 --regexp '^0 +\[2,3,3,3\] +54 '
	run -1 --separate-stderr vgg-convert --to npy "$C/vgg11.zip.pth" -o "$dir"
	assert_equal "$stderr" "vgg-convert: cannot write '$dir': it exists"
	run -2 --separate-stderr vgg-convert --to onnx "$C/vgg11.zip.pth" -o "$dir"
	assert_equal "${stderr_lines[0]}" "vgg-convert: --to 'onnx': expected weights, pytorch or npy"
}

@test "a vgg weights file converts to itself: same config, logits and preprocessing" {
	run -0 vgg-convert "$TOP/tests/data/net/vgg11_ceil.safetensors" -o "$OUT"
	run -0 vgg-inspect "$OUT"
	assert_line --regexp '^pool5 +maxpool +32x3x3 '
	run -0 error_of "$OUT" "$TOP/tests/data/net/vgg11_ceil.input.npy" "$TOP/tests/data/net/vgg11_ceil.fc8.npy"
	below "$output" 1e-4
	# what the file says of itself stays: Caffe's preprocessing, the labels
	printf 'c%d\n' 0 1 2 3 4 5 6 7 8 9 >"$BATS_TEST_TMPDIR/labels.txt"
	run -0 vgg-convert --labels "$BATS_TEST_TMPDIR/labels.txt" --mean 1,2,3 "$CAFFE/v2.caffemodel" -o "$BATS_TEST_TMPDIR/caffe.safetensors"
	run -0 vgg-convert "$BATS_TEST_TMPDIR/caffe.safetensors" -o "$OUT"
	run -0 vgg-inspect "$OUT"
	assert_line --regexp '^  vgg\.order +BGR$'
	assert_line --regexp '^  vgg\.mean +1,2,3$'
	run -0 vgg-inspect --json "$OUT"
	assert_output --partial 'caffe.safetensors (vgg weights)"'
	run -0 vgg-predict -m "$OUT" -k 1 "$TOP/tests/data/photo.jpg"
	assert_output --regexp $'\t[0-9]:[0-9.]+:c[0-9]$'
}

@test "hostile PyTorch files: a disallowed pickle global, bad sizes, truncation: exit 1" {
	local bad
	for bad in evil-global evil-bytes bad-size truncated truncated-legacy; do
		[ -f "$TOP/tests/data/torch/$bad.pth" ] || continue
		run -1 --separate-stderr vgg-convert "$TOP/tests/data/torch/$bad.pth" -o "$OUT"
		assert_equal "${#stderr_lines[@]}" 1
		assert_regex "$stderr" "^vgg-convert: .*$bad\.pth"
	done
	run -1 --separate-stderr vgg-convert "$TOP/tests/data/torch/evil-global.pth" -o "$OUT"
	assert_regex "$stderr" "refusing pickle global"
	[ ! -e "$OUT" ]
}

@test "Darknet .weights: --arch required; every header form gives Darknet's logits" {
	local D=$TOP/tests/data/darknet f
	run -1 --separate-stderr vgg-convert "$D/v2.weights" -o "$OUT"
	assert_equal "$stderr" "vgg-convert: '$D/v2.weights': Darknet weights hold no layout: give --arch (such as vgg16)"
	for f in v1 v2 transposed; do
		run -0 vgg-convert --arch "$D/net.cfg" "$D/$f.weights" -o "$BATS_TEST_TMPDIR/$f.safetensors"
		run -0 error_of "$BATS_TEST_TMPDIR/$f.safetensors" "$D/input.npy" "$D/darknet.fc4.npy" fc4
		below "$output" 1e-4
	done
	run -0 vgg-inspect "$BATS_TEST_TMPDIR/v2.safetensors"
	assert_line --regexp '^conv2_1 +conv\+bn '
	assert_line --regexp '^  vgg\.mean +0,0,0$'
	for f in bad-truncated bad-long; do
		run -1 --separate-stderr vgg-convert --arch "$D/net.cfg" "$D/$f.weights" -o "$OUT"
		assert_regex "$stderr" "^vgg-convert: '$D/$f.weights': "
	done
}

@test "Darknet's batch norm (eps outside the square root) stays exact: kept, folded, in a .pth" {
	local D=$TOP/tests/data/darknet W=$BATS_TEST_TMPDIR/darknet.safetensors
	run -0 vgg-convert --arch "$D/net.cfg" "$D/v2.weights" -o "$W"
	run -0 vgg-inspect "$W"
	assert_line --regexp '^  vgg\.bn_eps +0$'
	run -0 vgg-convert --fold-bn --arch "$D/net.cfg" "$D/v2.weights" -o "$OUT"
	run -0 error_of "$OUT" "$D/input.npy" "$D/darknet.fc4.npy" fc4
	below "$output" 1e-4
	# our file converts on with its eps: to itself, folded, and through torchvision's 1e-5
	run -0 vgg-convert "$W" -o "$OUT"
	run -0 vgg-inspect "$OUT"
	assert_line --regexp '^  vgg\.bn_eps +0$'
	run -0 error_of "$OUT" "$D/input.npy" "$D/darknet.fc4.npy" fc4
	below "$output" 1e-4
	run -0 vgg-convert --fold-bn "$W" -o "$OUT"
	run -0 error_of "$OUT" "$D/input.npy" "$D/darknet.fc4.npy" fc4
	below "$output" 1e-4
	python3 -c '
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
header["__metadata__"]["vgg.bn_eps"] = "-1"
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text + data[8 + n:])' "$W" "$BATS_TEST_TMPDIR/bad-eps.safetensors"
	run -1 --separate-stderr vgg-convert "$BATS_TEST_TMPDIR/bad-eps.safetensors" -o "$OUT"
	assert_equal "$stderr" "vgg-convert: '$BATS_TEST_TMPDIR/bad-eps.safetensors': vgg.bn_eps '-1' is not a number of 0 or more"
	local f
	for f in "$W" "$D/v2.weights"; do
		run -0 vgg-convert --to pytorch --arch "$D/net.cfg" "$f" -o "$BATS_TEST_TMPDIR/darknet.pth"
		run -0 vgg-convert --arch "$D/net.cfg" "$BATS_TEST_TMPDIR/darknet.pth" -o "$OUT"
		run -0 vgg-inspect "$OUT"
		assert_line --regexp '^  vgg\.bn_eps +1e-5$'
		run -0 error_of "$OUT" "$D/input.npy" "$D/darknet.fc4.npy" fc4
		below "$output" 1e-4
	done
}

@test "--darknet-labels moves fc rows to the sorted WordNet id order" {
	local D=$TOP/tests/data/darknet
	run -0 vgg-convert --arch "$D/net.cfg" --to npy "$D/v2.weights" -o "$BATS_TEST_TMPDIR/plain"
	run -0 vgg-convert --arch "$D/net.cfg" --darknet-labels "$D/wnids.txt" --to npy "$D/v2.weights" -o "$BATS_TEST_TMPDIR/sorted"
	run -0 python3 -c '
import sys
sys.path.insert(0, sys.argv[1])
from logits_error import read_npy
plain = read_npy(open(sys.argv[2] + "/plain/fc4.bias.npy", "rb").read())[1]
moved = read_npy(open(sys.argv[2] + "/sorted/fc4.bias.npy", "rb").read())[1]
ids = [l.strip() for l in open(sys.argv[3]) if l.strip()]
rank = {w: r for r, w in enumerate(sorted(ids))}
print(all(moved[rank[w]] == plain[i] for i, w in enumerate(ids)))' "$BATS_TEST_DIRNAME" "$BATS_TEST_TMPDIR" "$D/wnids.txt"
	assert_output True
	run -2 --separate-stderr vgg-convert --darknet-labels "$D/wnids.txt" "$C/vgg11.zip.pth" -o "$OUT"
	assert_equal "${stderr_lines[0]}" "vgg-convert: --darknet-labels goes with Darknet weights"
}

@test "-p and --prototxt: the network from Caffe's deploy file; logits equal OpenCV's" {
	run -0 vgg-convert -p "$CAFFE/net.prototxt" "$CAFFE/v1.caffemodel" -o "$OUT"
	run -0 error_of "$OUT" "$CAFFE/input.npy" "$CAFFE/opencv.fc7.npy" fc4
	below "$output" 1e-4
	run -0 vgg-convert --prototxt "$CAFFE/net.prototxt" "$CAFFE/v2.caffemodel" -o "$OUT"
	run -0 vgg-inspect "$OUT"
	assert_line --regexp '^  vgg\.pool_round +ceil$'
	run -1 --separate-stderr vgg-convert -p "$CAFFE/vgg16-deploy.prototxt" "$CAFFE/v1.caffemodel" -o "$OUT"
	assert_regex "$stderr" "^vgg-convert: '$CAFFE/v1.caffemodel': "
	run -2 --separate-stderr vgg-convert -p "$CAFFE/net.prototxt" "$C/vgg11.zip.pth" -o "$OUT"
	assert_equal "${stderr_lines[0]}" "vgg-convert: --prototxt goes with Caffe weights"
	run -2 --separate-stderr vgg-convert -p "$CAFFE/net.prototxt" --arch vgg16 "$CAFFE/v1.caffemodel" -o "$OUT"
	assert_equal "${stderr_lines[0]}" "vgg-convert: --prototxt and --arch both give the network: one of them"
}

# ---- through pipes: INPUT -, -o - ----

@test "INPUT - reads stdin: PyTorch zip and legacy, Caffe, hub safetensors, our own, Darknet" {
	local f
	for f in zip legacy; do
		run -0 --separate-stderr vgg-convert - -o "$OUT" <"$C/vgg11.$f.pth"
		assert_equal "$stderr" "vgg-convert: '-' (pytorch) holds a custom VGG: see vgg-inspect of the output"
		run -0 error_of "$OUT" "$IN" "$C/vgg11.fc8.npy"
		below "$output" 1e-4
	done
	run -0 bash -c 'cat "$1" | vgg-convert - -o "$2"' _ "$C/vgg11.timm.safetensors" "$OUT"
	run -0 error_of "$OUT" "$IN" "$C/vgg11.fc8.npy"
	below "$output" 1e-4
	run -0 vgg-inspect "$OUT"
	assert_line --regexp '^  vgg\.source +vgg-convert 0\.1\.0 from standard input \(safetensors\)$'
	run -0 bash -c 'cat "$1" | vgg-convert - -o "$2"' _ "$CAFFE/v2.caffemodel" "$OUT"
	run -0 error_of "$OUT" "$CAFFE/input.npy" "$CAFFE/opencv.fc7.npy" fc4
	below "$output" 1e-4
	run -0 bash -c 'cat "$1" | vgg-convert - -o "$2"' _ "$TOP/tests/data/net/vgg16_bn.safetensors" "$OUT"
	run -0 error_of "$OUT" "$IN" "$TOP/tests/data/net/vgg16_bn.fc8.npy"
	below "$output" 1e-4
	local D=$TOP/tests/data/darknet
	vgg-convert --arch "$D/net.cfg" "$D/v2.weights" -o "$BATS_TEST_TMPDIR/file.safetensors"
	run -0 bash -c 'cat "$1" | vgg-convert --arch "$2" - -o "$3"' _ "$D/v2.weights" "$D/net.cfg" "$OUT"
	vgg-predict -m "$BATS_TEST_TMPDIR/file.safetensors" -d -l fc4 -o "$BATS_TEST_TMPDIR/a.npy" "$TOP/tests/data/photo.jpg"
	vgg-predict -m "$OUT" -d -l fc4 -o "$BATS_TEST_TMPDIR/b.npy" "$TOP/tests/data/photo.jpg"
	cmp "$BATS_TEST_TMPDIR/a.npy" "$BATS_TEST_TMPDIR/b.npy"
}

@test "INPUT - that is empty, truncated or foreign: exit 1, one line naming '-', no output" {
	run -1 --separate-stderr vgg-convert - -o "$OUT" </dev/null
	assert_equal "$stderr" "vgg-convert: '-': not a PyTorch, Caffe, Darknet or safetensors weights file"
	head -c 3000 "$C/vgg11.zip.pth" >"$BATS_TEST_TMPDIR/cut.pth"
	run -1 --separate-stderr vgg-convert - -o "$OUT" <"$BATS_TEST_TMPDIR/cut.pth"
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" "^vgg-convert: '-': "
	run -1 --separate-stderr vgg-convert - -o "$OUT" <"$TOP/tests/data/photo.jpg"
	assert_equal "$stderr" "vgg-convert: '-': not a PyTorch, Caffe, Darknet or safetensors weights file"
	[ ! -e "$OUT" ]
}

@test "-o - writes to stdout the bytes -o FILE writes, after loading them as a net" {
	vgg-convert "$C/vgg11.zip.pth" -o "$OUT" 2>/dev/null
	mkdir "$BATS_TEST_TMPDIR/tmp"
	TMPDIR=$BATS_TEST_TMPDIR/tmp vgg-convert "$C/vgg11.zip.pth" -o - >"$BATS_TEST_TMPDIR/piped" 2>/dev/null
	cmp "$OUT" "$BATS_TEST_TMPDIR/piped"
	run ls -A "$BATS_TEST_TMPDIR/tmp"
	assert_output ''
	# --to pytorch through a pipe, and back in through another
	run -0 bash -c 'vgg-convert --to pytorch "$1" -o - | vgg-convert - -o "$2"' \
		_ "$TOP/tests/data/net/vgg16_bn.safetensors" "$OUT"
	run -0 error_of "$OUT" "$IN" "$TOP/tests/data/net/vgg16_bn.fc8.npy"
	below "$output" 1e-4
}

@test "-o - when the conversion fails: nothing on stdout, no temporary file left" {
	mkdir "$BATS_TEST_TMPDIR/tmp"
	TMPDIR=$BATS_TEST_TMPDIR/tmp run -1 --separate-stderr vgg-convert --arch vgg11 "$C/vgg11.zip.pth" -o -
	assert_output ''
	assert_equal "$stderr" "vgg-convert: '$C/vgg11.zip.pth': tensor 'features.0.weight' is [2,3,3,3], conv1_1 needs [64,3,3,3]"
	printf 'a\nb\n' >"$BATS_TEST_TMPDIR/two.txt"
	TMPDIR=$BATS_TEST_TMPDIR/tmp run -1 --separate-stderr vgg-convert -l "$BATS_TEST_TMPDIR/two.txt" "$C/vgg11.zip.pth" -o -
	assert_output ''
	assert_regex "$stderr" "2 labels for 10 classes"
	run ls -A "$BATS_TEST_TMPDIR/tmp"
	assert_output ''
	TMPDIR=$BATS_TEST_TMPDIR/missing run -1 --separate-stderr vgg-convert "$C/vgg11.zip.pth" -o -
	assert_output ''
	assert_regex "$stderr" "^vgg-convert: cannot write '$BATS_TEST_TMPDIR/missing/vgg-convert\.[A-Za-z0-9]{6}': No such file or directory$"
}

@test "-o - with --to npy, or to a terminal: exit 2" {
	run -2 --separate-stderr vgg-convert --to npy "$C/vgg11.zip.pth" -o -
	assert_equal "${stderr_lines[0]}" "vgg-convert: --to npy writes a directory: -o - cannot be one"
	command -v script >/dev/null || skip "script is not installed"
	script -qec true /dev/null >/dev/null 2>&1 </dev/null || skip "script cannot make a terminal here"
	run -2 script -qec "vgg-convert '$C/vgg11.zip.pth' -o -" /dev/null </dev/null
	assert_output --partial "vgg-convert: -o - writes a binary file: give a pipe or -o FILE"
}
