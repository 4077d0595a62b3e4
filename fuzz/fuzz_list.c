/* fuzz_list.c: datasets opened from a file (dataset.c): a list of `PATH LABEL` lines, or
 * what sniffs as IDX.  vgg_dataset_open takes a path, so the bytes go in through a memfd
 * named by /proc/self/fd; the images a list names are not read. */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	vgg_dataset *ds;
	vgg_error err;
	int rc = vgg_dataset_open(path, &ds, &err);
	fuzz_check_error(rc, &err);
	close(fd);
	if (rc)
		return 0;
	size_t n = vgg_dataset_count(ds);
	int classes = vgg_dataset_classes(ds);
	for (size_t i = 0; i < n; i++)
		if (vgg_dataset_label(ds, i) < 0 || vgg_dataset_label(ds, i) >= classes)
			abort();
	vgg_dataset *train, *held;
	rc = vgg_dataset_split(ds, 0.5, 1, &train, &held, &err);
	fuzz_check_error(rc, &err);
	if (!rc) {
		if (vgg_dataset_count(train) + vgg_dataset_count(held) != n)
			abort();
		vgg_dataset_free(train);
		vgg_dataset_free(held);
	}
	vgg_dataset_free(ds);
	return 0;
}
