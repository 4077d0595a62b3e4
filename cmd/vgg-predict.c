/*
 * vgg-predict: images in, top-k classes or a layer's activations out.
 * The flow: parse options; load every model; for each group of --batch images: decode,
 * preprocess for each model, scale and flip, run the nets, average the class posteriors
 * (paper section 3.2), print.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"

#define MAX_MODELS 16
#define MAX_SCALES 16
#define MAX_TAPS 32

static void usage(void)
{
	printf("Usage: vgg-predict -m WEIGHTS [OPTION]... [IMAGE]...\n"
	       "Classify JPEG, PNG and PNM images with a VGG net, or write layers' activations.\n"
	       "IMAGE '-' reads one image's bytes from stdin; with no IMAGE, image paths are read\n"
	       "from stdin, one per line, and results stream out as they come.\n"
	       "\n"
	       "  -m, --model WEIGHTS   a weights file (vgg-weights(5)); several make an ensemble\n"
	       "                        whose soft-max outputs are averaged; '-' reads one from\n"
	       "                        stdin (then images come as IMAGE paths)\n"
	       "  -k, --top N           print the N most probable classes [5]\n"
	       "  -j, --json            one JSON object per image and line\n"
	       "  -d, --dense           dense evaluation: the net runs fully-convolutionally over\n"
	       "                        the whole rescaled image and its class map is averaged\n"
	       "  -s, --scales Q,...    resize the shorter side to each Q and average the scores\n"
	       "                        [the weights' resize size, 256 for torchvision's]\n"
	       "  -f, --flip            also run the mirrored image and average\n"
	       "  -c, --crop MODE       center (crop the net's input size from the middle) or\n"
	       "                        none (the whole image; needs --dense) [center; none with\n"
	       "                        --dense]\n"
	       "  -b, --batch N         run N images through the net at once [1]\n"
	       "  -t, --threads N       threads for the forward pass [all cores]\n"
	       "  -F, --fast-decode     decode large JPEGs at 1/2, 1/4 or 1/8 size (libjpeg's DCT\n"
	       "                        scaling) while the shorter side stays at least twice the\n"
	       "                        resize: faster, no longer pixel-exact with torchvision\n"
	       "  -l, --layer NAME      write layer NAME's activations, one .npy array (CxHxW) per\n"
	       "                        image, to -o FILE or stdout: conv3_1, fc6 before the\n"
	       "                        ReLU, relu3_1, relu6 after it (Caffe's names), pool5 ...;\n"
	       "                        repeat it for several layers, written in the order given\n"
	       "  -o, --output FILE     where --layer writes (written whole, then renamed); a %%s\n"
	       "                        in FILE makes one file per layer, named for it\n"
	       "      --from NAME       read a .npy stream of NAME's activations (from the IMAGE\n"
	       "                        files, or stdin) and run the rest of the net; NAME data\n"
	       "                        takes preprocessed input tensors\n"
	       "      --profile         at the end, print each layer's time per pass, GFLOP/s\n"
	       "                        and share of the total to stderr (per model)\n"
	       "  -h, --help            show this help and exit\n"
	       "  -V, --version         show the version and exit\n"
	       "\n"
	       "Output: one line per image: the path, then N fields index:probability:label,\n"
	       "tab-separated.  Exit status: 0 success, 1 an image or model failed, 2 usage error.\n"
	       "See vgg-predict(1).\n");
}

enum crop { CROP_DEFAULT, CROP_CENTER, CROP_NONE };

struct options {
	const char *models[MAX_MODELS];
	int nmodels;
	int top, json, dense, flip, batch, threads, fast_decode;
	int scales[MAX_SCALES], nscales;
	enum crop crop;
	const char *layers[MAX_TAPS];
	int nlayers;
	const char *from, *output;
	int per_layer;        /* -o FILE names one file per layer with its %s */
	int profile;
	int model_on_stdin;   /* -m - */
	char **inputs;
	int ninputs;
};

