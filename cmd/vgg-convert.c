/*
 * vgg-convert: weights from Caffe, PyTorch and the model hubs in, our weights file out.
 * The flow: read the input whole (mapped, or from a pipe); tell its format by its first
 * bytes; read it into a set of named tensors; map those names onto Caffe's layer names,
 * inferring the network from the tensors' names and shapes; write our file with its config,
 * preprocessing and labels; load it back as a net, so that nothing is written (to a file
 * or to stdout) that vgg-predict would refuse.
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
	       "Darknet .weights (which hold no layout: give --arch).  INPUT '-' reads stdin.\n"
	       "\n"
	       "  -o, --output FILE     the weights file to write (required); '-' writes it to\n"
	       "                        stdout once it is whole and loads as a net\n"
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
	if (strcmp(o->output, "-") == 0 && o->to == TO_NPY)
		cli_usage_error("--to npy writes a directory: -o - cannot be one");
	if (strcmp(o->output, "-") == 0 && isatty(STDOUT_FILENO))
		cli_usage_error("-o - writes a binary file: give a pipe or -o FILE");
	o->input = argv[optind];
	if (o->mean) {
		float m[3];
		char extra;
		if (sscanf(o->mean, "%f,%f,%f%c", &m[0], &m[1], &m[2], &extra) != 3)
			cli_usage_error("--mean '%s': expected three numbers B,G,R", o->mean);
	}
}

/* ---- The input, whole ---- */

/*
 * How the input's batch norm divides x - mean: by sqrt(var + eps), as PyTorch and our
 * files do, or by sqrt(var) + eps, as Darknet does with eps 1e-6 (its normalize_cpu).
 */
struct bn_rule {
	const char *eps_text;         /* eps as the input gives it */
	double eps;
	int darknet;
};

struct input {
	void *data;
	size_t size;
	int mapped;   /* else malloc'd: stdin */
};

enum format { FORMAT_PYTORCH, FORMAT_CAFFE, FORMAT_DARKNET, FORMAT_SAFETENSORS, FORMAT_OURS };
static const char *const FORMAT_NAMES[] = {"pytorch", "caffe", "darknet", "safetensors",
                                           "vgg weights"};

/* The input read: its tensors, and what it says of its network. */
struct source {
	enum format format;
	struct input in;
	vgg_weights *weights;         /* a safetensors input, mapped by the library */
	vgg_tensor_set *set;          /* may point into `in` or `weights` */
	char *config;                 /* the network as ours, Darknet's --arch or a prototxt
	                                 give it, else NULL */
	int pool_ceil;                /* our file's vgg.pool_round */
	struct bn_rule bn;
	char **proto_names;           /* the prototxt's weight layers, in order */
	size_t proto_count;
};

/* A file mapped, or stdin read whole: a pipe cannot be mapped, and the zip form of a .pth
 * needs its end (the central directory) before anything else. */
static void read_input(const char *path, struct input *in)
{
	vgg_error err;
	if (strcmp(path, "-") == 0) {
		if (vgg_read_stream(stdin, "-", CLI_MAX_STREAM, &in->data, &in->size, &err))
			cli_fail("%s", err.msg);
		in->mapped = 0;
		return;
	}
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
	in->mapped = 1;
	close(fd);
}

