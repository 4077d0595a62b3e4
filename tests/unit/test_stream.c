/*
 * test_stream.c: inputs through pipes (stream.c): a stream read whole within a limit, and a
 * weights file read as it streams, every size checked against what actually arrives.
 */
#include <stdlib.h>

#include "tap.h"
#include "testdata.h"
#include "vgg.h"

/* A pipe from `cat PATH`: a stream that cannot seek or tell its length. */
static FILE *pipe_from(const char *path)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "cat '%s'", path);
	FILE *f = popen(cmd, "r");
	if (!f)
		printf("# cannot run %s\n", cmd);
	return f;
}

static void test_read_stream(const char *path, const unsigned char *file, size_t size)
{
	void *data;
	size_t got;
	vgg_error err;
	FILE *f = pipe_from(path);
	int rc = f ? vgg_read_stream(f, "-", size, &data, &got, &err) : -1;
	CHECK(rc == VGG_OK && got == size && memcmp(data, file, size) == 0 &&
	      ((unsigned char *)data)[size] == 0,
	      "a pipe read whole, exactly its %zu bytes, a 0 after them", size);
	if (f)
		pclose(f);
	free(rc ? NULL : data);
	f = pipe_from(path);
	rc = f ? vgg_read_stream(f, "-", size - 1, &data, &got, &err) : -1;
	CHECK_EQ_INT(rc, VGG_ERANGE, "one byte over the limit is refused");
	char want[128];
	snprintf(want, sizeof want, "'-': longer than the %zu bytes allowed", size - 1);
	CHECK_STR(err.msg, want, "the message gives the limit");
	CHECK(data == NULL && got == 0, "and nothing is returned");
	if (f)
		pclose(f);
	f = fmemopen((void *)file, 1, "rb");
	rc = f ? vgg_read_stream(f, "x", 0, &data, &got, &err) : -1;
	CHECK_EQ_INT(rc, VGG_ERANGE, "a limit of 0 refuses a one-byte stream");
	if (f)
		fclose(f);
	f = fopen("/dev/null", "rb");
	rc = f ? vgg_read_stream(f, "empty", 10, &data, &got, &err) : -1;
	CHECK(rc == VGG_OK && got == 0 && data && ((char *)data)[0] == 0,
	      "an empty stream is 0 bytes, still 0-terminated");
	free(rc ? NULL : data);
	if (f)
		fclose(f);
}

/* vgg_weights_read_stream on the first `n` bytes of `bytes` (then `extra` more, if any). */
static int weights_from(const unsigned char *bytes, size_t n, const char *extra, vgg_error *err)
{
	size_t len = n + (extra ? strlen(extra) : 0);
	unsigned char *copy = malloc(len ? len : 1);
	vgg_weights *w = NULL;
	memcpy(copy, bytes, n);
	if (extra)
		memcpy(copy + n, extra, strlen(extra));
	/* fmemopen cannot open 0 bytes. */
	FILE *f = len ? fmemopen(copy, len, "rb") : fopen("/dev/null", "rb");
	int rc = f ? vgg_weights_read_stream(f, "-", &w, err) : -1;
	if (f)
		fclose(f);
	free(copy);
	vgg_weights_free(w);
	return rc;
}

