/*
 * vgg-convert: weights from Caffe, PyTorch and the model hubs in, our weights file out.
 * The flow: read the input whole; tell its format by its first bytes; read it into a set
 * of named tensors; map those names onto Caffe's layer names, inferring the network from
 * the tensors' names and shapes; write our file with its config, preprocessing and labels;
 * load it back as a net, so that nothing is written that vgg-predict would refuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define MAX_LAYERS 64

/* A batch norm's tensors, in the order `struct found` keeps them, under PyTorch's names. */
static const char *const BN_PARTS[4] = {"weight", "bias", "running_mean", "running_var"};

static void usage(void)
{
	printf("Usage: vgg-convert [OPTION]... INPUT -o OUTPUT\n"
	       "Convert VGG weights to a vgg weights file (vgg-weights(5)).  INPUT's format is\n"
	       "told by its content: PyTorch .pth/.pt (zip or legacy serialization: torchvision\n"
	       "names, a checkpoint dict, DataParallel's module. prefix), Caffe .caffemodel (V1\n"
	       "or V2), safetensors with torchvision or timm names, a vgg weights file, or\n"
	       "Darknet .weights (which hold no layout: give --arch).\n"
	       "\n"
	       "  -o, --output FILE     the weights file to write (required)\n"
	       "  -a, --arch CONFIG     the network, as vgg-config(5) names or writes it, instead\n"
	       "                        of the one inferred from the tensors\n"
	       "  -l, --labels FILE     class labels, one per line [ImageNet's for 1000 classes]\n"
	       "      --mean B,G,R      Caffe's mean pixel [103.939,116.779,123.68]\n"
	       "  -p, --prototxt FILE   Caffe's deploy .prototxt: the network's layers, for a\n"
	       "                        .caffemodel whose layer names are not Caffe VGG's\n"
	       "      --darknet-labels FILE  Darknet's imagenet.labels.list (WordNet ids in its\n"
	       "                        order): reorder fc8's classes into the sorted-id order\n"
	       "      --fold-bn         fold batch norm into the conv weights\n"
	       "  -t, --to FORMAT       weights (vgg-weights(5), the default), pytorch (a zip\n"
	       "                        .pth state_dict with torchvision's names), or npy (OUTPUT\n"
	       "                        is a new directory of NAME.npy files, our names)\n"
	       "  -h, --help            show this help and exit\n"
	       "  -V, --version         show the version and exit\n"
	       "\n"
	       "Exit status: 0 success, 1 bad input, 2 usage error.  See vgg-convert(1).\n");
}

enum target { TO_WEIGHTS, TO_PYTORCH, TO_NPY };

struct options {
	const char *input, *output, *arch, *labels, *mean, *darknet_labels, *prototxt;
	int fold_bn;
	enum target to;
};

static void parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_MEAN = 256, OPT_FOLD_BN, OPT_DARKNET_LABELS };
	static const struct option longs[] = {
		{"output", required_argument, 0, 'o'}, {"arch", required_argument, 0, 'a'},
		{"labels", required_argument, 0, 'l'}, {"mean", required_argument, 0, OPT_MEAN},
		{"fold-bn", no_argument, 0, OPT_FOLD_BN}, {"to", required_argument, 0, 't'},
		{"darknet-labels", required_argument, 0, OPT_DARKNET_LABELS},
		{"prototxt", required_argument, 0, 'p'},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, 'V'},      {0, 0, 0, 0}
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:a:l:t:p:hV", longs, NULL)) != -1) {
		switch (c) {
		case 'o': o->output = optarg; break;
		case 'a': o->arch = optarg; break;
		case 'l': o->labels = optarg; break;
		case OPT_MEAN: o->mean = optarg; break;
		case OPT_FOLD_BN: o->fold_bn = 1; break;
		case OPT_DARKNET_LABELS: o->darknet_labels = optarg; break;
		case 'p': o->prototxt = optarg; break;
		case 't':
			if (strcmp(optarg, "weights") == 0)
				o->to = TO_WEIGHTS;
			else if (strcmp(optarg, "pytorch") == 0)
				o->to = TO_PYTORCH;
			else if (strcmp(optarg, "npy") == 0)
				o->to = TO_NPY;
			else
				cli_usage_error("--to '%s': expected weights, pytorch or npy", optarg);
			break;
		default: cli_common_option(c, argv, usage);
		}
	}
	if (o->prototxt && o->arch)
		cli_usage_error("--prototxt and --arch both give the network: one of them");
	if (optind == argc)
		cli_usage_error("no INPUT given");
	if (argc - optind > 1)
		cli_usage_error("one INPUT only, but '%s' follows '%s'", argv[optind + 1], argv[optind]);
	if (!o->output)
		cli_usage_error("no OUTPUT given (-o FILE)");
	o->input = argv[optind];
	if (o->mean) {
		float m[3];
		char extra;
		if (sscanf(o->mean, "%f,%f,%f%c", &m[0], &m[1], &m[2], &extra) != 3)
			cli_usage_error("--mean '%s': expected three numbers B,G,R", o->mean);
	}
}

