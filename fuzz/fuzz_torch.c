/* fuzz_torch.c: PyTorch .pth files (torch.c over pickle.c and zip.c), zip and legacy, as
 * vgg-convert reads them. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vgg_tensor_set *set;
	vgg_error err;
	(void)vgg_torch_detect(data, size);
	int rc = vgg_torch_read(data, size, "fuzz", &set, &err);
	fuzz_check_error(rc, &err);
	if (!rc) {
		fuzz_touch_set(set);
		vgg_tensor_set_free(set);
	}
	return 0;
}
