/*
 * killwrite.c: an LD_PRELOAD library for tests/bats/faults.bats.  Once the program has
 * written VGG_KILL_AFTER bytes to files through fwrite and fputc (standard output and
 * error do not count), it flushes what it has and kills itself with SIGKILL, so that the
 * file being written is cut at that byte, as by a kill -9 in the middle of a write.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned long long written;

/* How many of n more bytes to f may be written before the kill; n when all may. */
static size_t allowed(FILE *f, size_t n)
{
	const char *limit = getenv("VGG_KILL_AFTER");
	if (!limit || f == stdout || f == stderr)
		return n;
	unsigned long long max = strtoull(limit, NULL, 10);
	size_t left = written >= max ? 0 : max - written < n ? (size_t)(max - written) : n;
	written += left;
	return left;
}

static void die(FILE *f)
{
	fflush(f);
	raise(SIGKILL);
}

size_t fwrite(const void *data, size_t size, size_t n, FILE *f)
{
	static size_t (*real)(const void *, size_t, size_t, FILE *);
	if (!real)
		real = (size_t (*)(const void *, size_t, size_t, FILE *))dlsym(RTLD_NEXT, "fwrite");
	size_t bytes = size * n, ok = allowed(f, bytes);
	if (ok == bytes)
		return real(data, size, n, f);
	real(data, 1, ok, f);
	die(f);
	return 0;
}

int fputc(int c, FILE *f)
{
	static int (*real)(int, FILE *);
	if (!real)
		real = (int (*)(int, FILE *))dlsym(RTLD_NEXT, "fputc");
	if (!allowed(f, 1))
		die(f);
	return real(c, f);
}
