/* fuzz_npy.c: a stream of .npy arrays (npy.c), read to its end as vgg-predict --from and
 * vgg-inspect read one. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fuzz_stream(data, size);
	vgg_error err;
	int rc;
	do {
		int ndim;
		int64_t shape[VGG_MAX_DIMS];
		float *values;
		rc = vgg_npy_read(f, "fuzz", &ndim, shape, &values, &err);
		if (rc == VGG_ENOTFOUND)
			break;
		fuzz_check_error(rc, &err);
		if (!rc) {
			uint64_t numel = 1;
			for (int i = 0; i < ndim; i++)
				numel *= (uint64_t)shape[i];
			fuzz_touch(values, numel);
			free(values);
		}
	} while (!rc);
	fclose(f);
	return 0;
}
