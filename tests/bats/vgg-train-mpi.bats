#!/usr/bin/env bats
# vgg-train under mpirun on this one machine: 2 and 3 ranks end with one process's weights
# (within 1e-5 relative: only the order of the sums differs), uneven and empty shares and
# several gradient buckets included; --resume across rank counts; rank 0 alone writes and
# talks; a rank that fails or is killed ends the job; Ctrl-C checkpoints.  Skipped when
# mpirun is missing or vgg-train was built without MPI (./configure finds Open MPI).
load test_helper
load train_data
bats_require_minimum_version 1.5.0

TOOL=vgg-train
NET='input 8x8x1 conv3-4 maxpool FC-8 FC-2'

setup() {
	command -v mpirun >/dev/null ||
		skip "no mpirun (apt-get install openmpi-bin libopenmpi-dev, then ./configure)"
	vgg-train --help | grep -q '^Built with MPI' || skip "vgg-train was built without MPI"
	# One machine, possibly a container without a network, possibly as root (CI): shared
	# memory between the ranks (ob1 over the self and vader transports, not UCX, which
	# looks for network devices), the runtime's own traffic on the loopback.
	export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
	export OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_btl_tcp_if_include=lo
	# Open MPI frees not all it allocates; the sanitizers' leak check would fail every rank.
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	D=$BATS_TEST_TMPDIR
	OUT=$D/out.safetensors
	make_data "$D"
}

# mpi N ARGS...: vgg-train ARGS as N ranks, ended after two minutes should it hang.
mpi() {
	local n=$1
	shift
	timeout 120 mpirun --oversubscribe --allow-run-as-root -np "$n" vgg-train "$@"
}

# opts: the options every comparison shares: one thread, no dropout.
opts() {
	echo -q -t 1 --train "$D/classes" --lr 0.05 --dropout 0
}

# within_1e5 A B: the weights files agree within 1e-5 relative.
within_1e5() {
	run -0 rel_diff "$1" "$2"
	python3 -c 'import sys; sys.exit(float(sys.argv[1]) > 1e-5)' "$output" ||
		fail "$1 and $2 differ by $output relative"
}

