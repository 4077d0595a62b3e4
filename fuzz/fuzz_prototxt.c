/* fuzz_prototxt.c: Caffe deploy .prototxt text (prototxt.c).  What it accepts must come
 * out as a config that our notation (config.c) parses, with a name per weight layer. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), *config, **names;
	size_t count;
	vgg_error err;
	int rc = vgg_caffe_prototxt(text, "fuzz", &config, &names, &count, &err);
	fuzz_check_error(rc, &err);
	free(text);
	if (rc)
		return 0;
	vgg_config *cfg;
	if (vgg_config_parse(config, "prototxt", &cfg, &err))
		abort();
	vgg_config_free(cfg);
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	free(config);
	return 0;
}
