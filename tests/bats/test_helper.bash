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