static void parse_scales(const char *s, struct options *o)
{
	const char *p = s;
	o->nscales = 0;
	while (*p) {
		char *end;
		errno = 0;
		long q = strtol(p, &end, 10);
		if (end == p || errno || q < 1 || q > 65536 || o->nscales == MAX_SCALES ||
		    (*end && *end != ','))
			cli_usage_error("--scales '%s': expected up to %d sizes like 256,384,512", s,
			                MAX_SCALES);
		o->scales[o->nscales++] = (int)q;
		p = end;
		if (*p == ',' && !*++p)
			cli_usage_error("--scales '%s': expected up to %d sizes like 256,384,512", s,
			                MAX_SCALES);
	}
	if (!o->nscales)
		cli_usage_error("--scales '%s': expected up to %d sizes like 256,384,512", s,
		                MAX_SCALES);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_FROM = 256, OPT_PROFILE };
	static const struct option longs[] = {
		{"model", required_argument, 0, 'm'},  {"top", required_argument, 0, 'k'},
		{"json", no_argument, 0, 'j'},         {"dense", no_argument, 0, 'd'},
		{"scales", required_argument, 0, 's'}, {"flip", no_argument, 0, 'f'},
		{"crop", required_argument, 0, 'c'},   {"batch", required_argument, 0, 'b'},
		{"threads", required_argument, 0, 't'}, {"layer", required_argument, 0, 'l'},
		{"fast-decode", no_argument, 0, 'F'},
		{"output", required_argument, 0, 'o'}, {"from", required_argument, 0, OPT_FROM},
		{"profile", no_argument, 0, OPT_PROFILE},
		{"help", no_argument, 0, 'h'},         {"version", no_argument, 0, 'V'},
		{0, 0, 0, 0}
	};
	int c;
	o->top = 5;
	o->batch = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:k:jds:fc:b:t:l:o:FhV", longs, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (o->nmodels == MAX_MODELS)
				cli_usage_error("at most %d models", MAX_MODELS);
			o->models[o->nmodels++] = optarg;
			break;
		case 'k': o->top = (int)cli_parse_long("--top", optarg, 1, 1000000); break;
		case 'j': o->json = 1; break;
		case 'd': o->dense = 1; break;
		case 's': parse_scales(optarg, o); break;
		case 'f': o->flip = 1; break;
		case 'c':
			if (strcmp(optarg, "center") == 0 || strcmp(optarg, "centre") == 0)
				o->crop = CROP_CENTER;
			else if (strcmp(optarg, "none") == 0)
				o->crop = CROP_NONE;
			else
				cli_usage_error("--crop '%s': expected center or none", optarg);
			break;
		case 'b': o->batch = (int)cli_parse_long("--batch", optarg, 1, 4096); break;
		case 't': o->threads = (int)cli_parse_long("--threads", optarg, 1, 1024); break;
		case 'l':
			if (o->nlayers == MAX_TAPS)
				cli_usage_error("at most %d layers", MAX_TAPS);
			for (int i = 0; i < o->nlayers; i++)
				if (strcasecmp(o->layers[i], optarg) == 0)
					cli_usage_error("--layer '%s' is given twice", optarg);
			o->layers[o->nlayers++] = optarg;
			break;
		case 'F': o->fast_decode = 1; break;
		case 'o': o->output = optarg; break;
		case OPT_FROM: o->from = optarg; break;
		case OPT_PROFILE: o->profile = 1; break;
		default: cli_common_option(c, argv, usage);
		}
	}
	o->inputs = argv + optind;
	o->ninputs = argc - optind;
	if (!o->nmodels)
		cli_usage_error("no model given (-m WEIGHTS)");
	if (o->crop == CROP_DEFAULT)
		o->crop = o->dense ? CROP_NONE : CROP_CENTER;
	if (o->crop == CROP_NONE && !o->dense)
		cli_usage_error("--crop none needs --dense: the FC layers take a fixed size");
	if ((o->nlayers || o->from) && (o->nmodels > 1 || o->nscales > 1 || o->flip))
		cli_usage_error("--layer and --from take one model, one scale and no --flip");
	if (o->output && !o->nlayers)
		cli_usage_error("--output goes with --layer");
	if (o->json && o->nlayers)
		cli_usage_error("--json describes classes; --layer writes .npy arrays");
	if (o->nlayers && !o->output && isatty(STDOUT_FILENO))
		cli_usage_error("--layer writes binary .npy: give -o FILE or a pipe");
	if (o->output) {
		const char *pct = strchr(o->output, '%');
		o->per_layer = pct != NULL;
		if (pct && (pct[1] != 's' || strchr(pct + 1, '%')))
			cli_usage_error("--output '%s': one %%s for the layer's name, no other %%",
			                o->output);
	}
	int dashes = 0;
	for (int i = 0; i < o->ninputs; i++)
		dashes += strcmp(o->inputs[i], "-") == 0;
	if (dashes > 1)
		cli_usage_error("'-' (an image on stdin) may be given once");
	for (int m = 0; m < o->nmodels; m++) {
		if (strcmp(o->models[m], "-") != 0)
			continue;
		if (o->model_on_stdin)
			cli_usage_error("-m - (weights on stdin) may be given once");
		o->model_on_stdin = 1;
	}
	/* Stdin holds one thing: the weights, or what the images would otherwise take. */
	if (o->model_on_stdin && dashes)
		cli_usage_error("-m - and %s '-' both read stdin", o->from ? "FILE" : "IMAGE");
	if (o->model_on_stdin && !o->ninputs)
		cli_usage_error("-m - reads the weights from stdin: give the %s as arguments",
		                o->from ? ".npy files" : "images");
}