# rank_pid MPIRUN_PID RANK: the process of that rank among mpirun's children.
rank_pid() {
	local p
	for p in $(pgrep -P "$1"); do
		if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# wait_for_file FILE: up to a minute.
wait_for_file() {
	local i
	for i in $(seq 300); do
		[ -e "$1" ] && return 0
		sleep 0.2
	done
	fail "no $1 after a minute"
}

# finish PID: waits for the background job PID (in this shell, not a subshell) and sets
# FINISHED to its exit status; fails should it still run a minute later.
finish() {
	local i
	for i in $(seq 300); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1"
		fail "mpirun still ran a minute later: the ranks hang"
	fi
	FINISHED=0
	wait "$1" || FINISHED=$?
}

@test "2 ranks end with 1 rank's weights: batches of 7 in shares of 3 and 4, the last of 6" {
	# shellcheck disable=SC2046
	vgg-train $(opts) --arch "$NET" --batch 7 --epochs 2 -o "$D/one"
	# shellcheck disable=SC2046
	run -0 --separate-stderr mpi 2 $(opts) --arch "$NET" --batch 7 --epochs 2 -o "$D/two" \
		--log "$D/log"
	assert_output ''
	assert_equal "$stderr" ''
	within_1e5 "$D/one" "$D/two"
	# Rank 0 alone writes the log: one object per step of the whole batch.
	run -0 python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
steps = [r for r in rows if r["type"] == "step"]
assert [r["step"] for r in steps] == list(range(1, 15)), [r["step"] for r in steps]
assert all(r["seconds"] >= r["allreduce_wait_seconds"] >= 0 for r in steps)
assert all(r["allreduce_seconds"] > 0 for r in steps)
assert len([r for r in rows if r["type"] == "epoch"]) == 2
print("ok")' "$D/log"
	assert_output ok
}

@test "3 ranks summing during the backward pass: batches of 2 leave one rank an empty share" {
	# shellcheck disable=SC2046
	vgg-train $(opts) --arch "$NET" --batch 2 --epochs 1 -o "$D/one"
	# shellcheck disable=SC2046
	mpi 3 $(opts) --arch "$NET" --batch 2 --epochs 1 -o "$D/three" --overlap yes
	within_1e5 "$D/one" "$D/three"
}

@test "6.7M parameters go in two buckets, during or after the backward pass, as 1 rank's" {
	local wide='input 8x8x1 conv3-4 maxpool FC-2560 FC-2560 FC-2' when
	vgg-train -q -t 1 --train "$D/classes" --lr 0.002 --dropout 0 --arch "$wide" \
		--batch 24 --epochs 1 -o "$D/one"
	for when in yes no; do
		mpi 2 -q -t 1 --train "$D/classes" --lr 0.002 --dropout 0 --arch "$wide" \
			--batch 24 --epochs 1 -o "$D/two" --overlap "$when"
		within_1e5 "$D/one" "$D/two"
	done
}

@test "--resume goes on with another rank count: 2 then 1, and 1 then 2" {
	# shellcheck disable=SC2046
	vgg-train $(opts) --arch "$NET" --batch 7 --epochs 3 -o "$D/straight"
	# shellcheck disable=SC2046
	mpi 2 $(opts) --arch "$NET" --batch 7 --epochs 1 -o "$D/a"
	# shellcheck disable=SC2046
	vgg-train $(opts) --batch 7 --epochs 3 -o "$D/a" --resume "$D/a.ckpt"
	within_1e5 "$D/straight" "$D/a"
	# shellcheck disable=SC2046
	vgg-train $(opts) --arch "$NET" --batch 7 --epochs 1 -o "$D/b"
	# shellcheck disable=SC2046
	mpi 2 $(opts) --batch 7 --epochs 3 -o "$D/b" --resume "$D/b.ckpt"
	within_1e5 "$D/straight" "$D/b"
}

@test "epoch lines once, from rank 0; batch norm trains; the net it writes classifies" {
	run -0 --separate-stderr mpi 2 -t 1 --arch 'input 8x8x1 conv3-4 BN maxpool FC-8 FC-2' \
		--train "$D/classes" --val "$D/classes" --batch 8 --epochs 3 --lr 0.05 -o "$OUT"
	assert_equal "${#lines[@]}" 3
	assert_line --index 2 --regexp '^epoch 3/3: loss [0-9.]+, accuracy [0-9.]+; validation loss '
	run -0 vgg-inspect "$OUT"
	assert_line --regexp '^conv1_1 +conv\+bn '
	run -0 vgg-predict -k 1 -m "$OUT" "$D/classes/bottom/00.pgm" "$D/classes/top/00.pgm"
	assert_line --index 0 --regexp $'00\.pgm\t0:[0-9.]+:bottom$'
	assert_line --index 1 --regexp $'00\.pgm\t1:[0-9.]+:top$'
}

@test "a rank that fails ends the job with its message, without a hang" {
	run --separate-stderr mpi 2 -q -t 1 --arch "$NET" --train "$D/classes" -o "$OUT" \
		--log "$D/no/such/dir/log"
	assert_equal "$status" 1
	assert_regex "$stderr" "vgg-train: cannot open the log '$D/no/such/dir/log'"
	[ ! -e "$OUT" ] || fail "an output from a failed job"
	# Only rank 0 has stdin under mpirun.
	run --separate-stderr mpi 2 -q -t 1 --arch "$NET" --train "$D/classes" -o "$OUT" \
		--init-from -
	assert_equal "$status" 2
	assert_regex "$stderr" "vgg-train: --init-from -: only rank 0 has stdin under MPI"
}

@test "a killed rank stops the others; the last checkpoint stays whole and resumes" {
	mpirun --oversubscribe --allow-run-as-root -np 2 vgg-train -q -t 1 --arch "$NET" \
		--train "$D/classes" --batch 1 --epochs 100000 -o "$OUT" 2>"$D/stderr" &
	local mpirun=$!
	wait_for_file "$OUT.ckpt"
	local victim
	victim=$(rank_pid "$mpirun" 1) || fail "no rank 1 among mpirun's children"
	kill -KILL "$victim"
	finish "$mpirun"
	[ "$FINISHED" != 0 ] || fail "mpirun exited 0 after a rank was killed"
	run cat "$D/stderr"
	assert_output --partial 'rank 1'
	run -0 vgg-inspect "$OUT.ckpt"
	assert_output --partial 'vgg.train.state'
	run -0 python3 -c '
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
state = json.loads(data[8:8 + n])["__metadata__"]["vgg.train.state"]
print(json.loads(state)["epoch"])' "$OUT.ckpt"
	local epochs=$((output + 1))
	run -0 mpi 2 -q -t 1 --train "$D/classes" --batch 1 --epochs "$epochs" -o "$OUT" \
		--resume "$OUT.ckpt"
	[ -f "$OUT" ] || fail "no output after resuming"
}

@test "Ctrl-C to mpirun: rank 0 writes the checkpoint, every rank leaves; --resume finishes" {
	mpirun --oversubscribe --allow-run-as-root -np 2 vgg-train -q -t 1 --arch "$NET" \
		--train "$D/classes" --batch 1 --epochs 100000 -o "$OUT" 2>"$D/stderr" &
	local mpirun=$!
	wait_for_file "$OUT.ckpt"
	kill -INT "$mpirun"
	finish "$mpirun"
	[ "$FINISHED" != 0 ] || fail "mpirun exited 0 after Ctrl-C"
	run grep -c "interrupted; checkpoint written to $OUT.ckpt" "$D/stderr"
	assert_output 1
	[ ! -e "$OUT" ] || fail "an output after an interrupt"
	run -0 mpi 2 -q -t 1 --train "$D/classes" --batch 1 --epochs 1 -o "$OUT" \
		--resume "$OUT.ckpt"
}

@test "the man page's mpirun examples on one machine have valid options" {
	local cmd n=0
	while IFS= read -r -d '' cmd; do
		case $cmd in *--hostfile*) continue ;; esac
		run -0 bash -c "${cmd/mpirun/mpirun --oversubscribe --allow-run-as-root} --help" ||
			fail "$cmd"
		n=$((n + 1))
	done < <(man_examples "$TOP/man/vgg-train.1" mpirun)
	[ "$n" -ge 1 ] || fail "no mpirun example in vgg-train(1)"
}
