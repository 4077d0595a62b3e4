/* fuzz_zip.c: the zip reader (zip.c) on its own: the central directory, then every entry
 * found by its name and read (stored, or inflated and its CRC checked). */
#include "fuzz.h"
#include "zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vgg__zip *zip;
	vgg_error err;
	int rc = vgg__zip_open(data, size, "fuzz", &zip, &err);
	fuzz_check_error(rc, &err);
	if (rc)
		return 0;
	for (size_t i = 0; i < zip->count; i++) {
		const struct vgg__zip_entry *e = vgg__zip_find(zip, zip->entries[i].name);
		const unsigned char *bytes;
		void *owned;
		uint64_t n;
		if (!e || strcmp(e->name, zip->entries[i].name) != 0)
			abort();
		rc = vgg__zip_read(zip, e, &bytes, &owned, &n, &err);
		fuzz_check_error(rc, &err);
		if (!rc) {
			volatile unsigned char sink = 0;
			for (uint64_t k = 0; k < n; k++)
				sink ^= bytes[k];
			(void)sink;
		}
		free(owned);
	}
	vgg__zip_free(zip);
	return 0;
}