/* ---- Per-image results ---- */

struct run {
	const struct options *o;
	vgg_net *nets[MAX_MODELS];
	int classes;
	vgg_tap taps[MAX_TAPS]; /* --layer's, in order */
	int from;             /* --from's index, or -1 */
	FILE *features[MAX_TAPS]; /* where each --layer writes */
	int largest_resize;   /* the largest shorter side any model or scale resizes to */
	int softmax[MAX_MODELS]; /* the model's last layer is soft-max */
};


struct item {
	char *name;
	vgg_image *img;
	char *error;          /* why it failed, or NULL */
	double *probs;        /* accumulated class posteriors */
	int passes;
};

/* Says at once on stderr what went wrong; --json's record waits for the item's turn. */
static void fail_item(struct item *it, const char *msg)
{
	fprintf(stderr, "%s: %s\n", cli_prog, msg);
	if (!it->error && !(it->error = strdup(msg)))
		cli_fail("out of memory");
}

static void print_error(const struct item *it)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "file", it->name);
	cJSON_AddStringToObject(doc, "error", it->error);
	cli_print_json_line(doc);
}

/* The posteriors print_item sorts by: qsort takes no context, so it lives here. */
static const double *sort_probs;

/* Most probable first; ties in index order, so output is the same run after run. */
static int compare_top(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	const double *p = sort_probs;
	return p[x] < p[y] ? 1 : p[x] > p[y] ? -1 : x - y;
}

