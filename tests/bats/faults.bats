#!/usr/bin/env bats
# Faults: a full disk, a file-size limit and a process killed in the middle of a write never
# leave a truncated weights file, checkpoint or .npy where a good one was (output.c's
# temporary file renamed into place, through vgg-convert, vgg-predict --layer -o and
# vgg-train --checkpoint); a reader of standard output that goes away ends vgg-predict
# quietly with status 141, as it ends cat.
load test_helper
bats_require_minimum_version 1.5.0

export TOP PTH=$TOP/tests/data/convert/vgg11.zip.pth
export MODEL=$TOP/share/vgg/models/fashion-mnist.safetensors
export TRAIN=$TOP/tests/data/train/dir
export NET='input 8x8x1 conv3-4 maxpool FC-8 FC-3'
KINDS='convert predict train'

setup() {
	D=$BATS_TEST_TMPDIR
}

# write_with KIND FILE: FILE written by vgg-convert (a weights file), vgg-predict --layer -o
# (a .npy stream of ten images) or vgg-train --checkpoint.
write_with() {
	case $1 in
	convert) vgg-convert "$PTH" -o "$2" 2>&1 >/dev/null | grep -v 'holds a custom VGG' >&2 ;;
	predict) vgg-predict -m "$MODEL" --layer conv1_1 -o "$2" "$TOP"/share/vgg/samples/*.png ;;
	train) vgg-train -q -t 1 --arch "$NET" --train "$TRAIN" --epochs 1 --batch 4 \
		--checkpoint "$2" -o "$(dirname "$2")/trained.safetensors" ;;
	esac
	return "${PIPESTATUS[0]}"
}

# good KIND: $D/KIND/out, written once without a fault, and a copy of it in $D/KIND.good.
good() {
	mkdir -p "$D/$1"
	write_with "$1" "$D/$1/out" || fail "$1 did not write a first file"
	cp "$D/$1/out" "$D/$1.good"
	rm -f "$D/$1/trained.safetensors"
}

@test "write_with: each writer makes a file the tools read back" {
	for kind in $KINDS; do
		good "$kind"
		run -0 vgg-inspect "$D/$kind/out"
	done
}

@test "a file-size limit, as a full disk: one message, the good file stays, nothing is left" {
	for kind in $KINDS; do
		good "$kind"
		# With SIGXFSZ ignored a write past the limit fails with EFBIG, as one on a full
		# disk fails with ENOSPC.
		run -1 --separate-stderr bash -c "$(declare -f write_with)"'
			ulimit -f 2; trap "" XFSZ; write_with "$@"' _ "$kind" "$D/$kind/out"
		assert_equal "${#stderr_lines[@]}" 1
		assert_regex "$stderr" "^vgg-$kind: cannot write '$D/$kind/out.*': File too large\$"
		cmp "$D/$kind.good" "$D/$kind/out" || fail "$kind changed its file"
		run -0 ls -A "$D/$kind"
		assert_output out
	done
}

@test "a full tmpfs: one message, the good file stays, nothing is left" {
	unshare -m true 2>/dev/null || skip "mounting a tmpfs needs root (unshare -m)"
	for kind in $KINDS; do
		good "$kind"
		# Room for the good file and half of another.
		local kib=$(( $(stat -c %s "$D/$kind.good") * 3 / 2048 + 1 ))
		mkdir "$D/disk-$kind"
		run -1 --separate-stderr unshare -m bash -c "$(declare -f write_with)"'
			mount -t tmpfs -o size="$3"k tmpfs "$2" && cp "$4" "$2/out" || exit 3
			status=0
			write_with "$1" "$2/out" || status=$?
			cmp "$4" "$2/out" >&2 && ls -A "$2" >&2
			exit $status' _ "$kind" "$D/disk-$kind" "$kib" "$D/$kind.good"
		assert_regex "${stderr_lines[0]}" \
			"^vgg-$kind: cannot write '$D/disk-$kind/out.*': No space left on device\$"
		assert_equal "${stderr_lines[1]}" out
		assert_equal "${#stderr_lines[@]}" 2
	done
}

@test "killed with SIGKILL in the middle of a write: the good file stays" {
	for kind in $KINDS; do
		good "$kind"
		# ASan wants to be the first library; the killer only wraps fwrite and fputc.
		ASAN_OPTIONS=verify_asan_link_order=0 LD_PRELOAD=$VGG_BUILD/tests/killwrite.so \
			VGG_KILL_AFTER=1000 run -137 write_with "$kind" "$D/$kind/out"
		cmp "$D/$kind.good" "$D/$kind/out" || fail "$kind changed its file"
		# The kill came in the middle: a temporary file beside it holds the 1000 bytes.
		run -0 find "$D/$kind" -name 'out?*' -size 1000c
		assert_output --regexp "^$D/$kind/out\.[a-z]+\."
	done
	run -0 vgg-train -q -t 1 --train "$TRAIN" --epochs 2 --batch 4 --resume "$D/train/out" \
		-o "$D/resumed.safetensors"
}

# piped COMMAND...: runs the command with its stdout into `head -1` (or what $READER says),
# leaving its exit status in $D/status, its stderr in $D/stderr and what head took in
# $D/stdout.
piped() {
	"$@" 2>"$D/stderr" | ${READER:-head -1} >"$D/stdout"
	echo "${PIPESTATUS[0]}" >"$D/status"
}

@test "vgg-predict | head -1: it stops at once, quietly, with status 141" {
	for i in $(seq 1000); do echo "$TOP/share/vgg/samples/bag.png"; done >"$D/paths"
	# 1000 lines of ten classes are more than a pipe holds: a write comes after head is gone.
	piped vgg-predict -m "$MODEL" -k 10 <"$D/paths"
	assert_equal "$(cat "$D/status")" 141
	assert_equal "$(cat "$D/stderr")" ''
	assert_equal "$(wc -l <"$D/stdout")" 1
	assert_regex "$(cat "$D/stdout")" $'bag\\.png\t8:0\\.99'
	READER='head -c 100' piped vgg-predict -m "$MODEL" --layer conv1_1 "$TOP"/share/vgg/samples/*.png
	assert_equal "$(cat "$D/status")" 141
	assert_equal "$(cat "$D/stderr")" ''
	assert_equal "$(wc -c <"$D/stdout")" 100
}

@test "with SIGPIPE ignored, as a parent may leave it: the same, at the next write" {
	for i in $(seq 1000); do echo "$TOP/share/vgg/samples/bag.png"; done >"$D/paths"
	trap '' PIPE
	piped vgg-predict -m "$MODEL" -k 10 <"$D/paths"
	assert_equal "$(cat "$D/status")" 141
	assert_equal "$(cat "$D/stderr")" ''
	READER='head -c 100' piped vgg-predict -m "$MODEL" --layer conv1_1 "$TOP"/share/vgg/samples/*.png
	assert_equal "$(cat "$D/status")" 141
	assert_equal "$(cat "$D/stderr")" ''
	trap - PIPE
}