static void test_weights_stream(const char *path, const unsigned char *file, size_t size)
{
	vgg_weights *w = NULL, *mapped = NULL;
	vgg_net *net = NULL;
	vgg_error err;
	FILE *f = pipe_from(path);
	int rc = f ? vgg_weights_read_stream(f, "-", &w, &err) : -1;
	CHECK_EQ_INT(rc, VGG_OK, "a weights file read from a pipe");
	if (f)
		pclose(f);
	vgg_weights_open(path, &mapped, &err);
	int same = w && mapped && vgg_weights_count(w) == vgg_weights_count(mapped) &&
	           vgg_weights_meta_count(w) == vgg_weights_meta_count(mapped);
	for (size_t i = 0; same && i < vgg_weights_count(w); i++) {
		const vgg_tensor_info *a = vgg_weights_tensor(w, i), *b = vgg_weights_tensor(mapped, i);
		same = strcmp(a->name, b->name) == 0 && a->nbytes == b->nbytes &&
		       memcmp(a->data, b->data, a->nbytes) == 0;
	}
	CHECK(same, "the same tensors and metadata as the file mapped");
	vgg_weights_free(mapped);
	rc = w ? vgg_net_new(w, &net, &err) : -1;
	CHECK_EQ_INT(rc, VGG_OK, "and a net from them");
	vgg_net_free(net);

	uint64_t header = 0;
	for (int i = 7; i >= 0; i--)
		header = header << 8 | file[i];
	static char msg[4][200];
	snprintf(msg[0], sizeof msg[0], "'-': not a valid safetensors file: the stream ends after "
	         "%zu bytes, its header calls for %zu", size - 1, size);
	snprintf(msg[1], sizeof msg[1], "'-': not a valid safetensors file: the stream ends after "
	         "%zu bytes, its header calls for %zu", (size_t)header + 8, size);
	const struct {
		size_t n;
		const char *extra, *msg, *what;
	} cases[] = {
		{0, NULL, "'-': not a valid safetensors file: shorter than its 8-byte header length",
		 "an empty stream"},
		{5, NULL, "'-': not a valid safetensors file: shorter than its 8-byte header length",
		 "5 bytes"},
		{8, NULL, "'-': not a valid safetensors file: header length exceeds the file",
		 "the header length alone"},
		{(size_t)header + 7, NULL, "'-': not a valid safetensors file: header length exceeds "
		 "the file", "a header one byte short"},
		{(size_t)header + 8, NULL, msg[1], "the header without data"},
		{size - 1, NULL, msg[0], "one byte short"},
		{size, "x", "'-': not a valid safetensors file: bytes after the last tensor",
		 "one byte too many"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		rc = weights_from(file, cases[i].n, cases[i].extra, &err);
		CHECK(rc != VGG_OK, "%s is refused", cases[i].what);
		CHECK_STR(err.msg, cases[i].msg, "%s: message", cases[i].what);
	}
}

/* Headers that claim more than is sent allocate only what arrives (ASan would object). */
static void test_lying_headers(void)
{
	vgg_error err;
	unsigned char huge[16] = {0, 0, 0, 0, 0, 1, 0, 0, '{', '}'};
	CHECK_EQ_INT(weights_from(huge, 10, NULL, &err), VGG_EPARSE,
	             "a header length of 2^40 is refused");
	CHECK_STR(err.msg, "'-': not a valid safetensors file: header length exceeds the file",
	          "as exceeding the stream");
	const char *json = "{\"t\":{\"dtype\":\"F32\",\"shape\":[250000000000000],"
	                   "\"data_offsets\":[0,1000000000000000]}}";
	unsigned char buf[256] = {0};
	size_t n = strlen(json);
	buf[0] = (unsigned char)n;
	memcpy(buf + 8, json, n);
	memcpy(buf + 8 + n, "abcd", 4);
	CHECK_EQ_INT(weights_from(buf, 8 + n + 4, NULL, &err), VGG_EPARSE,
	             "a header that calls for 10^15 bytes of data, 4 sent, is refused");
	char want[200];
	snprintf(want, sizeof want, "'-': not a valid safetensors file: the stream ends after %zu "
	         "bytes, its header calls for %zu", 8 + n + 4, 8 + n + 1000000000000000);
	CHECK_STR(err.msg, want, "naming both lengths");
	const char *garbled = "{\"t\":{\"data_offsets\":[0,\"many\"]}}";
	n = strlen(garbled);
	memset(buf, 0, sizeof buf);
	buf[0] = (unsigned char)n;
	memcpy(buf + 8, garbled, n);
	CHECK_EQ_INT(weights_from(buf, 8 + n, NULL, &err), VGG_EPARSE,
	             "a header without sizes is refused");
	CHECK_STR(err.msg, "'-': not a valid safetensors file: tensor 't': needs dtype, shape and "
	          "data_offsets", "by the same checks as a file");
}

int main(void)
{
	char path[512];
	size_t size;
	test_data_path(path, sizeof path, "net/vgg11.safetensors");
	unsigned char *file = test_slurp(path, &size);
	CHECK(file != NULL, "the test weights file reads");
	if (file) {
		test_read_stream(path, file, size);
		test_weights_stream(path, file, size);
	}
	free(file);
	test_lying_headers();
	return tap_done();
}