static void print_item(const struct item *it, vgg_net *net, int classes, const struct run *r)
{
	const struct options *o = r->o;
	int *order = malloc((size_t)classes * sizeof *order);
	double *p = malloc((size_t)classes * sizeof *p);
	if (!order || !p)
		cli_fail("out of memory");
	for (int i = 0; i < classes; i++) {
		order[i] = i;
		p[i] = it->probs[i] / it->passes;
	}
	sort_probs = p;
	qsort(order, (size_t)classes, sizeof *order, compare_top);
	int k = o->top < classes ? o->top : classes;
	if (o->json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "file", it->name);
		cJSON *top = cJSON_AddArrayToObject(doc, "top");
		for (int i = 0; i < k; i++) {
			cJSON *e = cJSON_CreateObject();
			const char *label = vgg_net_label(net, order[i]);
			cJSON_AddNumberToObject(e, "index", order[i]);
			if (label)
				cJSON_AddStringToObject(e, "label", label);
			else
				cJSON_AddNullToObject(e, "label");
			cJSON_AddNumberToObject(e, "prob", p[order[i]]);
			cJSON_AddItemToArray(top, e);
		}
		cJSON *proto = cJSON_AddObjectToObject(doc, "protocol");
		cJSON_AddStringToObject(proto, "crop", o->crop == CROP_NONE ? "none" : "center");
		cJSON *scales = cJSON_AddArrayToObject(proto, "scales");
		for (int i = 0; i < o->nscales; i++)
			cJSON_AddItemToArray(scales, cJSON_CreateNumber(o->scales[i]));
		if (!o->nscales)
			cJSON_AddItemToArray(scales, cJSON_CreateNumber(vgg_net_preprocess(net)->resize));
		cJSON_AddBoolToObject(proto, "flip", o->flip);
		cJSON_AddBoolToObject(proto, "dense", o->dense);
		cJSON_AddNumberToObject(proto, "models", o->nmodels);
		cli_print_json_line(doc);
	} else {
		fputs(it->name, stdout);
		for (int i = 0; i < k; i++) {
			const char *label = vgg_net_label(net, order[i]);
			printf("\t%d:%.6f:%s", order[i], p[order[i]], label ? label : "");
		}
		putchar('\n');
	}
	free(order);
	free(p);
}

/* ---- Running the nets ---- */

/* The class posteriors of one output: soft-max'd unless the net ends in one, then
 * averaged over the positions of a dense map; added to acc. */
static void accumulate(const float *out, int c, int hw, int has_softmax, double *acc)
{
	double *pos = malloc((size_t)c * sizeof *pos);
	if (!pos)
		cli_fail("out of memory");
	for (int p = 0; p < hw; p++) {
		double max = -INFINITY, sum = 0;
		for (int k = 0; k < c; k++) {
			pos[k] = out[(size_t)k * (size_t)hw + (size_t)p];
			if (pos[k] > max)
				max = pos[k];
		}
		if (!has_softmax) {
			for (int k = 0; k < c; k++)
				sum += pos[k] = exp(pos[k] - max);
			for (int k = 0; k < c; k++)
				pos[k] /= sum;
		}
		for (int k = 0; k < c; k++)
			acc[k] += pos[k] / hw;
	}
	free(pos);
}

static void mirror(float *x, int c, int h, int w)
{
	for (size_t row = 0; row < (size_t)c * (size_t)h; row++) {
		float *r = x + row * (size_t)w;
		for (int a = 0, b = w - 1; a < b; a++, b--) {
			float t = r[a];
			r[a] = r[b];
			r[b] = t;
		}
	}
}

static int ends_in_softmax(const vgg_net *net)
{
	vgg_layout *lay;
	if (vgg_layout_new(vgg_net_config(net), 0, 0, 0, &lay, NULL))
		return 0;
	const vgg_layer_info *last = vgg_layout_layer(lay, vgg_layout_count(lay) - 1);
	int yes = last->kind == VGG_LAYER_SOFTMAX;
	vgg_layout_free(lay);
	return yes;
}

/* -o's temporary files, removed if the run ends early through cli_fail, and the names
 * they get (one, or one per layer with a %s in -o). */
static vgg_output *pending[MAX_TAPS];
static char *output_paths[MAX_TAPS];

/* A write of --layer k's output failed: nothing after it could be kept, so the run ends. */
static noreturn void output_failed(const struct run *r, int k, int errnum)
{
	if (r->features[k] == stdout)
		cli_stdout_failed(errnum);
	cli_fail("cannot write '%s': %s", output_paths[r->o->per_layer ? k : 0],
	         strerror(errnum));
}

/* Writes item i's CxHxW array of each tap, in the order of the --layer options. */
static void write_features(struct run *r, float **y, int (*shapes)[4], int i, struct item *it)
{
	vgg_error err;
	for (int k = 0; k < r->o->nlayers && !it->error; k++) {
		const int *shape = shapes[k];
		int64_t dims[3] = {shape[1], shape[2], shape[3]};
		size_t one = (size_t)shape[1] * (size_t)shape[2] * (size_t)shape[3];
		if (vgg_npy_write(r->features[k], 3, dims, y[k] + (size_t)i * one, &err))
			output_failed(r, k, errno);
	}
}