static void release_input(struct input *in)
{
	if (!in->mapped)
		free(in->data);
	else if (in->size)
		munmap(in->data, in->size);
	in->data = NULL;
	in->size = 0;
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

/* A safetensors file, its names kept: ours (with vgg.config) or a hub's. */
static void read_safetensors(const char *path, struct source *src)
{
	vgg_error err;
	struct input *in = &src->in;
	int rc;
	if (in->mapped) {
		rc = vgg_weights_open(path, &src->weights, &err);
	} else {
		/* Stdin's bytes are handed over to the weights. */
		rc = vgg_weights_from_memory(in->data, in->size, path, &src->weights, &err);
		in->data = NULL;
		in->size = 0;
	}
	if (rc)
		cli_fail("%s", err.msg);
	const vgg_weights *w = src->weights;
	const char *text = vgg_weights_meta(w, "vgg.config");
	const char *round = vgg_weights_meta(w, "vgg.pool_round");
	const char *eps = vgg_weights_meta(w, "vgg.bn_eps");
	if (text && !(src->config = strdup(text)))
		cli_fail("out of memory");
	src->format = text ? FORMAT_OURS : FORMAT_SAFETENSORS;
	src->pool_ceil = round && strcmp(round, "ceil") == 0;
	if (eps) {
		char *end;
		src->bn.eps = strtod(eps, &end);
		if (end == eps || *end || !(src->bn.eps >= 0))
			cli_fail("'%s': vgg.bn_eps '%.40s' is not a number of 0 or more", path, eps);
		src->bn.eps_text = eps;
	}
	if (!(src->set = vgg_tensor_set_new()))
		cli_fail("out of memory");
	const unsigned char *first = NULL, *end = NULL;
	for (size_t i = 0; i < vgg_weights_count(w); i++) {
		const vgg_tensor_info *t = vgg_weights_tensor(w, i);
		const unsigned char *p = t->data;
		first = !first || p < first ? p : first;
		end = p + t->nbytes > end ? p + t->nbytes : end;
	}
	prefault(first, (size_t)(end - first));
	for (size_t i = 0; i < vgg_weights_count(w); i++) {
		const vgg_tensor_info *t = vgg_weights_tensor(w, i);
		float *data = NULL;
		if (!vgg_dtype_is_float(t->dtype))
			continue;
		if (t->dtype != VGG_DTYPE_F32) {
			if (!(data = malloc(t->numel ? (size_t)t->numel * sizeof *data : 1)))
				cli_fail("out of memory reading '%s'", path);
			vgg_tensor_to_float(t, data);
		}
		if (data ? vgg_tensor_set_add(src->set, t->name, t->ndim, t->shape, data, &err)
		         : vgg_tensor_set_borrow(src->set, t->name, t->ndim, t->shape, t->data, &err))
			cli_fail("'%s': %s", path, err.msg);
	}
}

/* The input, its format told by its content. */
static void read_source(const struct options *o, struct source *src)
{
	vgg_error err;
	struct input *in = &src->in;
	src->bn = (struct bn_rule){"1e-5", 1e-5, 0};
	read_input(o->input, in);
	if (cli_data_kind(in->data, in->size) == CLI_FILE_WEIGHTS) {
		read_safetensors(o->input, src);
		return;
	}
	if (vgg_torch_detect(in->data, in->size)) {
		src->format = FORMAT_PYTORCH;
		if (vgg_torch_read(in->data, in->size, o->input, &src->set, &err))
			cli_fail("%s", err.msg);
	} else if (vgg_caffe_detect(in->data, in->size)) {
		src->format = FORMAT_CAFFE;
		if (vgg_caffe_read(in->data, in->size, o->input, &src->set, &err))
			cli_fail("%s", err.msg);
	} else if (vgg_darknet_detect(in->data, in->size)) {
		/* Darknet names nothing: the layers come from --arch, in order. */
		vgg_config *arch;
		src->format = FORMAT_DARKNET;
		src->bn = (struct bn_rule){"1e-6", 1e-6, 1};
		if (!o->arch)
			cli_fail("'%s': Darknet weights hold no layout: give --arch (such as vgg16)",
			         o->input);
		if (vgg_config_load(o->arch, &arch, &err))
			cli_fail("--arch: %s", err.msg);
		if (vgg_darknet_read(in->data, in->size, o->input, arch, &src->set, &err))
			cli_fail("%s", err.msg);
		if (!(src->config = vgg_config_to_text(arch)))
			cli_fail("out of memory");
		vgg_config_free(arch);
	} else {
		cli_fail("'%s': not a PyTorch, Caffe, Darknet or safetensors weights file", o->input);
	}
	prefault(in->data, in->size);
}

/* The options that go with one input format only, and what they bring. */
static void apply_format_options(const struct options *o, struct source *src)
{
	vgg_error err;
	if (o->darknet_labels && src->format != FORMAT_DARKNET)
		cli_usage_error("--darknet-labels goes with Darknet weights");
	if (o->prototxt && src->format != FORMAT_CAFFE)
		cli_usage_error("--prototxt goes with Caffe weights");
	if (o->mean && src->format != FORMAT_CAFFE)
		cli_usage_error("--mean goes with Caffe weights");
	if (o->prototxt) {
		char *text = cli_read_text(o->prototxt);
		if (vgg_caffe_prototxt(text, o->prototxt, &src->config, &src->proto_names,
		                       &src->proto_count, &err))
			cli_fail("%s", err.msg);
		free(text);
	}
	if (o->darknet_labels) {
		char *wnids = cli_read_text(o->darknet_labels), last[32] = "";
		for (size_t i = 0; i < vgg_tensor_set_count(src->set); i++) {
			const char *n = vgg_tensor_set_at(src->set, i)->name;
			if (strncmp(n, "fc", 2) == 0 && strlen(n) < sizeof last)
				snprintf(last, sizeof last, "%.*s", (int)strcspn(n, "."), n);
		}
		if (vgg_darknet_permute_classes(src->set, last, wnids, &err))
			cli_fail("'%s': %s", o->darknet_labels, err.msg);
		free(wnids);
	}
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
		if (w->ndim != 4)
			cli_fail("'%s': tensor '%s' has %d dims: a conv's weights have 4 [O,C,K,K]",
			         input, w->name, w->ndim);
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

static double bn_denominator(struct bn_rule bn, double var)
{
	return bn.darknet ? sqrt(var) + bn.eps : sqrt(var + bn.eps);
}

/* The eps of the output's batch norm: torchvision's fixed 1e-5 in a .pth and, lacking a
 * place to say otherwise, in .npy files; in our files the input's, or for Darknet's rule
 * 0, which makes its denominators exact. */
static struct bn_rule output_bn(struct bn_rule in, enum target to)
{
	if (to != TO_WEIGHTS)
		return (struct bn_rule){"1e-5", 1e-5, 0};
	return in.darknet ? (struct bn_rule){"0", 0, 0} : in;
}

/* A new tensor of `keep`, for the writer to take from. */
static const vgg_set_tensor *keep_tensor(vgg_tensor_set *keep, const char *name, int ndim,
                                         const int64_t *shape, float *data)
{
	vgg_error err;
	if (vgg_tensor_set_add(keep, name, ndim, shape, data, &err))
		cli_fail("%s", err.msg);
	return vgg_tensor_set_at(keep, vgg_tensor_set_count(keep) - 1);
}

/* The variances under `out`'s rule that give the denominators `in`'s gives `var`.  With
 * torchvision's eps of 1e-5, Darknet's smallest variances become negative: var + eps is
 * still their squared denominator, to float32's precision of numbers near 1e-5. */
static float *convert_variance(const vgg_set_tensor *var, struct bn_rule in,
                               struct bn_rule out)
{
	float *v = malloc((size_t)var->numel * sizeof *v);
	if (!v)
		cli_fail("out of memory");
	for (uint64_t c = 0; c < var->numel; c++) {
		double d = bn_denominator(in, var->data[c]);
		v[c] = (float)(d * d - out.eps);
	}
	return v;
}

static void add_tensor(vgg_weights_writer *wr, const char *name, const vgg_set_tensor *t,
                       int ndim, const int64_t *shape, const char *input)
{
	vgg_error err;
	if (vgg_weights_writer_add(wr, name, ndim, shape, t->data, &err))
		cli_fail("'%s': %s", input, err.msg);
}

static void dims_text(char *buf, size_t size, int ndim, const int64_t *dims)
{
	size_t n = (size_t)snprintf(buf, size, "[");
	for (int i = 0; i < ndim && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? "," : "", (long long)dims[i]);
	if (n < size)
		snprintf(buf + n, size - n, "]");
}

/* Tensor `t`, which `layer` needs as `what` with dims `dims` (or `alt`, when alt_ndim is not
 * 0); a missing one, or one of other dims, is an error that names it. */
static const vgg_set_tensor *need(const vgg_set_tensor *t, const char *what, const char *layer,
                                  int ndim, const int64_t *dims, int alt_ndim,
                                  const int64_t *alt, const char *input)
{
	char want[128], got[128];
	if (!t)
		cli_fail("'%s': no %s for %s", input, what, layer);
	int fits = t->ndim == ndim && memcmp(t->shape, dims, (size_t)ndim * sizeof *dims) == 0;
	fits |= alt_ndim && t->ndim == alt_ndim &&
	        memcmp(t->shape, alt, (size_t)alt_ndim * sizeof *alt) == 0;
	if (!fits) {
		dims_text(got, sizeof got, t->ndim, t->shape);
		dims_text(want, sizeof want, ndim, dims);
		cli_fail("'%s': tensor '%s' is %s, %s needs %s", input, t->name, got, layer, want);
	}
	return t;
}

/*
 * Writes every found layer's tensors under the names of the output: ours, as the layout of
 * `cfg` names them, or torchvision's, whose `features` index counts conv, batch norm, ReLU
 * and pool modules and whose classifier puts ReLU and dropout between the FC layers.
 */
static void add_weights(vgg_weights_writer *wr, const struct found_net *net, struct bn_rule bn_in,
                        vgg_config *cfg, const struct options *o, vgg_tensor_set *keep)
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
			cli_fail("'%s': no weights for %s: %d weight layers found, the config has more",
			         o->input, info->name, net->count);
		const struct found *l = &net->layers[k++];
		char name[64], what[96];
		uint64_t fan_in = (uint64_t)info->in_c * (uint64_t)info->kernel[0] *
		                  (uint64_t)info->kernel[1];
		int64_t conv_shape[4] = {info->out_c, info->in_c, info->kernel[0], info->kernel[1]};
		int64_t fc_shape[2] = {info->out_c, (int64_t)fan_in}, bias_shape[1] = {info->out_c};
		/* FC weights come flat, or as the conv they are in dense evaluation (timm's fc6). */
		const vgg_set_tensor *w = info->kind == VGG_LAYER_FC
			? need(l->weight, "weights", info->name, 2, fc_shape, 4, conv_shape, o->input)
			: need(l->weight, "weights", info->name, 4, conv_shape, 0, NULL, o->input);
		const vgg_set_tensor *b = need(l->bias, "bias", info->name, 1, bias_shape, 0, NULL,
		                               o->input);
		const vgg_set_tensor *bn[4] = {0};
		for (int p = 0; info->batch_norm && p < 4; p++) {
			snprintf(what, sizeof what, "batch norm %s", BN_PARTS[p]);
			bn[p] = need(l->bn[p], what, info->name, 1, bias_shape, 0, NULL, o->input);
		}
		if (info->batch_norm && o->fold_bn) {
			/* w' = w * g / d, b' = (b - m) * g / d + beta, with d the input's denominator. */
			float *fw = malloc((size_t)w->numel * sizeof *fw);
			float *fb = malloc((size_t)info->out_c * sizeof *fb);
			if (!fw || !fb)
				cli_fail("out of memory");
			for (int c = 0; c < info->out_c; c++) {
				double s = bn[0]->data[c] / bn_denominator(bn_in, bn[3]->data[c]);
				for (uint64_t j = 0; j < fan_in; j++)
					fw[(uint64_t)c * fan_in + j] = (float)(w->data[(uint64_t)c * fan_in + j] * s);
				fb[c] = (float)((b->data[c] - bn[2]->data[c]) * s + bn[1]->data[c]);
			}
			snprintf(name, sizeof name, "%s.folded.weight", info->name);
			w = keep_tensor(keep, name, 4, conv_shape, fw);
			snprintf(name, sizeof name, "%s.folded.bias", info->name);
			b = keep_tensor(keep, name, 1, bias_shape, fb);
		}
		snprintf(name, sizeof name, "%s.weight", prefix);
		if (info->kind == VGG_LAYER_FC)
			add_tensor(wr, name, w, 2, fc_shape, o->input);
		else
			add_tensor(wr, name, w, 4, conv_shape, o->input);
		snprintf(name, sizeof name, "%s.bias", prefix);
		add_tensor(wr, name, b, 1, bias_shape, o->input);
		if (!keep_bn)
			continue;
		struct bn_rule out = output_bn(bn_in, o->to);
		if (bn_in.darknet || out.eps != bn_in.eps) {
			snprintf(name, sizeof name, "%s.converted.running_var", info->name);
			bn[3] = keep_tensor(keep, name, 1, bias_shape,
			                    convert_variance(bn[3], bn_in, out));
		}
		for (int p = 0; p < 4; p++) {
			snprintf(name, sizeof name, "%s.%s", bn_prefix, BN_PARTS[p]);
			add_tensor(wr, name, bn[p], 1, bias_shape, o->input);
		}
	}
	if (k != net->count)
		cli_fail("'%s': tensor '%s' is left over: %d weight layers found, the config has %d",
		         o->input, net->layers[k].weight->name, net->count, k);
	vgg_layout_free(lay);
}

