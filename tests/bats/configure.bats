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
