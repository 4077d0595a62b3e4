/* testdata.h: where the unit tests' committed data lives, and reading it whole. */
#ifndef VGG_TESTDATA_H
#define VGG_TESTDATA_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* $VGG_TESTDATA, else tests/data under the current directory, which is the repository's
 * root when `make check` runs. */
static inline const char *test_data_dir(void)
{
	const char *d = getenv("VGG_TESTDATA");
	return d && *d ? d : "tests/data";
}

/* DIR/NAME in buf. */
static inline const char *test_data_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", test_data_dir(), name);
	return buf;
}

/* The file in a buffer of exactly its size, so that sanitizers see any overread; NULL,
 * after a TAP comment saying so, when it cannot be read. */
static inline unsigned char *test_slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	long n;
	*size = 0;
	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (data = malloc(n ? (size_t)n : 1)) && fread(data, 1, (size_t)n, f) == (size_t)n) {
		*size = (size_t)n;
	} else {
		printf("# cannot read %s\n", path);
		free(data);
		data = NULL;
	}
	if (f)
		fclose(f);
	return data;
}

/* A text file under the data directory as a NUL-terminated string; NULL, after a TAP
 * comment saying so, when it cannot be read. */
static inline char *test_slurp_text(const char *name)
{
	char path[512];
	size_t size;
	unsigned char *data = test_slurp(test_data_path(path, sizeof path, name), &size);
	char *text = data ? realloc(data, size + 1) : NULL;
	if (!text) {
		free(data);
		return NULL;
	}
	text[size] = '\0';
	return text;
}

/* Largest |got - want| relative to the largest |want|: the 1e-4 criterion. */
static inline double test_rel_error(const float *got, const float *want, size_t n)
{
	double max = 0, diff = 0;
	for (size_t i = 0; i < n; i++) {
		if (fabs(want[i]) > max)
			max = fabs(want[i]);
		if (fabs((double)got[i] - want[i]) > diff)
			diff = fabs((double)got[i] - want[i]);
	}
	return max > 0 ? diff / max : diff;
}

#endif
