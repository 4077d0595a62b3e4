#!/usr/bin/env bats
# `make install` into a staging directory: the tree it makes, the installed tools and
# configs, and a C program built against the installed header and libraries.
load test_helper
bats_require_minimum_version 1.5.0

setup_file() {
	ROOT="$BATS_FILE_TMPDIR/root"
	export ROOT
	# The status is kept for the first test, which shows the log when it is not 0.
	local rc=0
	make -C "$TOP" install DESTDIR="$ROOT" PREFIX=/usr >"$BATS_FILE_TMPDIR/install.log" 2>&1 || rc=$?
	echo "$rc" >"$BATS_FILE_TMPDIR/install.status"
}

# A sanitized library (make check SANITIZE=1) links only into a sanitized program.
sanitize_flags() {
	[ "${SANITIZE:-}" = 1 ] && echo "-fsanitize=address,undefined"
	return 0
}

# The value of VAR in config.mk (written by ./configure).
config_mk() {
	sed -n "s/^$1 *= *//p" "$TOP/config.mk"
}

@test "make install DESTDIR=... PREFIX=/usr succeeds" {
	run cat "$BATS_FILE_TMPDIR/install.status"
	[ "$output" = 0 ] || fail "make install failed:"$'\n'"$(cat "$BATS_FILE_TMPDIR/install.log")"
	[ -d "$ROOT/usr" ]
	# nothing lands outside PREFIX
	run ls "$ROOT"
	assert_output usr
}

@test "bin/vgg-inspect, vgg-rf, vgg-predict and vgg-convert are installed and run from there" {
	local tool
	for tool in vgg-inspect vgg-rf vgg-predict vgg-convert; do
		[ -f "$ROOT/usr/bin/$tool" ] || fail "missing $ROOT/usr/bin/$tool"
		[ -x "$ROOT/usr/bin/$tool" ] || fail "$ROOT/usr/bin/$tool is not executable"
		run -0 --separate-stderr "$ROOT/usr/bin/$tool" --version
		assert_output "$tool (vgg) 0.1.0"
		assert_equal "$stderr" ''
	done
	run -0 "$ROOT/usr/bin/vgg-rf" vgg16 pool5
	assert_line --index 2 --regexp '^pool5 +maxpool .* 212 +32 +90 +15\.5$'
}

@test "lib/libvgg.a, lib/libvgg.so.0 and the lib/libvgg.so symlink" {
	[ -f "$ROOT/usr/lib/libvgg.a" ]
	run -0 nm "$ROOT/usr/lib/libvgg.a"
	assert_line --regexp ' T vgg_config_load$'
	assert_line --regexp ' T vgg_layout_total_params$'
	[ -f "$ROOT/usr/lib/libvgg.so.0" ] && [ ! -L "$ROOT/usr/lib/libvgg.so.0" ]
	[ -L "$ROOT/usr/lib/libvgg.so" ] || fail "lib/libvgg.so is not a symlink"
	run -0 readlink "$ROOT/usr/lib/libvgg.so"
	assert_output libvgg.so.0
	[ -e "$ROOT/usr/lib/libvgg.so" ] || fail "lib/libvgg.so dangles"
	run -0 readelf -d "$ROOT/usr/lib/libvgg.so.0"
	assert_line --regexp 'SONAME.*\[libvgg\.so\.0\]'
}

@test "include/vgg.h is the library's header" {
	[ -f "$ROOT/usr/include/vgg.h" ]
	cmp "$TOP/lib/vgg.h" "$ROOT/usr/include/vgg.h"
	run -0 grep -c 'vgg_config_load\|vgg_layout_total_params' "$ROOT/usr/include/vgg.h"
}

@test "man pages: vgg-inspect.1, vgg-rf.1, vgg-predict.1, vgg-config.5, vgg-weights.5" {
	local page
	for page in man1/vgg-inspect.1 man1/vgg-rf.1 man1/vgg-predict.1 man1/vgg-convert.1 \
		man5/vgg-config.5 \
		man5/vgg-weights.5 man5/vgg-dataset.5; do
		[ -f "$ROOT/usr/share/man/$page" ] || fail "missing share/man/$page"
		cmp "$TOP/man/${page#*/}" "$ROOT/usr/share/man/$page"
	done
	# an installed page renders
	run -0 --separate-stderr bash -c 'man -l "$1" | cat' _ "$ROOT/usr/share/man/man1/vgg-rf.1"
	assert_equal "$stderr" ''
	assert_line --regexp '^NAME'
}

@test "share/vgg holds A, A-LRN, B, C, D, E.cfg, the same as the sources" {
	local cfg
	for cfg in A A-LRN B C D E; do
		[ -f "$ROOT/usr/share/vgg/$cfg.cfg" ] || fail "missing share/vgg/$cfg.cfg"
		cmp "$TOP/share/vgg/$cfg.cfg" "$ROOT/usr/share/vgg/$cfg.cfg"
	done
}

