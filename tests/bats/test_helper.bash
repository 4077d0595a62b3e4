# test_helper.bash: loaded by every bats file.  The tools under test are the ones just
# built: `make check` passes their directory in VGG_BUILD.
load '/usr/lib/bats/bats-support/load.bash'
load '/usr/lib/bats/bats-assert/load.bash'

VGG_BUILD=${VGG_BUILD:-$BATS_TEST_DIRNAME/../../build}
PATH="$VGG_BUILD:$PATH"
export PATH
TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# man_examples PAGE TOOLS [DIR]: the commands in a man page's examples (see man_examples.py).
man_examples() {
	python3 "$BATS_TEST_DIRNAME/man_examples.py" "$@"
}

# jcheck [EXPR EXPECTED]...: evaluates each Python EXPR on the JSON document in $output
# (d: the document, L: its layers by name) and compares the result, written as JSON
# (strings bare), with EXPECTED.  One python3 run for all pairs; every mismatch is shown.
jcheck() {
	python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
L = {l["name"]: l for l in d.get("layers", [])} if isinstance(d, dict) else {}
bad = 0
for expr, want in zip(sys.argv[1::2], sys.argv[2::2]):
    r = eval(expr)
    got = r if isinstance(r, str) else json.dumps(r)
    if got != want:
        bad = 1
        print("%s\n  expected: %s\n  actual:   %s" % (expr, want, got), file=sys.stderr)
sys.exit(bad)' "$@" <<<"$output"
}

# check_usage_error ARGS...: $TOOL ARGS is a usage error: exit 2, nothing on stdout,
# `TOOL: MESSAGE` and the --help hint on stderr.
check_usage_error() {
	run -2 --separate-stderr "$TOOL" "$@"
	assert_output ''
	assert_equal "${#stderr_lines[@]}" 2
	assert_regex "${stderr_lines[0]}" "^$TOOL: .+"
	assert_equal "${stderr_lines[1]}" "Try '$TOOL --help' for more information."
}

# check_bad_input ARGS...: $TOOL ARGS is bad input: exit 1, nothing on stdout, one line
# `TOOL: MESSAGE` on stderr.
check_bad_input() {
	run -1 --separate-stderr "$TOOL" "$@"
	assert_output ''
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" "^$TOOL: .+"
}
