/* fuzz_safetensors.c: our weights files (safetensors.c), as a pipe delivers them
 * (vgg_weights_read_stream over stream.c) and from memory, and the net built on them
 * (net.c: the config in the metadata, every tensor against it, the preprocessing keys,
 * the labels). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vgg_weights *w;
	vgg_error err;
	FILE *f = fuzz_stream(data, size);
	int rc = vgg_weights_read_stream(f, "fuzz", &w, &err);
	fuzz_check_error(rc, &err);
	fclose(f);
	vgg_weights_free(w);

	void *copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	rc = vgg_weights_from_memory(copy, size, "fuzz", &w, &err);
	fuzz_check_error(rc, &err);
	if (rc)
		return 0;
	for (size_t i = 0; i < vgg_weights_count(w); i++) {
		const vgg_tensor_info *t = vgg_weights_tensor(w, i);
		float *values = malloc(t->numel ? t->numel * sizeof *values : 1);
		if (!values || vgg_weights_find(w, t->name) != t)
			abort();
		vgg_tensor_to_float(t, values);
		free(values);
	}
	for (size_t i = 0; i < vgg_weights_meta_count(w); i++) {
		const char *key, *value;
		vgg_weights_meta_at(w, i, &key, &value);
		if (vgg_weights_meta(w, key) != value)
			abort();
	}
	vgg_net *net;
	rc = vgg_net_new(w, &net, &err);
	fuzz_check_error(rc, &err);
	vgg_net_free(net);
	return 0;
}