/* ---- The input, whole ---- */

struct input {
	void *data;
	size_t size;
};

static void read_input(const char *path, struct input *in)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		cli_fail("cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		cli_fail("cannot read '%s': not a regular file", path);
	in->size = (size_t)st.st_size;
	in->data = in->size ? mmap(NULL, in->size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	if (in->size && in->data == MAP_FAILED)
		cli_fail("cannot map '%s': %s", path, strerror(errno));
	close(fd);
}

/* Maps the pages of bytes [p, p + n) of a mapped input at once, now that they are known to
 * be weights: the output is written from them, and faulting them in one by one during the
 * writes costs more than the copy.  Before Linux 5.14 they are faulted in as they come. */
static void prefault(const void *p, size_t n)
{
#ifdef MADV_POPULATE_READ
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), start = (uintptr_t)p / page * page;
	if (n)
		madvise((void *)start, n + ((uintptr_t)p - start), MADV_POPULATE_READ);
#else
	(void)p;
	(void)n;
#endif
}

/* A safetensors file as a tensor set, its names kept, its float32 tensors left in *w (to
 * be freed after the set); *config gets a vgg weights file's vgg.config (else NULL) and
 * *ceil its pooling. */
static vgg_tensor_set *read_safetensors(const char *path, vgg_weights **w, char **config,
                                        int *ceil)
{
	vgg_error err;
	if (vgg_weights_open(path, w, &err))
		cli_fail("%s", err.msg);
	const char *text = vgg_weights_meta(*w, "vgg.config");
	const char *round = vgg_weights_meta(*w, "vgg.pool_round");
	if (text && !(*config = strdup(text)))
		cli_fail("out of memory");
	*ceil = round && strcmp(round, "ceil") == 0;
	vgg_tensor_set *set = vgg_tensor_set_new();
	if (!set)
		cli_fail("out of memory");
	const unsigned char *first = NULL, *end = NULL;
	for (size_t i = 0; i < vgg_weights_count(*w); i++) {
		const vgg_tensor_info *t = vgg_weights_tensor(*w, i);
		const unsigned char *p = t->data;
		first = !first || p < first ? p : first;
		end = p + t->nbytes > end ? p + t->nbytes : end;
	}
	prefault(first, (size_t)(end - first));
	for (size_t i = 0; i < vgg_weights_count(*w); i++) {
		const vgg_tensor_info *t = vgg_weights_tensor(*w, i);
		float *data = NULL;
		if (!vgg_dtype_is_float(t->dtype))
			continue;
		if (t->dtype != VGG_DTYPE_F32) {
			if (!(data = malloc(t->numel ? (size_t)t->numel * sizeof *data : 1)))
				cli_fail("out of memory reading '%s'", path);
			vgg_tensor_to_float(t, data);
		}
		if (data ? vgg_tensor_set_add(set, t->name, t->ndim, t->shape, data, &err)
		         : vgg_tensor_set_borrow(set, t->name, t->ndim, t->shape, t->data, &err))
			cli_fail("'%s': %s", path, err.msg);
	}
	return set;
}

/* ---- From foreign names to ours ---- */

/* One conv or FC layer found in the input, with the tensors that make it. */
struct found {
	int fc;                       /* 0: conv */
	int block;                    /* conv: the block it is in, from 1 */
	const vgg_set_tensor *weight, *bias;
	const vgg_set_tensor *bn[4];  /* weight, bias, running_mean, running_var, or NULL */
};

struct found_net {
	struct found layers[MAX_LAYERS];
	int count;
	const char *format;           /* "pytorch", "caffe", "safetensors" */
	int caffe;
};

