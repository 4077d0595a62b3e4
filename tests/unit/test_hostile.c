/*
 * test_hostile.c: every input kept under tests/data/hostile/NAME/ (what the fuzzers found,
 * and hostile files made by hand) replayed through fuzz/fuzz_NAME.c, the libFuzzer harness
 * for that parser, as the fuzzer ran it: each must come back, with every check the harness
 * makes holding, and no invalid access or leak under `make check SANITIZE=1` and
 * `make valgrind`.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>

#include "tap.h"
#include "testdata.h"

/* Each harness under a name of its own. */
#define LLVMFuzzerInitialize fuzz_image_init
#define LLVMFuzzerTestOneInput fuzz_image
#include "../../fuzz/fuzz_image.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_safetensors
#include "../../fuzz/fuzz_safetensors.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_npy
#include "../../fuzz/fuzz_npy.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_torch
#include "../../fuzz/fuzz_torch.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_pickle
#include "../../fuzz/fuzz_pickle.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_zip
#include "../../fuzz/fuzz_zip.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_caffe
#include "../../fuzz/fuzz_caffe.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_prototxt
#include "../../fuzz/fuzz_prototxt.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_darknet
#include "../../fuzz/fuzz_darknet.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_idx
#include "../../fuzz/fuzz_idx.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_list
#include "../../fuzz/fuzz_list.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_config
#include "../../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput

static const struct {
	const char *name;
	int (*one)(const uint8_t *data, size_t size);
} HARNESSES[] = {
	{"image", fuzz_image}, {"safetensors", fuzz_safetensors}, {"npy", fuzz_npy},
	{"torch", fuzz_torch}, {"pickle", fuzz_pickle}, {"zip", fuzz_zip},
	{"caffe", fuzz_caffe}, {"prototxt", fuzz_prototxt}, {"darknet", fuzz_darknet},
	{"idx", fuzz_idx}, {"list", fuzz_list}, {"config", fuzz_config},
};

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int visible(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

int main(void)
{
	fuzz_image_init(NULL, NULL);
	for (size_t h = 0; h < sizeof HARNESSES / sizeof *HARNESSES; h++) {
		char dir[512], path[1024];
		snprintf(dir, sizeof dir, "%s/hostile/%s", test_data_dir(), HARNESSES[h].name);
		struct dirent **files;
		int n = scandir(dir, &files, visible, by_name);
		for (int i = 0; i < n; i++) {
			snprintf(path, sizeof path, "%s/%s", dir, files[i]->d_name);
			size_t size;
			unsigned char *data = test_slurp(path, &size);
			CHECK(data && HARNESSES[h].one(data, size) == 0, "hostile/%s/%.100s comes back",
			      HARNESSES[h].name, files[i]->d_name);
			free(data);
			free(files[i]);
		}
		if (n > 0)
			free(files);
	}
	return tap_done();
}
