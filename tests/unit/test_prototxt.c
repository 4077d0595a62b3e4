/*
 * test_prototxt.c: Caffe deploy .prototxt files read as the notation (prototxt.c): the
 * Oxford VGG-16 file in V1 form gives configuration D, the V2 test net its own config, and
 * layers the notation cannot express or broken text are refused with a message that says
 * where.
 */
#include <stdlib.h>

#include "tap.h"
#include "testdata.h"
#include "vgg.h"

static void free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* The names space-separated into buf. */
static const char *joined(char **names, size_t count, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = 0;
	for (size_t i = 0; i < count && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? " " : "", names[i]);
	return buf;
}

/* Converts `text`, checks the config and weight-layer names it gives. */
static void expect(const char *text, const char *config, const char *names, const char *what)
{
	char *got = NULL, **got_names = NULL, buf[512];
	size_t count = 0;
	vgg_error err = {0};
	int rc = vgg_caffe_prototxt(text, "t.prototxt", &got, &got_names, &count, &err);
	CHECK_EQ_INT(rc, VGG_OK, "%s: accepted", what);
	if (rc)
		printf("#   %s\n", err.msg);
	CHECK_STR(got, config, "%s: config", what);
	CHECK_STR(joined(got_names, count, buf, sizeof buf), names, "%s: weight layers", what);
	free(got);
	free_names(got_names, count);
}

static void expect_error(const char *text, const char *message, const char *what)
{
	char *got = (char *)"", **names = NULL;
	size_t count = 1;
	vgg_error err = {0};
	int rc = vgg_caffe_prototxt(text, "t.prototxt", &got, &names, &count, &err);
	CHECK(rc == VGG_EPARSE && !got && !names && count == 0, "%s: refused", what);
	CHECK_STR(err.msg, message, "%s: message", what);
	free(got);
	free_names(names, count);
}

static void test_vgg16(void)
{
	char *text = test_slurp_text("caffe/vgg16-deploy.prototxt");
	char *config = NULL, **names = NULL, buf[512];
	size_t count = 0;
	vgg_error err = {0};
	vgg_config *cfg = NULL, *d = NULL;
	int rc = text ? vgg_caffe_prototxt(text, "vgg16-deploy.prototxt", &config, &names, &count,
	                                   &err) : VGG_EIO;
	CHECK_EQ_INT(rc, VGG_OK, "VGG_ILSVRC_16_layers_deploy (V1) converts");
	if (rc)
		printf("#   %s\n", err.msg);
	CHECK_EQ_INT(vgg_config_parse(config ? config : "", "converted", &cfg, &err), VGG_OK,
	             "its config parses");
	CHECK_EQ_INT(vgg_config_builtin("D", &d, &err), VGG_OK, "built-in D");
	char *ours = cfg ? vgg_config_to_text(cfg) : NULL, *want = d ? vgg_config_to_text(d) : NULL;
	CHECK_STR(ours, want, "it is configuration D");
	CHECK_STR(config, want, "written as vgg_config_to_text writes D");
	CHECK_EQ_INT(count, 16, "16 weight layers");
	CHECK_STR(joined(names, count, buf, sizeof buf),
	          "conv1_1 conv1_2 conv2_1 conv2_2 conv3_1 conv3_2 conv3_3 conv4_1 conv4_2 conv4_3 "
	          "conv5_1 conv5_2 conv5_3 fc6 fc7 fc8", "their Caffe names in order");
	free(ours);
	free(want);
	vgg_config_free(cfg);
	vgg_config_free(d);
	free(config);
	free_names(names, count);
	free(text);
}

static void test_v2(void)
{
	char *text = test_slurp_text("caffe/net.prototxt");
	if (text)
		expect(text, "input 16x16x3\nconv3-4\nmaxpool\nconv3-8\nmaxpool\nFC-16\nFC-10\n"
		       "soft-max\n", "conv1_1 conv2_1 fc6 fc7", "net.prototxt (V2, input_shape)");
	else
		CHECK(0, "net.prototxt read");
	free(text);

	expect("# an Input layer, BN with Scale, LRN, ':' before '{', ';' and ','\n"
	       "layer { name: 'in' type: \"Input\" top: \"d\"\n"
	       "  input_param: { shape { dim: 1; dim: 1, dim: 32 dim: 24 } } }\n"
	       "layer { name: \"c1\" type: \"Convolution\" bottom: \"d\" top: \"c1\"\n"
	       "  convolution_param { num_output: 8 kernel_size: 5 pad: 2 stride: 1 } }\n"
	       "layer { name: \"bn1\" type: \"BatchNorm\" bottom: \"c1\" top: \"c1\" }\n"
	       "layer { name: \"sc1\" type: \"Scale\" bottom: \"c1\" top: \"c1\" }\n"
	       "layer { name: \"r1\" type: \"ReLU\" bottom: \"c1\" top: \"r1\" }  # not in place\n"
	       "layer { name: \"n1\" type: \"LRN\" bottom: \"r1\" top: \"n1\"\n"
	       "  lrn_param { local_size: 5 alpha: 1e-4 beta: 0.75 } }\n"
	       "layer { name: \"p1\" type: \"Pooling\" bottom: \"n1\" top: \"p1\"\n"
	       "  pooling_param { kernel_h: 2 kernel_w: 2 stride: 2 } }\n"
	       "layer { name: \"ip\" type: \"InnerProduct\" bottom: \"p1\" top: \"ip\"\n"
	       "  inner_product_param { num_output: 3 } }\n"
	       "layer { name: \"loss\" type: \"SoftmaxWithLoss\" bottom: \"ip\" bottom: \"label\" }\n",
	       "input 32x24x1\nconv5-8 BN\nLRN\nmaxpool\nFC-3\nsoft-max\n", "c1 ip",
	       "Input layer, BatchNorm+Scale, LRN, SoftmaxWithLoss");
}