static const vgg_set_tensor *find(const vgg_tensor_set *set, const char *fmt, const char *a,
                                  int n)
{
	char name[96];
	snprintf(name, sizeof name, fmt, a, n);
	return vgg_tensor_set_find(set, name);
}

static void add_layer(struct found_net *net, struct found l, const char *input)
{
	if (net->count == MAX_LAYERS)
		cli_fail("'%s': more than %d layers", input, MAX_LAYERS);
	net->layers[net->count++] = l;
}

/*
 * torchvision's `features.N` and `classifier.N` (timm: `pre_logits.fc1`, `pre_logits.fc2`,
 * `head.fc`).  A pool sits wherever the conv indices skip one: conv, ReLU (with batch norm:
 * conv, BN, ReLU), then the next conv, or a MaxPool first.
 */
static void map_torchvision(const vgg_tensor_set *set, const char *input, struct found_net *net)
{
	int block = 1, expected = 0;
	for (int i = 0; i < 1000; i++) {
		const vgg_set_tensor *w = find(set, "%s.%d.weight", "features", i);
		if (!w || w->ndim != 4)
			continue;
		struct found l = {0};
		l.weight = w;
		l.bias = find(set, "%s.%d.bias", "features", i);
		for (int p = 0; p < 4; p++) {
			char fmt[48];
			snprintf(fmt, sizeof fmt, "%%s.%%d.%s", BN_PARTS[p]);
			l.bn[p] = find(set, fmt, "features", i + 1);
		}
		int step = l.bn[2] ? 3 : 2;
		if (i > expected)
			block += i - expected;
		l.block = block;
		expected = i + step;
		add_layer(net, l, input);
	}
	static const char *const fcs[][2] = {
		{"classifier.0", "pre_logits.fc1"}, {"classifier.3", "pre_logits.fc2"},
		{"classifier.6", "head.fc"}
	};
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 2; k++) {
			char name[64];
			struct found l = {1, 0, NULL, NULL, {0}};
			snprintf(name, sizeof name, "%s.weight", fcs[i][k]);
			if (!(l.weight = vgg_tensor_set_find(set, name)))
				continue;
			snprintf(name, sizeof name, "%s.bias", fcs[i][k]);
			l.bias = vgg_tensor_set_find(set, name);
			add_layer(net, l, input);
		}
	}
}

/* Caffe's own names, which ours are: convB_I in blocks (with convB_I.bn.*), fcN after. */
static void map_caffe(const vgg_tensor_set *set, const char *input, struct found_net *net)
{
	for (int b = 1; b < 10; b++) {
		for (int i = 1; i < 10; i++) {
			char name[32];
			snprintf(name, sizeof name, "conv%d_%d.weight", b, i);
			const vgg_set_tensor *w = vgg_tensor_set_find(set, name);
			if (!w)
				continue;
			struct found l = {0, b, w, NULL, {0}};
			snprintf(name, sizeof name, "conv%d_%d.bias", b, i);
			l.bias = vgg_tensor_set_find(set, name);
			for (int p = 0; p < 4; p++) {
				snprintf(name, sizeof name, "conv%d_%d.bn.%s", b, i, BN_PARTS[p]);
				l.bn[p] = vgg_tensor_set_find(set, name);
			}
			add_layer(net, l, input);
		}
	}
	for (int f = 1; f < 20; f++) {
		char name[32];
		snprintf(name, sizeof name, "fc%d.weight", f);
		const vgg_set_tensor *w = vgg_tensor_set_find(set, name);
		if (!w)
			continue;
		struct found l = {1, 0, w, NULL, {0}};
		snprintf(name, sizeof name, "fc%d.bias", f);
		l.bias = vgg_tensor_set_find(set, name);
		add_layer(net, l, input);
	}
}

/* The weight layers the prototxt names, in its order, as `cfg` lays them out. */
static void map_named(const vgg_tensor_set *set, char **names, size_t count,
                      const vgg_config *cfg, const char *input, struct found_net *net)
{
	vgg_layout *lay;
	vgg_error err;
	if (vgg_layout_new(cfg, 0, 0, 0, &lay, &err))
		cli_fail("'%s': %s", input, err.msg);
	size_t k = 0;
	for (size_t i = 0; i < vgg_layout_count(lay) && k < count; i++) {
		const vgg_layer_info *info = vgg_layout_layer(lay, i);
		if (info->kind != VGG_LAYER_CONV && info->kind != VGG_LAYER_FC)
			continue;
		struct found l = {info->kind == VGG_LAYER_FC, 0, NULL, NULL, {0}};
		char name[300];
		snprintf(name, sizeof name, "%.280s.weight", names[k]);
		if (!(l.weight = vgg_tensor_set_find(set, name)))
			cli_fail("'%s': no weights for layer '%s' of the prototxt", input, names[k]);
		snprintf(name, sizeof name, "%.280s.bias", names[k]);
		l.bias = vgg_tensor_set_find(set, name);
		add_layer(net, l, input);
		k++;
	}
	vgg_layout_free(lay);
}

