/* fuzz_config.c: configs in the paper's notation (config.c) and their layout (layout.c).
 * What parses must write back as text that parses to the same text again. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	vgg_config *cfg, *again;
	vgg_error err;
	int rc = vgg_config_parse(text, "fuzz", &cfg, &err);
	fuzz_check_error(rc, &err);
	free(text);
	if (rc)
		return 0;
	vgg_layout *lay;
	rc = vgg_layout_new(cfg, 0, 0, 0, &lay, &err);
	fuzz_check_error(rc, &err);
	if (!rc) {
		for (size_t i = 0; i < vgg_layout_count(lay); i++)
			if (!vgg_layout_layer(lay, i)->name)
				abort();
		vgg_layout_free(lay);
	}
	char *written = vgg_config_to_text(cfg);
	if (!written || vgg_config_parse(written, "written", &again, &err))
		abort();
	char *rewritten = vgg_config_to_text(again);
	if (!rewritten || strcmp(written, rewritten) != 0)
		abort();
	free(rewritten);
	free(written);
	vgg_config_free(again);
	vgg_config_free(cfg);
	return 0;
}