/*
 * One pass of model m over the items' tensors (all c x h x w): the forward pass, then the
 * posteriors or features of each.
 */
static void pass(struct run *r, int m, struct item **items, float **x, int n, int c, int h,
                 int w)
{
	vgg_error err;
	const float *y = NULL;
	int shape[4] = {0};
	size_t size = (size_t)c * (size_t)h * (size_t)w;
	const float *input = x[0];
	float *batch = NULL;
	if (n > 1) {
		if (!(batch = malloc(size * (size_t)n * sizeof *batch)))
			cli_fail("out of memory");
		for (int i = 0; i < n; i++)
			memcpy(batch + (size_t)i * size, x[i], size * sizeof *batch);
		input = batch;
	}
	float *taps[MAX_TAPS];
	int shapes[MAX_TAPS][4];
	int features = r->o->nlayers > 0;
	int rc = features
	         ? vgg_net_forward_taps(r->nets[m], input, n, c, h, w, r->o->dense, r->from, r->taps,
	                                (size_t)r->o->nlayers, taps, shapes, &err)
	         : vgg_net_forward(r->nets[m], input, n, c, h, w, r->o->dense, r->from, -1, &y,
	                           shape, &err);
	free(batch);
	for (int i = 0; i < n; i++) {
		if (rc) {
			char msg[700];
			snprintf(msg, sizeof msg, "'%s': %s", items[i]->name, err.msg);
			fail_item(items[i], msg);
		} else if (features) {
			write_features(r, taps, shapes, i, items[i]);
		} else {
			size_t one = (size_t)shape[1] * (size_t)shape[2] * (size_t)shape[3];
			accumulate(y + (size_t)i * one, shape[1], shape[2] * shape[3],
			           r->softmax[m], items[i]->probs);
			items[i]->passes++;
		}
	}
	for (int k = 0; features && !rc && k < r->o->nlayers; k++)
		free(taps[k]);
}

/* Preprocesses every live item for model m at scale q (0: the weights' own), mirrored or
 * not, and runs them: together when their sizes agree, else one by one. */
static void run_variant(struct run *r, int m, int q, int flip, struct item *items, int n)
{
	vgg_preprocess p = *vgg_net_preprocess(r->nets[m]);
	int channels, ih, iw;
	vgg_config_input(vgg_net_config(r->nets[m]), &channels, &ih, &iw);
	if (q)
		p.resize = q;
	if (r->o->crop == CROP_NONE)
		p.crop_h = p.crop_w = 0;
	else if (!p.crop_h)
		p.crop_h = ih, p.crop_w = iw;
	struct item **live = malloc((size_t)n * sizeof *live);
	float **x = malloc((size_t)n * sizeof *x);
	int *hs = malloc((size_t)n * sizeof *hs), *ws = malloc((size_t)n * sizeof *ws);
	if (!live || !x || !hs || !ws)
		cli_fail("out of memory");
	int k = 0;
	for (int i = 0; i < n; i++) {
		vgg_error err;
		if (items[i].error)
			continue;
		if (vgg_preprocess_image(&p, items[i].img, channels, &x[k], &hs[k], &ws[k], &err)) {
			char msg[700];
			snprintf(msg, sizeof msg, "'%s': %s", items[i].name, err.msg);
			fail_item(&items[i], msg);
			continue;
		}
		if (flip)
			mirror(x[k], channels, hs[k], ws[k]);
		live[k++] = &items[i];
	}
	int same = 1;
	for (int i = 1; i < k; i++)
		same &= hs[i] == hs[0] && ws[i] == ws[0];
	if (same && k > 0)
		pass(r, m, live, x, k, channels, hs[0], ws[0]);
	for (int i = 0; !same && i < k; i++)
		pass(r, m, &live[i], &x[i], 1, channels, hs[i], ws[i]);
	for (int i = 0; i < k; i++)
		free(x[i]);
	free(live);
	free(x);
	free(hs);
	free(ws);
}

