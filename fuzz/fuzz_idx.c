/* fuzz_idx.c: MNIST's IDX files (idx.c), gzip'd or not, read once as images and once as
 * labels.  zlib's gzip reader takes a descriptor, so the bytes go in through a memfd. */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	int again = dup(fd);
	if (again < 0)
		abort();
	for (int images = 1; images >= 0; images--) {
		uint32_t dims[4];
		unsigned char *values;
		vgg_error err;
		int use = images ? fd : again;
		if (lseek(use, 0, SEEK_SET) != 0)
			abort();
		int rc = vgg__idx_read_fd(use, "fuzz", images, dims, &values, &err);
		fuzz_check_error(rc, &err);
		if (!rc) {
			uint64_t n = (uint64_t)dims[0] * dims[1] * dims[2] * dims[3];
			volatile unsigned char sink = 0;
			for (uint64_t k = 0; k < n; k++)
				sink ^= values[k];
			(void)sink;
			free(values);
		}
	}
	return 0;
}