/* ---- The config the tensors describe ---- */

static void append(char **text, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		if (!(*text = realloc(*text, *cap)))
			cli_fail("out of memory");
	}
	memcpy(*text + *len, s, n + 1);
	*len += n;
}

/*
 * The notation for the layers found: convK-N per conv, a maxpool at each block's end and
 * after the last conv, the FC layers, soft-max; the input size from fc6's fan-in.
 */
static char *infer_config(const struct found_net *net, const char *input)
{
	char *text = NULL, line[64];
	size_t len = 0, cap = 0;
	int last_c = 3, pools = 0, convs = 0;
	const struct found *first_fc = NULL;
	append(&text, &len, &cap, "");
	for (int i = 0; i < net->count; i++) {
		const struct found *l = &net->layers[i];
		if (l->fc) {
			first_fc = first_fc ? first_fc : l;
			continue;
		}
		const vgg_set_tensor *w = l->weight;
		if (w->shape[2] != w->shape[3] || w->shape[2] % 2 == 0)
			cli_fail("'%s': tensor '%s' is a %lldx%lld kernel: VGG convs are square and odd",
			         input, w->name, (long long)w->shape[2], (long long)w->shape[3]);
		if (i > 0 && l->block != net->layers[i - 1].block) {
			for (int p = 0; p < l->block - net->layers[i - 1].block; p++, pools++)
				append(&text, &len, &cap, "maxpool\n");
		}
		snprintf(line, sizeof line, "conv%lld-%lld%s\n", (long long)w->shape[2],
		         (long long)w->shape[0], l->bn[2] ? " BN" : "");
		append(&text, &len, &cap, line);
		last_c = (int)w->shape[0];
		convs++;
	}
	if (!convs)
		cli_fail("'%s': no convolution weights found (torchvision's features.N.weight or "
		         "Caffe's convB_I): not a VGG", input);
	append(&text, &len, &cap, "maxpool\n");
	pools++;
	int side = 7;
	if (first_fc) {
		/* fc6 sees last_c x side x side: its fan-in gives side, and side * 2^pools the input. */
		const vgg_set_tensor *w = first_fc->weight;
		int64_t fan_in = w->ndim == 4 ? w->shape[1] * w->shape[2] * w->shape[3] : w->shape[1];
		side = (int)lround(sqrt((double)fan_in / last_c));
		if ((int64_t)side * side * last_c != fan_in)
			cli_fail("'%s': tensor '%s' takes %lld inputs, not %d x a square", input, w->name,
			         (long long)fan_in, last_c);
	}
	for (int i = 0; i < net->count; i++) {
		if (!net->layers[i].fc)
			continue;
		snprintf(line, sizeof line, "FC-%lld\n", (long long)net->layers[i].weight->shape[0]);
		append(&text, &len, &cap, line);
	}
	if (first_fc)
		append(&text, &len, &cap, "soft-max\n");
	snprintf(line, sizeof line, "input %dx%dx3\n", side << pools, side << pools);
	char *full = malloc(strlen(line) + len + 1);
	if (!full)
		cli_fail("out of memory");
	strcpy(full, line);
	strcat(full, text);
	free(text);
	return full;
}

/* The built-in config (vgg11 ... vgg19_bn) the text equals, or NULL. */
static const char *known_name(const char *text)
{
	static const char *const names[] = {"vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn",
	                                    "vgg13_bn", "vgg16_bn", "vgg19_bn", "A-LRN", "C"};
	const char *found = NULL;
	vgg_config *mine;
	if (vgg_config_parse(text, "inferred", &mine, NULL))
		return NULL;
	char *a = vgg_config_to_text(mine);
	for (size_t i = 0; a && !found && i < sizeof names / sizeof *names; i++) {
		vgg_config *cfg;
		if (vgg_config_builtin(names[i], &cfg, NULL))
			continue;
		vgg_config_set_classes(cfg, vgg_config_classes(mine), NULL);
		char *b = vgg_config_to_text(cfg);
		if (b && strcmp(a, b) == 0)
			found = names[i];
		free(b);
		vgg_config_free(cfg);
	}
	free(a);
	vgg_config_free(mine);
	return found;
}

