/* fuzz_caffe.c: Caffe .caffemodel files (caffe.c over protobuf.c), V1 and V2, as
 * vgg-convert detects and reads them. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vgg_tensor_set *set;
	vgg_error err;
	(void)vgg_caffe_detect(data, size);
	int rc = vgg_caffe_read(data, size, "fuzz", &set, &err);
	fuzz_check_error(rc, &err);
	if (!rc) {
		fuzz_touch_set(set);
		vgg_tensor_set_free(set);
	}
	return 0;
}
