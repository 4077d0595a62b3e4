#!/bin/sh
# run.sh: runs the C unit tests given as arguments and every bats file, all speaking TAP,
# and ends with one line `N passed, N failed`.  Exit status 0 only when nothing failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp "${TMPDIR:-/tmp}/vgg-check.XXXXXX") || exit 1
all=$(mktemp "${TMPDIR:-/tmp}/vgg-check.XXXXXX") || exit 1
trap 'rm -f "$out" "$all"' EXIT INT TERM

# run NAME COMMAND...: a TAP producer; one that dies or reports nothing counts as a failure.
run() {
	name=$1
	shift
	echo "# $name"
	"$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	cat "$out" >>"$all"
	if ! grep -Eq '^(not )?ok ' "$out"; then
		echo "not ok - $name reported no test" | tee -a "$all"
	elif [ "$rc" -ne 0 ] && ! grep -q '^not ok ' "$out"; then
		echo "not ok - $name exited with status $rc" | tee -a "$all"
	fi
}

for t in "$@"; do
	run "$(basename "$t")" "$t"
done
run bats bats --tap "$here"/bats/*.bats

passed=$(grep -c '^ok ' "$all")
failed=$(grep -c '^not ok ' "$all")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