/* An item's result, or its error record under --json. */
static void finish_item(struct run *r, const struct item *it)
{
	if (it->error && r->o->json)
		print_error(it);
	else if (!it->error && !r->o->nlayers)
		print_item(it, r->nets[0], r->classes, r);
}

/* Image bytes on stdin, for the IMAGE '-'; 2 GiB at most, as for any image. */
static int read_stdin_image(int min_side, vgg_image **img, vgg_error *err)
{
	void *buf;
	size_t len;
	int rc = vgg_read_stream(stdin, "-", (size_t)1 << 31, &buf, &len, err);
	if (rc)
		return rc;
	rc = vgg_image_decode(buf, len, "-", min_side, img, err);
	free(buf);
	return rc;
}

/* Decodes, runs and prints one group of images; returns the number that failed. */
static int run_group(struct run *r, char **names, int n)
{
	const struct options *o = r->o;
	struct item *items = calloc((size_t)n, sizeof *items);
	if (!items)
		cli_fail("out of memory");
	for (int i = 0; i < n; i++) {
		vgg_error err;
		items[i].name = names[i];
		items[i].probs = calloc((size_t)r->classes + 1, sizeof *items[i].probs);
		if (!items[i].probs)
			cli_fail("out of memory");
		int min_side = o->fast_decode ? 2 * r->largest_resize : 0;
		int rc = strcmp(names[i], "-") == 0
		         ? read_stdin_image(min_side, &items[i].img, &err)
		         : vgg_image_read(names[i], min_side, &items[i].img, &err);
		if (rc)
			fail_item(&items[i], err.msg);
	}
	int nscales = o->nscales ? o->nscales : 1;
	for (int m = 0; m < o->nmodels; m++)
		for (int s = 0; s < nscales; s++)
			for (int f = 0; f <= o->flip; f++)
				run_variant(r, m, o->nscales ? o->scales[s] : 0, f, items, n);
	int failed = 0;
	for (int i = 0; i < n; i++) {
		finish_item(r, &items[i]);
		failed += items[i].error != NULL;
		vgg_image_free(items[i].img);
		free(items[i].probs);
		free(items[i].error);
	}
	cli_flush_stdout();
	free(items);
	return failed;
}

/* --from: each array of the .npy streams is one input to the layers after r->from. */
static int run_from(struct run *r, FILE *f, const char *name)
{
	int failed = 0;
	for (int index = 0;; index++) {
		vgg_error err;
		int ndim;
		int64_t shape[VGG_MAX_DIMS];
		float *data;
		int rc = vgg_npy_read(f, name, &ndim, shape, &data, &err);
		if (rc == VGG_ENOTFOUND)
			break;
		char label[600];
		snprintf(label, sizeof label, "%s#%d", name, index);
		struct item it = {label, NULL, NULL, NULL, 0};
		if (rc) {
			fail_item(&it, err.msg);
			finish_item(r, &it);
			free(it.error);
			return failed + 1;
		}
		/* CxHxW, or 1xCxHxW as torch's tensors come. */
		int lead = ndim == 4 && shape[0] == 1;
		if ((ndim != 3 && !lead) || shape[lead] > 1 << 20 || shape[lead + 1] > 1 << 20 ||
		    shape[lead + 2] > 1 << 20) {
			char msg[700];
			snprintf(msg, sizeof msg, "'%s': expected a CxHxW array", label);
			fail_item(&it, msg);
			finish_item(r, &it);
			free(it.error);
			free(data);
			failed++;
			continue;
		}
		it.probs = calloc((size_t)r->classes + 1, sizeof *it.probs);
		if (!it.probs)
			cli_fail("out of memory");
		struct item *one = &it;
		pass(r, 0, &one, &data, 1, (int)shape[lead], (int)shape[lead + 1], (int)shape[lead + 2]);
		finish_item(r, &it);
		failed += it.error != NULL;
		free(it.error);
		free(it.probs);
		free(data);
		cli_flush_stdout();
	}
	return failed;
}