/* ---- Writing ---- */

static void add_tensor(vgg_weights_writer *wr, const char *name, const vgg_set_tensor *t,
                       int ndim, const int64_t *shape, const char *input)
{
	vgg_error err;
	if (vgg_weights_writer_add(wr, name, ndim, shape, t->data, &err))
		cli_fail("'%s': %s", input, err.msg);
}

static const vgg_set_tensor *need(const vgg_set_tensor *t, const char *what, const char *input)
{
	if (!t)
		cli_fail("'%s': no %s", input, what);
	return t;
}

/*
 * Writes every found layer's tensors under the names of the output: ours, as the layout of
 * `cfg` names them, or torchvision's, whose `features` index counts conv, batch norm, ReLU
 * and pool modules and whose classifier puts ReLU and dropout between the FC layers.
 */
static void add_weights(vgg_weights_writer *wr, const struct found_net *net, vgg_config *cfg,
                        const struct options *o, vgg_tensor_set *keep)
{
	vgg_layout *lay;
	vgg_error err;
	if (vgg_layout_new(cfg, 0, 0, 0, &lay, &err))
		cli_fail("'%s': %s", o->input, err.msg);
	int k = 0, feature = 0, fc = 0;
	for (size_t i = 0; i < vgg_layout_count(lay); i++) {
		const vgg_layer_info *info = vgg_layout_layer(lay, i);
		char prefix[48], bn_prefix[48];
		if (info->kind != VGG_LAYER_CONV && info->kind != VGG_LAYER_FC) {
			feature += info->kind == VGG_LAYER_POOL || info->kind == VGG_LAYER_LRN;
			continue;
		}
		int keep_bn = info->batch_norm && !o->fold_bn;
		if (o->to != TO_PYTORCH) {
			snprintf(prefix, sizeof prefix, "%s", info->name);
			snprintf(bn_prefix, sizeof bn_prefix, "%s.bn", info->name);
		} else if (info->kind == VGG_LAYER_CONV) {
			snprintf(prefix, sizeof prefix, "features.%d", feature);
			snprintf(bn_prefix, sizeof bn_prefix, "features.%d", feature + 1);
			feature += keep_bn ? 3 : 2;
		} else {
			snprintf(prefix, sizeof prefix, "classifier.%d", 3 * fc++);
		}
		if (k == net->count)
			cli_fail("'%s': the config has more weight layers than the %d found", o->input,
			         net->count);
		const struct found *l = &net->layers[k++];
		char name[64], what[96];
		uint64_t fan_in = (uint64_t)info->in_c * (uint64_t)info->kernel[0] *
		                  (uint64_t)info->kernel[1];
		int64_t conv_shape[4] = {info->out_c, info->in_c, info->kernel[0], info->kernel[1]};
		int64_t fc_shape[2] = {info->out_c, (int64_t)fan_in}, bias_shape[1] = {info->out_c};
		if (l->weight->numel != fan_in * (uint64_t)info->out_c)
			cli_fail("'%s': tensor '%s' has %llu values, %s needs %llu", o->input,
			         l->weight->name, (unsigned long long)l->weight->numel, info->name,
			         (unsigned long long)(fan_in * (uint64_t)info->out_c));
		snprintf(what, sizeof what, "bias for %s", info->name);
		const vgg_set_tensor *b = need(l->bias, what, o->input);
		if (b->numel != (uint64_t)info->out_c)
			cli_fail("'%s': tensor '%s' has %llu values, %s needs %d", o->input, b->name,
			         (unsigned long long)b->numel, info->name, info->out_c);
		if (info->batch_norm && o->fold_bn) {
			/* Fold into copies: w' = w * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta. */
			float *w = malloc((size_t)l->weight->numel * sizeof *w);
			float *bb = malloc((size_t)info->out_c * sizeof *bb);
			if (!w || !bb)
				cli_fail("out of memory");
			for (int c = 0; c < info->out_c; c++) {
				double s = l->bn[0]->data[c] / sqrt(l->bn[3]->data[c] + 1e-5);
				for (uint64_t j = 0; j < fan_in; j++)
					w[(uint64_t)c * fan_in + j] = (float)(l->weight->data[(uint64_t)c * fan_in + j] * s);
				bb[c] = (float)((b->data[c] - l->bn[2]->data[c]) * s + l->bn[1]->data[c]);
			}
			snprintf(name, sizeof name, "%s.folded.weight", info->name);
			if (vgg_tensor_set_add(keep, name, 4, conv_shape, w, &err))
				cli_fail("%s", err.msg);
			snprintf(name, sizeof name, "%s.folded.bias", info->name);
			if (vgg_tensor_set_add(keep, name, 1, bias_shape, bb, &err))
				cli_fail("%s", err.msg);
			snprintf(name, sizeof name, "%s.weight", prefix);
			add_tensor(wr, name, vgg_tensor_set_at(keep, vgg_tensor_set_count(keep) - 2), 4,
			           conv_shape, o->input);
			snprintf(name, sizeof name, "%s.bias", prefix);
			add_tensor(wr, name, vgg_tensor_set_at(keep, vgg_tensor_set_count(keep) - 1), 1,
			           bias_shape, o->input);
			continue;
		}
		snprintf(name, sizeof name, "%s.weight", prefix);
		if (info->kind == VGG_LAYER_FC)
			add_tensor(wr, name, l->weight, 2, fc_shape, o->input);
		else
			add_tensor(wr, name, l->weight, 4, conv_shape, o->input);
		snprintf(name, sizeof name, "%s.bias", prefix);
		add_tensor(wr, name, b, 1, bias_shape, o->input);
		for (int p = 0; info->batch_norm && p < 4; p++) {
			snprintf(what, sizeof what, "batch norm %s for %s", BN_PARTS[p], info->name);
			const vgg_set_tensor *t = need(l->bn[p], what, o->input);
			if (t->numel != (uint64_t)info->out_c)
				cli_fail("'%s': tensor '%s' has %llu values, %s needs %d", o->input, t->name,
				         (unsigned long long)t->numel, info->name, info->out_c);
			snprintf(name, sizeof name, "%s.%s", bn_prefix, BN_PARTS[p]);
			add_tensor(wr, name, t, 1, bias_shape, o->input);
		}
	}
	if (k != net->count)
		cli_fail("'%s': %d weight layers found, the config has %d", o->input, net->count, k);
	vgg_layout_free(lay);
}

