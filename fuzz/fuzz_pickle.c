/* fuzz_pickle.c: the unpickler (pickle.c) on its own, pickles back to back as the legacy
 * .pth form has them, so that mutations reach every opcode without a zip around them. */
#include "fuzz.h"
#include "pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vgg__pickle *p = vgg__pickle_new("fuzz");
	vgg_error err;
	if (!p)
		abort();
	for (size_t pos = 0, used; pos < size; pos += used) {
		const struct vgg__py *v;
		int rc = vgg__pickle_load(p, data + pos, size - pos, &used, &v, &err);
		fuzz_check_error(rc, &err);
		if (rc)
			break;
		if (used == 0 || used > size - pos)
			abort();
		if (v->kind == VGG__PY_DICT)
			(void)vgg__py_dict_get(v, "state_dict");
	}
	for (size_t i = 0; i < vgg__pickle_storage_count(p); i++)
		if (vgg__pickle_storage(p, i)->kind != VGG__PY_STORAGE)
			abort();
	vgg__pickle_free(p);
	return 0;
}