/* The next path on stdin, without its newline; NULL at the end. */
static char *next_path(char **line, size_t *cap)
{
	ssize_t n;
	while ((n = getline(line, cap, stdin)) >= 0) {
		while (n > 0 && ((*line)[n - 1] == '\n' || (*line)[n - 1] == '\r'))
			(*line)[--n] = 0;
		if (n > 0)
			return strdup(*line);
	}
	return NULL;
}

static void load_models(struct run *r, const struct options *o)
{
	for (int m = 0; m < o->nmodels; m++) {
		vgg_error err;
		if (cli_net_load(o->models[m], &r->nets[m], &err))
			cli_fail("%s", err.msg);
		r->softmax[m] = ends_in_softmax(r->nets[m]);
		if (o->profile && vgg_net_profile_start(r->nets[m], &err))
			cli_fail("%s", err.msg);
		int classes = vgg_config_classes(vgg_net_config(r->nets[m]));
		if (m == 0)
			r->classes = classes;
		else if (classes != r->classes)
			cli_fail("'%s' has %d classes, '%s' %d: an ensemble needs the same classes",
			         o->models[m], classes, o->models[0], r->classes);
	}
	for (int m = 0; m < o->nmodels; m++) {
		int resize = vgg_net_preprocess(r->nets[m])->resize;
		if (resize > r->largest_resize)
			r->largest_resize = resize;
	}
	for (int s = 0; s < o->nscales; s++)
		if (o->scales[s] > r->largest_resize)
			r->largest_resize = o->scales[s];
	vgg_error err;
	vgg_tap from = {-1, 0};
	for (int k = 0; k < o->nlayers; k++)
		if (vgg_net_find_tap(r->nets[0], o->layers[k], &r->taps[k], &err))
			cli_fail("'%s': %s", o->models[0], err.msg);
	/* "data" is Caffe's name for the input blob: --from data takes preprocessed inputs.
	 * A ReLU's name resumes where its layer's does: the ReLU is applied either way. */
	if (o->from && strcasecmp(o->from, "data") != 0 &&
	    vgg_net_find_tap(r->nets[0], o->from, &from, &err))
		cli_fail("'%s': %s", o->models[0], err.msg);
	r->from = from.layer;
	for (int k = 0; k < o->nlayers; k++)
		if (r->taps[k].layer <= r->from)
			cli_fail("--layer %s does not come after --from %s", o->layers[k], o->from);
	if (!o->nlayers && r->classes < 1)
		cli_fail("'%s' has no FC layer to classify with: use --layer", o->models[0]);
}

static void remove_pending_outputs(void)
{
	for (int k = 0; k < MAX_TAPS; k++) {
		vgg_output_abort(pending[k]);
		free(output_paths[k]);
	}
}

/* Where each --layer writes: stdout, -o FILE, or with a %s in FILE one file per layer. */
static void open_features(struct run *r, const struct options *o)
{
	atexit(remove_pending_outputs);
	for (int k = 0; k < o->nlayers; k++) {
		vgg_error err;
		char path[4096];
		if (!o->output) {
			r->features[k] = stdout;
			continue;
		}
		if (k > 0 && !o->per_layer) {
			r->features[k] = r->features[0];
			continue;
		}
		const char *at = o->per_layer ? strstr(o->output, "%s") : NULL;
		int n = at ? snprintf(path, sizeof path, "%.*s%s%s", (int)(at - o->output), o->output,
		                      o->layers[k], at + 2)
		           : snprintf(path, sizeof path, "%s", o->output);
		if (n < 0 || (size_t)n >= sizeof path)
			cli_fail("--output '%s': the name is too long", o->output);
		if (!(output_paths[k] = strdup(path)))
			cli_fail("out of memory");
		if (vgg_output_open(path, &pending[k], &r->features[k], &err))
			cli_fail("%s", err.msg);
	}
}