/* A text file (labels, a prototxt, WordNet ids) as a string. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		cli_fail("cannot open '%s': %s", path, strerror(errno));
	size_t len = 0, cap = 1 << 16;
	char *text = malloc(cap);
	for (;;) {
		if (!text)
			cli_fail("out of memory");
		len += fread(text + len, 1, cap - len - 1, f);
		if (len < cap - 1)
			break;
		if (cap > (1u << 26))
			cli_fail("'%s': too large for a text file (over 64 MiB)", path);
		text = realloc(text, cap *= 2);
	}
	fclose(f);
	text[len] = 0;
	return text;
}

/* A temporary name beside `path`, reserved on disk. */
static char *temp_beside(const char *path)
{
	char *tmp = malloc(strlen(path) + 16);
	if (!tmp)
		cli_fail("out of memory");
	sprintf(tmp, "%s.new.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		cli_fail("cannot write '%s': %s", path, strerror(errno));
	close(fd);
	return tmp;
}

static void replace(char *tmp, const char *path)
{
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		cli_fail("cannot write '%s': %s", path, strerror(e));
	}
	free(tmp);
}

/* Written beside OUTPUT and loaded as a net first: only a file vgg-predict takes replaces
 * whatever OUTPUT was. */
static void write_weights(vgg_weights_writer *wr, const struct options *o)
{
	vgg_error err;
	vgg_net *check;
	char *tmp = temp_beside(o->output);
	if (vgg_weights_writer_write(wr, tmp, &err)) {
		unlink(tmp);
		cli_fail("cannot write '%s': %s", o->output, err.msg);
	}
	if (vgg_net_load(tmp, &check, &err)) {
		unlink(tmp);
		cli_fail("'%s' does not convert to a usable net: %s", o->input, err.msg);
	}
	vgg_net_free(check);
	replace(tmp, o->output);
}