@test "the installed D.cfg as a file gives the same totals as the built-in vgg16" {
	run -0 "$ROOT/usr/bin/vgg-inspect" vgg16
	local builtin=${output#*$'\n'}
	assert_line --regexp '^total +138,357,544 +15,470,264,320 '
	run -0 "$ROOT/usr/bin/vgg-inspect" "$ROOT/usr/share/vgg/D.cfg"
	assert_line --index 0 'D: input 3x224x224, 1000 classes'
	assert_equal "${output#*$'\n'}" "$builtin"
	run -0 "$ROOT/usr/bin/vgg-inspect" --json "$ROOT/usr/share/vgg/D.cfg"
	python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
got = (d["model"], d["total_params"], d["total_macs"])
if got != ("D", 138357544, 15470264320):
    sys.exit("D.cfg: %s" % (got,))' <<<"$output"
}

@test "every installed config file equals its built-in (text table, all but the name line)" {
	local cfg file_out
	for cfg in A A-LRN B C D E; do
		run -0 "$ROOT/usr/bin/vgg-inspect" "$ROOT/usr/share/vgg/$cfg.cfg"
		file_out=${output#*$'\n'}
		run -0 "$ROOT/usr/bin/vgg-inspect" "$cfg"
		assert_equal "$file_out" "${output#*$'\n'}"
	done
	run -0 "$ROOT/usr/bin/vgg-rf" "$ROOT/usr/share/vgg/E.cfg" pool5
	assert_line --index 2 --regexp '^pool5 .* 268 +32 +118 +15\.5$'
}

# A program using the installed library: vgg16's totals.
write_program() {
	cat >"$BATS_TEST_TMPDIR/prog.c" <<'EOF'
#include <stdio.h>
#include <vgg.h>

int main(void)
{
	vgg_config *cfg;
	vgg_layout *lay;
	vgg_error err;
	int c, h, w;
	if (vgg_config_load("vgg16", &cfg, &err)) {
		fprintf(stderr, "prog: %s\n", err.msg);
		return 1;
	}
	vgg_config_input(cfg, &c, &h, &w);
	if (vgg_layout_new(cfg, 0, h, w, &lay, &err)) {
		fprintf(stderr, "prog: %s\n", err.msg);
		vgg_config_free(cfg);
		return 1;
	}
	printf("%s %dx%dx%d %llu %llu\n", vgg_config_name(cfg), c, h, w,
	       (unsigned long long)vgg_layout_total_params(lay),
	       (unsigned long long)vgg_layout_total_macs(lay));
	vgg_layout_free(lay);
	vgg_config_free(cfg);
	return 0;
}
EOF
}

@test "a C program built against the installed vgg.h and libvgg.a gets 138357544" {
	write_program
	local cc dep_libs
	cc=$(config_mk CC)
	dep_libs=$(config_mk DEP_LIBS)
	[ -n "$dep_libs" ] || fail "no DEP_LIBS in $TOP/config.mk"
	# shellcheck disable=SC2086
	run ${cc:-cc} $(sanitize_flags) -std=c11 -Wall -Werror -I"$ROOT/usr/include" -o "$BATS_TEST_TMPDIR/prog" \
		"$BATS_TEST_TMPDIR/prog.c" "$ROOT/usr/lib/libvgg.a" $dep_libs
	[ "$status" -eq 0 ] || fail "compiling or linking with libvgg.a failed:"$'\n'"$output"
	run -0 --separate-stderr "$BATS_TEST_TMPDIR/prog"
	assert_output 'vgg16 3x224x224 138357544 15470264320'
	assert_equal "$stderr" ''
}

@test "a C program linked with -lvgg (the installed libvgg.so) gets 138357544" {
	write_program
	local cc
	cc=$(config_mk CC)
	run ${cc:-cc} $(sanitize_flags) -std=c11 -Wall -Werror -I"$ROOT/usr/include" -o "$BATS_TEST_TMPDIR/prog-so" \
		"$BATS_TEST_TMPDIR/prog.c" -L"$ROOT/usr/lib" -lvgg -Wl,-rpath,"$ROOT/usr/lib"
	[ "$status" -eq 0 ] || fail "compiling or linking with -lvgg failed:"$'\n'"$output"
	run -0 readelf -d "$BATS_TEST_TMPDIR/prog-so"
	assert_line --regexp 'NEEDED.*\[libvgg\.so\.0\]'
	run -0 "$BATS_TEST_TMPDIR/prog-so"
	assert_output 'vgg16 3x224x224 138357544 15470264320'
}