/* Every file -o names, renamed into place once the run is over. */
static void commit_features(void)
{
	for (int k = 0; k < MAX_TAPS; k++) {
		vgg_error err;
		vgg_output *out = pending[k];
		pending[k] = NULL;
		if (out && vgg_output_commit(out, &err))
			cli_fail("%s", err.msg);
	}
}

/* Like `caffe time`: per layer, the mean time of the passes that ran it, the rate of a
 * direct convolution's operations, and its share of the whole. */
static void print_profile(vgg_net *net, const char *model)
{
	vgg_layer_profile p;
	double total = 0, flops = 0, per_pass = 0;
	long passes = 0;
	for (size_t i = 0; vgg_net_profile(net, i, &p); i++) {
		total += p.seconds;
		flops += p.flops;
		if (p.runs > passes)
			passes = p.runs;
	}
	fprintf(stderr, "%s: profile of '%s', %ld passes\n", cli_prog, model, passes);
	fprintf(stderr, "%-12s %10s %9s %7s\n", "layer", "ms/pass", "GFLOP/s", "share");
	for (size_t i = 0; vgg_net_profile(net, i, &p); i++) {
		if (!p.runs)
			continue;
		per_pass += p.seconds / (double)p.runs;
		fprintf(stderr, "%-12s %10.3f ", p.name, p.seconds * 1e3 / (double)p.runs);
		if (p.flops > 0 && p.seconds > 0)
			fprintf(stderr, "%9.1f", p.flops / p.seconds * 1e-9);
		else
			fprintf(stderr, "%9s", "-");
		fprintf(stderr, " %6.1f%%\n", total > 0 ? 100 * p.seconds / total : 0.0);
	}
	fprintf(stderr, "%-12s %10.3f %9.1f %6.1f%%\n", "total", per_pass * 1e3,
	        total > 0 ? flops / total * 1e-9 : 0.0, 100.0);
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct run r = {0};
	cli_prog = "vgg-predict";
	parse_options(argc, argv, &o);
	vgg_set_threads(o.threads);
	r.o = &o;
	load_models(&r, &o);
	if (o.nlayers)
		open_features(&r, &o);
	int failed = 0;
	if (o.from) {
		for (int i = 0; i < o.ninputs; i++) {
			FILE *f = strcmp(o.inputs[i], "-") == 0 ? stdin : fopen(o.inputs[i], "rb");
			if (!f) {
				char msg[700];
				struct item it = {o.inputs[i], NULL, NULL, NULL, 0};
				snprintf(msg, sizeof msg, "cannot open '%s': %s", o.inputs[i],
				         strerror(errno));
				fail_item(&it, msg);
				finish_item(&r, &it);
				free(it.error);
				failed++;
				continue;
			}
			failed += run_from(&r, f, o.inputs[i]);
			if (f != stdin)
				fclose(f);
		}
		if (!o.ninputs)
			failed += run_from(&r, stdin, "-");
	} else if (o.ninputs) {
		for (int i = 0; i < o.ninputs; i += o.batch)
			failed += run_group(&r, o.inputs + i,
			                    o.ninputs - i < o.batch ? o.ninputs - i : o.batch);
	} else {
		char *line = NULL, **names = malloc((size_t)o.batch * sizeof *names);
		size_t cap = 0;
		int n = 0, more = 1;
		if (!names)
			cli_fail("out of memory");
		while (more) {
			char *path = next_path(&line, &cap);
			more = path != NULL;
			if (path)
				names[n++] = path;
			if (n == o.batch || (!more && n)) {
				failed += run_group(&r, names, n);
				while (n)
					free(names[--n]);
			}
		}
		free(line);
		free(names);
	}
	commit_features();
	for (int m = 0; m < o.nmodels; m++) {
		if (o.profile)
			print_profile(r.nets[m], o.models[m]);
		vgg_net_free(r.nets[m]);
	}
	cli_flush_stdout();
	return failed ? 1 : 0;
}