/* The .pth is read back by our own reader before it replaces OUTPUT. */
static void write_pytorch(vgg_weights_writer *wr, const struct options *o)
{
	vgg_error err;
	struct input back;
	vgg_tensor_set *set;
	char *tmp = temp_beside(o->output);
	if (vgg_weights_writer_write_torch(wr, tmp, &err)) {
		unlink(tmp);
		cli_fail("cannot write '%s': %s", o->output, err.msg);
	}
	read_input(tmp, &back);
	int rc = vgg_torch_read(back.data, back.size, tmp, &set, &err);
	vgg_tensor_set_free(set);
	munmap(back.data, back.size);
	if (rc) {
		unlink(tmp);
		cli_fail("'%s' does not read back: %s", o->output, err.msg);
	}
	replace(tmp, o->output);
}

static void set_meta(vgg_weights_writer *wr, const char *key, const char *value)
{
	vgg_error err;
	if (vgg_weights_writer_meta(wr, key, value, &err))
		cli_fail("%s", err.msg);
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct input in = {0};
	struct found_net net = {0};
	vgg_tensor_set *set = NULL;
	vgg_weights *own_weights = NULL;
	vgg_error err;
	cli_prog = "vgg-convert";
	parse_options(argc, argv, &o);
	read_input(o.input, &in);
	enum cli_file_kind kind = cli_file_kind(o.input);
	char *own_config = NULL;
	int own_ceil = 0, inferred_said = 0, darknet = 0;
	if (kind == CLI_FILE_WEIGHTS) {
		set = read_safetensors(o.input, &own_weights, &own_config, &own_ceil);
		net.format = own_config ? "vgg weights" : "safetensors";
		net.caffe = own_config != NULL;
	} else if (vgg_torch_detect(in.data, in.size)) {
		if (vgg_torch_read(in.data, in.size, o.input, &set, &err))
			cli_fail("%s", err.msg);
		net.format = "pytorch";
	} else if (vgg_caffe_detect(in.data, in.size)) {
		if (vgg_caffe_read(in.data, in.size, o.input, &set, &err))
			cli_fail("%s", err.msg);
		net.format = "caffe";
		net.caffe = 1;
	} else if (vgg_darknet_detect(in.data, in.size)) {
		/* Darknet names nothing: the layers come from --arch, in order. */
		vgg_config *arch;
		if (!o.arch)
			cli_fail("'%s': Darknet weights hold no layout: give --arch (such as vgg16)",
			         o.input);
		if (vgg_config_load(o.arch, &arch, &err))
			cli_fail("--arch: %s", err.msg);
		if (vgg_darknet_read(in.data, in.size, o.input, arch, &set, &err))
			cli_fail("%s", err.msg);
		if (!(own_config = vgg_config_to_text(arch)))
			cli_fail("out of memory");
		vgg_config_free(arch);
		net.format = "darknet";
		net.caffe = 1;
		darknet = 1;
	} else {
		cli_fail("'%s': not a PyTorch, Caffe, Darknet or safetensors weights file", o.input);
	}
	if (kind != CLI_FILE_WEIGHTS)
		prefault(in.data, in.size);
	if (o.darknet_labels && !darknet)
		cli_usage_error("--darknet-labels goes with Darknet weights");
	if (o.prototxt && strcmp(net.format, "caffe") != 0)
		cli_usage_error("--prototxt goes with Caffe weights");
	char **proto_names = NULL;
	size_t proto_count = 0;
	if (o.prototxt) {
		char *text = read_text(o.prototxt);
		if (vgg_caffe_prototxt(text, o.prototxt, &own_config, &proto_names, &proto_count,
		                       &err))
			cli_fail("%s", err.msg);
		free(text);
	}
	if (o.darknet_labels) {
		char *wnids = read_text(o.darknet_labels), last[32] = "";
		for (size_t i = 0; i < vgg_tensor_set_count(set); i++) {
			const char *n = vgg_tensor_set_at(set, i)->name;
			if (strncmp(n, "fc", 2) == 0 && strlen(n) < sizeof last)
				snprintf(last, sizeof last, "%.*s", (int)strcspn(n, "."), n);
		}
		if (vgg_darknet_permute_classes(set, last, wnids, &err))
			cli_fail("'%s': %s", o.darknet_labels, err.msg);
		free(wnids);
	}
	if (proto_names) {
		vgg_config *proto;
		if (vgg_config_parse(own_config, o.prototxt, &proto, &err))
			cli_fail("'%s': %s", o.prototxt, err.msg);
		map_named(set, proto_names, proto_count, proto, o.input, &net);
		vgg_config_free(proto);
		for (size_t i = 0; i < proto_count; i++)
			free(proto_names[i]);
		free(proto_names);
	} else if (net.caffe) {
		map_caffe(set, o.input, &net);
	} else {
		map_torchvision(set, o.input, &net);
	}

	char *inferred = own_config ? own_config : infer_config(&net, o.input);
	vgg_config *cfg;
	const char *name = known_name(inferred);
	if (own_config && (!o.arch || darknet)) {
		if (vgg_config_parse(own_config, "vgg.config", &cfg, &err))
			cli_fail("'%s': %s", o.input, err.msg);
		vgg_config_set_pool_ceil(cfg, own_ceil);
	} else if (o.arch) {
		if (vgg_config_load(o.arch, &cfg, &err))
			cli_fail("--arch: %s", err.msg);
		int classes = net.count && net.layers[net.count - 1].fc
		              ? (int)net.layers[net.count - 1].weight->shape[0] : 0;
		if (classes && vgg_config_classes(cfg) && vgg_config_set_classes(cfg, classes, &err))
			cli_fail("--arch: %s", err.msg);
		name = vgg_config_name(cfg);
	} else {
		if (vgg_config_parse(inferred, "inferred", &cfg, &err))
			cli_fail("'%s': the tensors describe no valid network: %s", o.input, err.msg);
		inferred_said = 1;
	}
	/* Caffe and Darknet round pooled sizes up; PyTorch, down. */
	int pool_ceil = own_ceil || darknet || strcmp(net.format, "caffe") == 0;
	vgg_config_set_pool_ceil(cfg, pool_ceil);
	vgg_weights_writer *wr = vgg_weights_writer_new();
	vgg_tensor_set *keep = vgg_tensor_set_new();
	if (!wr || !keep)
		cli_fail("out of memory");
	add_weights(wr, &net, cfg, &o, keep);

	char *text = vgg_config_to_text(cfg);
	if (!text)
		cli_fail("out of memory");
	/* Folded batch norm leaves plain convs, and the config must say so. */
	if (o.fold_bn)
		for (char *p = text; (p = strstr(p, " BN")); )
			memmove(p, p + 3, strlen(p + 3) + 1);
	set_meta(wr, "vgg.config", text);
	set_meta(wr, "vgg.name", name ? name : "custom");
	char source[600];
	snprintf(source, sizeof source, "vgg-convert %s from %s (%s)", VGG_VERSION, o.input,
	         net.format);
	set_meta(wr, "vgg.source", source);
	if (strcmp(net.format, "caffe") == 0) {
		set_meta(wr, "vgg.order", "BGR");
		set_meta(wr, "vgg.scale", "1");
		set_meta(wr, "vgg.mean", o.mean ? o.mean : "103.939,116.779,123.68");
		set_meta(wr, "vgg.std", "1,1,1");
		set_meta(wr, "vgg.resize_filter", "cv-linear");
	}
	if (pool_ceil)
		set_meta(wr, "vgg.pool_round", "ceil");
	if (darknet) {
		/* Darknet's classifiers take RGB values scaled to 0..1, nothing subtracted. */
		set_meta(wr, "vgg.mean", "0,0,0");
		set_meta(wr, "vgg.std", "1,1,1");
	}
	char *labels = o.labels ? read_text(o.labels) : NULL;
	if (labels)
		set_meta(wr, "vgg.labels", labels);
	else if (vgg_config_classes(cfg) == 1000)
		set_meta(wr, "vgg.label_list", "imagenet");
	free(labels);
	free(text);
	if (o.to == TO_NPY) {
		if (vgg_weights_writer_write_npy_dir(wr, o.output, &err))
			cli_fail("%s", err.msg);
	} else if (o.to == TO_PYTORCH) {
		write_pytorch(wr, &o);
	} else {
		write_weights(wr, &o);
	}
	/* Said once the output is written, so that a failure's one line stands alone. */
	if (inferred_said)
		fprintf(stderr, "%s: '%s' (%s) holds %s\n", cli_prog, o.input, net.format,
		        name ? name : "a custom VGG: see vgg-inspect of the output");
	vgg_weights_writer_free(wr);
	vgg_tensor_set_free(keep);
	/* The set points into the input, so the input goes last. */
	vgg_tensor_set_free(set);
	vgg_weights_free(own_weights);
	if (in.size)
		munmap(in.data, in.size);
	vgg_config_free(cfg);
	free(inferred);
	return 0;
}
