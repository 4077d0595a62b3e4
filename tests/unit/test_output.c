/*
 * test_output.c: outputs written whole or not at all (output.c).  A file-size limit stands
 * in for a full disk: with SIGXFSZ ignored, a write past it fails as one on a full disk
 * does, and a limit raised again afterwards is the space a full disk may get back.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tap.h"
#include "vgg.h"

static char dir[] = "/tmp/vgg-test-output.XXXXXX";

/* The names in dir, space-separated: the tests expect one, or a temporary file alone. */
static void list_dir(char *buf, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	buf[0] = 0;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? " " : "", e->d_name);
	if (d)
		closedir(d);
}

static char *slurp(const char *path)
{
	static char text[256];
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
	text[n] = 0;
	if (f)
		fclose(f);
	return text;
}

static void set_file_limit(rlim_t bytes)
{
	struct rlimit r;
	getrlimit(RLIMIT_FSIZE, &r);
	r.rlim_cur = bytes;
	setrlimit(RLIMIT_FSIZE, &r);
}

static void test_commit(const char *path)
{
	vgg_output *o;
	FILE *f;
	vgg_error err;
	char names[256];
	CHECK_EQ_INT(vgg_output_open(path, &o, &f, &err), VGG_OK, "opens");
	list_dir(names, sizeof names);
	CHECK(strncmp(names, "out.tmp.", 8) == 0, "writes a temporary file beside the target");
	fputs("good", f);
	CHECK_EQ_INT(vgg_output_commit(o, &err), VGG_OK, "commits");
	CHECK_STR(slurp(path), "good", "the target holds what was written");
	list_dir(names, sizeof names);
	CHECK_STR(names, "out", "no temporary file is left");
}

/* A write that fails stays failed, even when a later one succeeds. */
static void test_full_disk(const char *path)
{
	static char big[65536];
	vgg_output *o;
	FILE *f;
	vgg_error err;
	char names[256];
	memset(big, 'x', sizeof big);
	CHECK_EQ_INT(vgg_output_open(path, &o, &f, &err), VGG_OK, "opens again");
	set_file_limit(4096);
	size_t wrote = fwrite(big, 1, sizeof big, f);
	int flushed = fflush(f);
	int e = errno;
	CHECK(wrote < sizeof big || flushed != 0, "a write past the limit fails");
	CHECK_EQ_INT(e, EFBIG, "with EFBIG, as ENOSPC on a full disk");
	set_file_limit(RLIM_INFINITY);
	fputs("tail", f);
	int rc = vgg_output_commit(o, &err);
	CHECK_EQ_INT(rc, VGG_EIO, "the commit fails after the space has come back");
	CHECK(strstr(err.msg, path) != NULL, "naming the target: %.200s", err.msg);
	CHECK_STR(slurp(path), "good", "the target keeps what it held");
	list_dir(names, sizeof names);
	CHECK_STR(names, "out", "no temporary file is left");
}

static void test_abort(const char *path)
{
	vgg_output *o;
	FILE *f;
	vgg_error err;
	char names[256];
	CHECK_EQ_INT(vgg_output_open(path, &o, &f, &err), VGG_OK, "opens a third time");
	fputs("half", f);
	vgg_output_abort(o);
	vgg_output_abort(NULL);
	CHECK_STR(slurp(path), "good", "an abort leaves the target alone");
	list_dir(names, sizeof names);
	CHECK_STR(names, "out", "and removes the temporary file");
	char missing[300];
	snprintf(missing, sizeof missing, "%s/no/such/dir/out", dir);
	CHECK_EQ_INT(vgg_output_open(missing, &o, &f, &err), VGG_EIO,
	             "a target in a missing directory cannot be opened");
	CHECK(strstr(err.msg, missing) != NULL, "naming it: %.200s", err.msg);
}

int main(void)
{
	char path[300];
	signal(SIGXFSZ, SIG_IGN);
	if (!mkdtemp(dir)) {
		CHECK(0, "a temporary directory");
		return tap_done();
	}
	snprintf(path, sizeof path, "%s/out", dir);
	test_commit(path);
	test_full_disk(path);
	test_abort(path);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
