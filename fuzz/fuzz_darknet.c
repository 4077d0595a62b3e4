/* fuzz_darknet.c: Darknet .weights files (darknet.c), laid out by a config as --arch gives
 * it.  The input's last byte picks the config: tests/data/darknet/net.cfg's (batch norm, FC
 * over a flattened map; its test files are seeds), or a tiny one that seeds quickly. */
#include "fuzz.h"

static const char *const CONFIGS[] = {
	"input 16x12x3 conv3-4 maxpool conv3-8 BN maxpool FC-16 FC-10 soft-max",
	"input 2x2x1 conv1-1 BN FC-2",
};
#define NCONFIGS (sizeof CONFIGS / sizeof *CONFIGS)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static vgg_config *cfgs[NCONFIGS];
	vgg_error err;
	if (!cfgs[0])
		for (size_t i = 0; i < NCONFIGS; i++)
			if (vgg_config_parse(CONFIGS[i], "fuzz", &cfgs[i], &err))
				abort();
	if (size == 0)
		return 0;
	(void)vgg_darknet_detect(data, size);
	vgg_tensor_set *set;
	int rc = vgg_darknet_read(data, size - 1, "fuzz", cfgs[data[size - 1] % NCONFIGS], &set,
	                          &err);
	fuzz_check_error(rc, &err);
	if (!rc) {
		fuzz_touch_set(set);
		vgg_tensor_set_free(set);
	}
	return 0;
}