static void test_refused(void)
{
	const char *head = "input: \"data\" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n";
	char text[1024];
#define WITH(layer) (snprintf(text, sizeof text, "%s%s", head, layer), text)
	expect_error(WITH("layers { name: \"c\" type: CONVOLUTION\n"
	                  "  convolution_param { num_output: 4 kernel_size: 3 pad: 1 stride: 2 } }"),
	             "t.prototxt:2: layer 'c': stride 2, but the notation's convolutions have "
	             "stride 1", "stride-2 convolution");
	expect_error(WITH("layer { name: \"c\" type: \"Convolution\"\n"
	                  "  convolution_param { num_output: 4 kernel_size: 3 } }"),
	             "t.prototxt:2: layer 'c': pad 0, but a 3x3 convolution in the notation has pad 1",
	             "unpadded convolution");
	expect_error(WITH("layer { name: \"c\" type: \"Convolution\"\n"
	                  "  convolution_param { num_output: 4 kernel_size: 4 pad: 1 } }"),
	             "t.prototxt:2: layer 'c': kernel size 4, but the notation's kernels are odd",
	             "even kernel");
	expect_error(WITH("layer { name: \"p\" type: \"Pooling\"\n"
	                  "  pooling_param { pool: AVE kernel_size: 2 stride: 2 } }"),
	             "t.prototxt:2: layer 'p': the notation has max pooling only", "average pooling");
	expect_error(WITH("layer { name: \"p\" type: \"Pooling\"\n"
	                  "  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }"),
	             "t.prototxt:2: layer 'p': 3x3 pooling with stride 2 and pad 0; the notation has "
	             "2x2 with stride 2 only", "3x3 pooling");
	expect_error(WITH("layer { name: \"f\" type: \"InnerProduct\" inner_product_param { "
	                  "num_output: 4 } }\n"
	                  "layer { name: \"c\" type: \"Convolution\"\n"
	                  "  convolution_param { num_output: 4 kernel_size: 1 } }"),
	             "t.prototxt:3: layer 'c': follows an inner product; the notation has only FC "
	             "layers there", "conv after an inner product");
	expect_error(WITH("layer { name: \"s\" type: \"Sigmoid\" }"),
	             "t.prototxt:2: layer 's': type Sigmoid has no counterpart in the notation",
	             "unknown layer type");
	expect_error(WITH("layer { name: \"c\" type: \"Convolution\" bottom: \"other\"\n"
	                  "  convolution_param { num_output: 4 kernel_size: 1 } }"),
	             "t.prototxt:2: layer 'c': takes 'other' where the chain of layers has 'data'",
	             "a branch off the chain");
	expect_error(WITH("layer { name: \"b\" type: \"BatchNorm\" }"),
	             "t.prototxt:2: layer 'b': BatchNorm must follow a convolution directly",
	             "BatchNorm without a conv");
	expect_error("layer { name: \"f\" type: \"InnerProduct\" inner_product_param { "
	             "num_output: 4 } }", "t.prototxt: no input size (input_dim, input_shape or an "
	             "Input layer)", "no input");
	expect_error("input_dim: 1\ninput_dim: 3\ninput_dim: 8\n", "t.prototxt:1: the input needs "
	             "4 dimensions (N, C, H, W), found 3", "three input dims");

	expect_error("input: \"data\"\n# a comment: {\nlayer {\n  name \"c\"\n}\n",
	             "t.prototxt:4: expected a value or '{', found string 'c'", "missing ':'");
	expect_error("layer {\n  name: \"c\"\n  type: \"ReLU\"\n", "t.prototxt:4: expected a field "
	             "name or '}', found end of input", "unclosed brace");
	expect_error("layer { name: \"c\" }\n}\n", "t.prototxt:2: expected a field name, found '}'",
	             "extra closing brace");
	expect_error("name: \"VGG\n", "t.prototxt:1: unterminated string", "unterminated string");
	expect_error("\n\nname: @", "t.prototxt:3: unexpected character '@'", "stray character");

	char deep[256] = "", *p = deep;
	for (int i = 0; i < 17; i++)
		p += sprintf(p, "a{");
	for (int i = 0; i < 17; i++)
		p += sprintf(p, "}");
	expect_error(deep, "t.prototxt:1: nested deeper than 16 levels", "deep nesting");

	char *long_name = malloc(400);
	memset(long_name, 'x', 399);
	long_name[399] = 0;
	expect_error(long_name, "t.prototxt:1: token longer than 255 bytes", "long token");
	free(long_name);
#undef WITH
}

int main(void)
{
	test_vgg16();
	test_v2();
	test_refused();
	return tap_done();
}