/* A temporary name beside `path`, reserved on disk; for stdout ('-'), in $TMPDIR. */
static char *temp_beside(const char *path)
{
	const char *dir = getenv("TMPDIR");
	dir = dir && *dir ? dir : "/tmp";
	char *tmp = malloc(strlen(path) + strlen(dir) + 32);
	if (!tmp)
		cli_fail("out of memory");
	if (strcmp(path, "-") == 0)
		sprintf(tmp, "%s/vgg-convert.XXXXXX", dir);
	else
		sprintf(tmp, "%s.new.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		cli_fail("cannot write '%s': %s", strcmp(path, "-") == 0 ? tmp : path, strerror(errno));
	close(fd);
	return tmp;
}

/* A temporary file given up on a failure, before the message that ends the program. */
static void discard(char *tmp)
{
	unlink(tmp);
	free(tmp);
}

/* The checked file copied to stdout, and removed first so that nothing is left behind. */
static void copy_to_stdout(char *tmp)
{
	FILE *f = fopen(tmp, "rb");
	int e = errno;
	unlink(tmp);
	if (!f)
		cli_fail("cannot read back '%s': %s", tmp, strerror(e));
	static char buf[1 << 16];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		if (fwrite(buf, 1, n, stdout) != n)
			break;
	int bad = ferror(f);
	fclose(f);
	if (bad)
		cli_fail("cannot read back '%s'", tmp);
	free(tmp);
	if (fflush(stdout) != 0 || ferror(stdout))
		cli_fail("write error on stdout: %s", strerror(errno));
}

static void replace(char *tmp, const char *path)
{
	if (strcmp(path, "-") == 0) {
		copy_to_stdout(tmp);
		return;
	}
	if (rename(tmp, path) != 0) {
		int e = errno;
		discard(tmp);
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
		discard(tmp);
		cli_fail("cannot write '%s': %s", o->output, err.msg);
	}
	if (vgg_net_load(tmp, &check, &err)) {
		discard(tmp);
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
		discard(tmp);
		cli_fail("cannot write '%s': %s", o->output, err.msg);
	}
	read_input(tmp, &back);
	int rc = vgg_torch_read(back.data, back.size, tmp, &set, &err);
	vgg_tensor_set_free(set);
	release_input(&back);
	if (rc) {
		discard(tmp);
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

/* The conv and FC layers of the input: by a prototxt's names, Caffe's (which are ours and
 * those the Darknet reader gives), or torchvision's and timm's. */
static void find_layers(const struct options *o, const struct source *src,
                        struct found_net *net)
{
	vgg_config *proto;
	vgg_error err;
	if (src->proto_names) {
		if (vgg_config_parse(src->config, o->prototxt, &proto, &err))
			cli_fail("'%s': %s", o->prototxt, err.msg);
		map_named(src->set, src->proto_names, src->proto_count, proto, o->input, net);
		vgg_config_free(proto);
	} else if (src->format == FORMAT_CAFFE || src->format == FORMAT_DARKNET ||
	           src->format == FORMAT_OURS) {
		map_caffe(src->set, o->input, net);
	} else {
		map_torchvision(src->set, o->input, net);
	}
}

/*
 * The network: the one the input gives (ours, Darknet's --arch, a prototxt's), else
 * --arch's with as many classes as the weights have, else the one the tensors describe.
 * *name gets its built-in name or NULL, *inferred whether the tensors told it.
 */
static vgg_config *choose_config(const struct options *o, const struct source *src,
                                 const struct found_net *net, const char **name,
                                 int *inferred)
{
	vgg_config *cfg;
	vgg_error err;
	*inferred = 0;
	if (src->config && (!o->arch || src->format == FORMAT_DARKNET)) {
		if (vgg_config_parse(src->config, "vgg.config", &cfg, &err))
			cli_fail("'%s': %s", o->input, err.msg);
		*name = known_name(src->config);
	} else if (o->arch) {
		if (vgg_config_load(o->arch, &cfg, &err))
			cli_fail("--arch: %s", err.msg);
		const struct found *last = net->count ? &net->layers[net->count - 1] : NULL;
		int classes = last && last->fc ? (int)last->weight->shape[0] : 0;
		if (classes && vgg_config_classes(cfg) && vgg_config_set_classes(cfg, classes, &err))
			cli_fail("--arch: %s", err.msg);
		*name = vgg_config_name(cfg);
	} else {
		char *text = infer_config(net, o->input);
		if (vgg_config_parse(text, "inferred", &cfg, &err))
			cli_fail("'%s': the tensors describe no valid network: %s", o->input, err.msg);
		*name = known_name(text);
		*inferred = 1;
		free(text);
	}
	/* Caffe and Darknet round pooled sizes up; PyTorch, down. */
	vgg_config_set_pool_ceil(cfg, src->pool_ceil || src->format == FORMAT_CAFFE ||
	                              src->format == FORMAT_DARKNET);
	return cfg;
}

/* Keys of our metadata that a conversion writes anew rather than keeps from its input. */
static int written_anew(const char *key, const struct options *o)
{
	static const char *const keys[] = {"vgg.config", "vgg.name", "vgg.source",
	                                   "vgg.pool_round", "vgg.bn_eps"};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		if (strcmp(key, keys[i]) == 0)
			return 1;
	return o->labels && (strcmp(key, "vgg.labels") == 0 || strcmp(key, "vgg.label_list") == 0);
}

/* The output's metadata: the network, where it came from, and the input's preprocessing
 * and labels; our own file as input keeps what it says of itself. */
static void set_metadata(vgg_weights_writer *wr, const struct options *o,
                         const struct source *src, const vgg_config *cfg, const char *name)
{
	int have_labels = 0;
	for (size_t i = 0; src->format == FORMAT_OURS && i < vgg_weights_meta_count(src->weights);
	     i++) {
		const char *key, *value;
		vgg_weights_meta_at(src->weights, i, &key, &value);
		if (!written_anew(key, o))
			set_meta(wr, key, value);
		have_labels |= strcmp(key, "vgg.labels") == 0 || strcmp(key, "vgg.label_list") == 0;
	}
	char *text = vgg_config_to_text(cfg);
	if (!text)
		cli_fail("out of memory");
	if (strstr(text, " BN") && !o->fold_bn)
		set_meta(wr, "vgg.bn_eps", output_bn(src->bn, o->to).eps_text);
	/* Folded batch norm leaves plain convs, and the config must say so. */
	if (o->fold_bn)
		for (char *p = text; (p = strstr(p, " BN")); )
			memmove(p, p + 3, strlen(p + 3) + 1);
	set_meta(wr, "vgg.config", text);
	free(text);
	set_meta(wr, "vgg.name", name ? name : "custom");
	char source[600];
	snprintf(source, sizeof source, "vgg-convert %s from %s (%s)", VGG_VERSION,
	         strcmp(o->input, "-") == 0 ? "standard input" : o->input,
	         FORMAT_NAMES[src->format]);
	set_meta(wr, "vgg.source", source);
	if (src->format == FORMAT_CAFFE) {
		set_meta(wr, "vgg.order", "BGR");
		set_meta(wr, "vgg.scale", "1");
		set_meta(wr, "vgg.mean", o->mean ? o->mean : "103.939,116.779,123.68");
		set_meta(wr, "vgg.std", "1,1,1");
		set_meta(wr, "vgg.resize_filter", "cv-linear");
	}
	if (vgg_config_pool_ceil(cfg))
		set_meta(wr, "vgg.pool_round", "ceil");
	if (src->format == FORMAT_DARKNET) {
		/* Darknet's classifiers take RGB values scaled to 0..1, nothing subtracted. */
		set_meta(wr, "vgg.mean", "0,0,0");
		set_meta(wr, "vgg.std", "1,1,1");
	}
	char *labels = o->labels ? cli_read_text(o->labels) : NULL;
	if (labels)
		set_meta(wr, "vgg.labels", labels);
	else if (!have_labels && vgg_config_classes(cfg) == 1000)
		set_meta(wr, "vgg.label_list", "imagenet");
	free(labels);
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct source src = {0};
	struct found_net net = {0};
	const char *name;
	int inferred;
	vgg_error err;
	cli_prog = "vgg-convert";
	parse_options(argc, argv, &o);
	read_source(&o, &src);
	apply_format_options(&o, &src);
	find_layers(&o, &src, &net);
	vgg_config *cfg = choose_config(&o, &src, &net, &name, &inferred);

	vgg_weights_writer *wr = vgg_weights_writer_new();
	vgg_tensor_set *keep = vgg_tensor_set_new();
	if (!wr || !keep)
		cli_fail("out of memory");
	add_weights(wr, &net, src.bn, cfg, &o, keep);
	set_metadata(wr, &o, &src, cfg, name);
	if (o.to == TO_NPY) {
		if (vgg_weights_writer_write_npy_dir(wr, o.output, &err))
			cli_fail("%s", err.msg);
	} else if (o.to == TO_PYTORCH) {
		write_pytorch(wr, &o);
	} else {
		write_weights(wr, &o);
	}
	/* Said once the output is written, so that a failure's one line stands alone. */
	if (inferred)
		fprintf(stderr, "%s: '%s' (%s) holds %s\n", cli_prog, o.input,
		        FORMAT_NAMES[src.format], name ? name : "a custom VGG: see vgg-inspect of "
		        "the output");
	vgg_weights_writer_free(wr);
	vgg_tensor_set_free(keep);
	vgg_config_free(cfg);
	/* The set points into the input, so the input goes last. */
	vgg_tensor_set_free(src.set);
	vgg_weights_free(src.weights);
	release_input(&src.in);
	for (size_t i = 0; i < src.proto_count; i++)
		free(src.proto_names[i]);
	free(src.proto_names);
	free(src.config);
	return 0;
}
