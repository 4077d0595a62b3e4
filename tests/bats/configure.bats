#!/usr/bin/env bats
# ./configure run in a scratch directory (it writes config.mk and config.log where it runs):
# MPI is taken when found and left out when asked, without installing anything.
load test_helper
bats_require_minimum_version 1.5.0

# config_mk VAR: its value in the config.mk just written.
config_mk() {
	sed -n "s/^$1 *= *//p" config.mk
}

@test "configure --without-mpi: a build for one process, said so" {
	cd "$BATS_TEST_TMPDIR"
	run -0 sh "$TOP/configure" --without-mpi --no-install
	assert_line 'configure: MPI: no (--without-mpi)'
	run config_mk HAVE_MPI
	assert_output 0
	run config_mk MPI_LIBS
	assert_output ''
}

@test "configure alone takes MPI when Open MPI is there, and names the packages when not" {
	cd "$BATS_TEST_TMPDIR"
	run -0 sh "$TOP/configure" --no-install
	local have=0
	if pkg-config --exists ompi-c 2>/dev/null || command -v mpicc >/dev/null; then
		have=1
		assert_line 'configure: MPI: yes (vgg-train runs under mpirun and srun)'
	else
		assert_line --partial 'MPI: no (to train across machines: apt-get install openmpi-bin libopenmpi-dev'
	fi
	run config_mk HAVE_MPI
	assert_output "$have"
}

# without_mpi: PATH and PKG_CONFIG_LIBDIR as on a machine without Open MPI: links to every
# program and pkg-config file but its own (Debian's /bin is /usr/bin).
without_mpi() {
	local d=$BATS_TEST_TMPDIR dir
	mkdir -p "$d/bin" "$d/pc"
	ln -s /usr/bin/* "$d/bin/"
	for dir in $(pkg-config --variable pc_path pkg-config | tr : ' '); do
		ln -s "$dir"/*.pc "$d/pc/" 2>/dev/null || :
	done
	rm -f "$d"/bin/mpi* "$d"/bin/ompi* "$d"/bin/orte* "$d"/pc/*mpi* "$d"/pc/orte*
	export PATH="$d/bin" PKG_CONFIG_LIBDIR="$d/pc"
}

@test "without Open MPI: a build for one process; --with-mpi names the packages it needs" {
	without_mpi
	cd "$BATS_TEST_TMPDIR"
	run -0 sh "$TOP/configure" --no-install
	assert_line --partial 'MPI: no (to train across machines: apt-get install openmpi-bin libopenmpi-dev'
	run config_mk HAVE_MPI
	assert_output 0
	run -1 --separate-stderr sh "$TOP/configure" --with-mpi --no-install
	assert_equal "$stderr" $'ERROR: missing Debian packages: libopenmpi-dev openmpi-bin\nInstall them with: apt-get install -y libopenmpi-dev openmpi-bin'
}
