/*
 * vgg-rf: receptive-field arithmetic per layer, per unit, and for stacked 3x3 convs; with
 * --effective, a layer's effective receptive field measured by back-propagation over
 * images or random inputs, printed and drawn as a heat map.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static void usage(void)
{
	printf("Usage: vgg-rf [OPTION]... MODEL [LAYER]\n"
	       "   or: vgg-rf --equiv K [--channels C] [--json]\n"
	       "   or: vgg-rf --effective -m WEIGHTS [OPTION]... [IMAGE]...\n"
	       "Show each layer's receptive field: size (rf), jump (effective stride),\n"
	       "effective padding and the input position of unit 0's centre; with LAYER,\n"
	       "that layer only.  With --effective, measure the effective receptive field of\n"
	       "a layer's centre unit: the mean |gradient| of the unit over the input, from the\n"
	       "IMAGEs or from random inputs, and the radii holding 50%% and 90%% of it.\n"
	       "\n"
	       "MODEL is a config file, a built-in name (A, A-LRN, B, C, D, E, vgg11, vgg13,\n"
	       "vgg16, vgg19, any of them with _bn, _gap or both) or the notation itself,\n"
	       "quoted.\n"
	       "\n"
	       "  -u, --unit Y,X        with LAYER: the input box unit (Y,X) sees, unclipped\n"
	       "                        and clipped to the image\n"
	       "  -e, --equiv K         stride-1 3x3 convs that give a KxK receptive field,\n"
	       "                        and the weights of both for C channels in and out\n"
	       "  -C, --channels C      with --equiv: count the weights for C channels\n"
	       "  -i, --input HxW[xC]   input size the net is built for [the config's, 224x224x3]\n"
	       "  -d, --dense           dense evaluation: FC layers as convolutions, run at the\n"
	       "                        --input size\n"
	       "  -E, --effective       the effective receptive field (needs --model)\n"
	       "  -m, --model WEIGHTS   with --effective: the weights file (vgg-weights(5));\n"
	       "                        IMAGEs are preprocessed as it says\n"
	       "  -l, --layer NAME      with --effective: the layer [the last conv layer]\n"
	       "  -o, --output FILE     with --effective: also draw the field as a PNG heat map,\n"
	       "                        the theoretical box and the 50%%/90%% circles on it\n"
	       "      --samples N       with --effective and no IMAGE: random inputs [16]\n"
	       "      --seed N          with --effective and no IMAGE: their seed [0]\n"
	       "      --size HxW        with --effective and no IMAGE: their size [the net's]\n"
	       "  -j, --json            print one JSON document instead of text\n"
	       "  -h, --help            show this help and exit\n"
	       "  -V, --version         show the version and exit\n"
	       "\n"
	       "Exit status: 0 success, 1 bad model, layer, unit, weights or image,\n"
	       "2 usage error.\n"
	       "See vgg-rf(1) and vgg-config(5).\n");
}

struct options {
	struct cli_model model;
	int json;
	int has_unit;
	int64_t unit_y, unit_x;
	int equiv;     /* K, 0 when not asked */
	long channels; /* 0: symbolic */
	const char *name, *layer;
	/* --effective */
	int effective;
	const char *weights, *erf_layer, *output;
	long samples;  /* 0: not given */
	long seed;
	int has_seed;
	int size_h, size_w;
	char **images;
	int nimages;
};

enum { OPT_SAMPLES = 256, OPT_SEED, OPT_SIZE };

/* A whole number from 0 at *s, digits only (strtoll would take signs and spaces). */
static int unit_coord(const char **s, int64_t *out)
{
	const char *p = *s;
	int64_t v = 0;
	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((v = v * 10 + (*p - '0')) > INT32_MAX)
			return 0;
	*s = p;
	*out = v;
	return 1;
}

static void parse_unit(const char *s, struct options *o)
{
	const char *p = s;
	if (!unit_coord(&p, &o->unit_y) || *p++ != ',' || !unit_coord(&p, &o->unit_x) || *p)
		cli_usage_error("--unit '%s': expected Y,X (two whole numbers from 0)", s);
	o->has_unit = 1;
}

static void parse_size(const char *s, struct options *o)
{
	int channels = 0;
	cli_parse_size("--size", s, &o->size_h, &o->size_w, &channels);
	if (channels)
		cli_usage_error("--size '%s': expected HxW; the channels are the net's", s);
}

/* --effective's operands are images, and its options go with it alone. */
static void check_effective(int argc, char **argv, struct options *o)
{
	const char *own = o->weights ? "--model" : o->erf_layer ? "--layer" : o->output ? "--output"
	                  : o->samples ? "--samples" : o->has_seed ? "--seed"
	                  : o->size_h ? "--size" : NULL;
	if (!o->effective) {
		if (own)
			cli_usage_error("%s goes with --effective", own);
		return;
	}
	if (o->equiv || o->channels || o->has_unit || o->model.height || o->model.dense)
		cli_usage_error("--effective goes with --model, --layer, --output, --samples, "
		                "--seed, --size and --json only");
	if (!o->weights)
		cli_usage_error("--effective needs --model WEIGHTS");
	o->images = argv + optind;
	o->nimages = argc - optind;
	if (o->nimages && (o->samples || o->has_seed || o->size_h))
		cli_usage_error("%s is for random inputs, but IMAGEs were given",
		                o->samples ? "--samples" : o->has_seed ? "--seed" : "--size");
	if (!o->samples)
		o->samples = 16;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"unit", required_argument, 0, 'u'},  {"equiv", required_argument, 0, 'e'},
		{"channels", required_argument, 0, 'C'}, {"input", required_argument, 0, 'i'},
		{"dense", no_argument, 0, 'd'},       {"json", no_argument, 0, 'j'},
		{"effective", no_argument, 0, 'E'},   {"model", required_argument, 0, 'm'},
		{"layer", required_argument, 0, 'l'}, {"output", required_argument, 0, 'o'},
		{"samples", required_argument, 0, OPT_SAMPLES},
		{"seed", required_argument, 0, OPT_SEED}, {"size", required_argument, 0, OPT_SIZE},
		{"help", no_argument, 0, 'h'},        {"version", no_argument, 0, 'V'},
		{0, 0, 0, 0}
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":u:e:C:i:djEm:l:o:hV", longs, NULL)) != -1) {
		switch (c) {
		case 'u': parse_unit(optarg, o); break;
		case 'e': o->equiv = (int)cli_parse_long("--equiv", optarg, 1, 999); break;
		case 'C': o->channels = cli_parse_long("--channels", optarg, 1, 1048576); break;
		case 'i':
			cli_parse_size("--input", optarg, &o->model.height, &o->model.width,
			               &o->model.channels);
			break;
		case 'd': o->model.dense = 1; break;
		case 'j': o->json = 1; break;
		case 'E': o->effective = 1; break;
		case 'm': o->weights = optarg; break;
		case 'l': o->erf_layer = optarg; break;
		case 'o': o->output = optarg; break;
		case OPT_SAMPLES: o->samples = cli_parse_long("--samples", optarg, 1, 100000); break;
		case OPT_SEED:
			o->seed = cli_parse_long("--seed", optarg, 0, LONG_MAX);
			o->has_seed = 1;
			break;
		case OPT_SIZE: parse_size(optarg, o); break;
		default: cli_common_option(c, argv, usage);
		}
	}
	check_effective(argc, argv, o);
	if (o->effective)
		return;
	int operands = argc - optind;
	if (o->channels && !o->equiv)
		cli_usage_error("--channels goes with --equiv");
	if (o->equiv) {
		if (operands)
			cli_usage_error("--equiv takes no MODEL, but '%s' was given", argv[optind]);
		if (o->has_unit || o->model.height || o->model.dense)
			cli_usage_error("--equiv goes with --channels and --json only");
		return;
	}
	if (operands == 0)
		cli_usage_error("no MODEL given");
	if (operands > 2)
		cli_usage_error("at most MODEL and LAYER, but '%s' follows", argv[optind + 2]);
	o->name = argv[optind];
	o->layer = operands == 2 ? argv[optind + 1] : NULL;
	if (o->has_unit && !o->layer)
		cli_usage_error("--unit needs a LAYER after MODEL");
}

static void row(const vgg_layer_info *l)
{
	char kernel[32], shape[32], rf[32], jump[32], pad[32], center[48];
	snprintf(kernel, sizeof kernel, "%dx%d", l->kernel[0], l->kernel[1]);
	snprintf(shape, sizeof shape, "%dx%d", l->out_h, l->out_w);
	if (l->center[0] == l->center[1])
		snprintf(center, sizeof center, "%.1f", l->center[0]);
	else
		snprintf(center, sizeof center, "%.1f,%.1f", l->center[0], l->center[1]);
	printf("%-7s %-7s %7s %6d %3d %11s %6s %5s %7s %8s\n", l->name, cli_layer_type(l), kernel,
	       l->stride, l->pad, shape, cli_axes(l->rf, rf), cli_axes(l->jump, jump),
	       cli_axes(l->eff_pad, pad), center);
}

static void print_table(const vgg_config *cfg, const vgg_layout *lay, const vgg_layer_info *only)
{
	int c, h, w;
	vgg_layout_input(lay, &c, &h, &w);
	printf("%s: input %dx%dx%d\n\n", vgg_config_name(cfg), c, h, w);
	printf("%-7s %-7s %7s %6s %3s %11s %6s %5s %7s %8s\n", "layer", "type", "kernel", "stride",
	       "pad", "output", "rf", "jump", "eff-pad", "center");
	for (size_t i = 0; i < vgg_layout_count(lay); i++) {
		const vgg_layer_info *l = vgg_layout_layer(lay, i);
		if (!only || only == l)
			row(l);
	}
}

static cJSON *layer_json(const vgg_layer_info *l)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", l->name);
	cJSON_AddStringToObject(o, "type", cli_layer_type(l));
	cli_json_axes(o, "kernel", l->kernel[0], l->kernel[1]);
	cJSON_AddNumberToObject(o, "stride", l->stride);
	cJSON_AddNumberToObject(o, "layer_pad", l->pad);
	cJSON_AddItemToObject(o, "out", cJSON_CreateIntArray((int[]){l->out_c, l->out_h, l->out_w}, 3));
	cli_json_axes(o, "rf", (double)l->rf[0], (double)l->rf[1]);
	cli_json_axes(o, "jump", (double)l->jump[0], (double)l->jump[1]);
	cli_json_axes(o, "pad", (double)l->eff_pad[0], (double)l->eff_pad[1]);
	cli_json_axes(o, "center", l->center[0], l->center[1]);
	return o;
}

static void print_json(const vgg_config *cfg, const vgg_layout *lay, const vgg_layer_info *only)
{
	int c, h, w;
	vgg_layout_input(lay, &c, &h, &w);
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "model", vgg_config_name(cfg));
	cJSON_AddItemToObject(doc, "input", cJSON_CreateIntArray((int[]){c, h, w}, 3));
	cJSON *layers = cJSON_AddArrayToObject(doc, "layers");
	for (size_t i = 0; i < vgg_layout_count(lay); i++) {
		const vgg_layer_info *l = vgg_layout_layer(lay, i);
		if (!only || only == l)
			cJSON_AddItemToArray(layers, layer_json(l));
	}
	cli_print_json(doc);
}

static cJSON *box_json(vgg_box b)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "y0", (double)b.y0);
	cJSON_AddNumberToObject(o, "y1", (double)b.y1);
	cJSON_AddNumberToObject(o, "x0", (double)b.x0);
	cJSON_AddNumberToObject(o, "x1", (double)b.x1);
	return o;
}

static void print_unit(const vgg_layout *lay, const vgg_layer_info *l, const struct options *o)
{
	vgg_error err;
	vgg_box box;
	int c, h, w;
	vgg_layout_input(lay, &c, &h, &w);
	if (vgg_rf_unit_box(l, o->unit_y, o->unit_x, &box, &err))
		cli_fail("%s", err.msg);
	vgg_box clip = vgg_rf_clip(box, h, w);
	if (o->json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "layer", l->name);
		cJSON_AddItemToObject(doc, "unit",
		                      cJSON_CreateIntArray((int[]){(int)o->unit_y, (int)o->unit_x}, 2));
		cJSON_AddItemToObject(doc, "input", cJSON_CreateIntArray((int[]){c, h, w}, 3));
		cJSON_AddItemToObject(doc, "box", box_json(box));
		cJSON_AddItemToObject(doc, "clipped", box_json(clip));
		cli_print_json(doc);
		return;
	}
	printf("%s unit %" PRId64 ",%" PRId64 " (of %dx%d) sees input\n", l->name, o->unit_y,
	       o->unit_x, l->out_h, l->out_w);
	printf("  unclipped: rows %" PRId64 "..%" PRId64 ", columns %" PRId64 "..%" PRId64
	       " (%" PRId64 "x%" PRId64 ")\n", box.y0, box.y1, box.x0, box.x1,
	       box.y1 - box.y0 + 1, box.x1 - box.x0 + 1);
	printf("  clipped:   rows %" PRId64 "..%" PRId64 ", columns %" PRId64 "..%" PRId64
	       " (%" PRId64 "x%" PRId64 " of the %dx%d image)\n", clip.y0, clip.y1, clip.x0,
	       clip.x1, clip.y1 - clip.y0 + 1, clip.x1 - clip.x0 + 1, h, w);
}

static void print_equiv(const struct options *o)
{
	vgg_error err;
	int n;
	if (vgg_rf_equiv_3x3(o->equiv, &n, &err))
		cli_fail("--equiv %s", err.msg);
	long long k = o->equiv, one = k * k, stack = 9LL * n;
	double fewer = 100.0 * (double)(one - stack) / (double)one;
	if (o->json) {
		cJSON *doc = cJSON_CreateObject();
		double scale = o->channels ? (double)o->channels * (double)o->channels : 1;
		cJSON_AddNumberToObject(doc, "k", (double)k);
		cJSON_AddNumberToObject(doc, "convs", n);
		if (o->channels)
			cJSON_AddNumberToObject(doc, "channels", (double)o->channels);
		cJSON_AddNumberToObject(doc, "weights_kxk", (double)one * scale);
		cJSON_AddNumberToObject(doc, "weights_stack", (double)stack * scale);
		cli_print_json(doc);
		return;
	}
	printf("a %lldx%lld receptive field: %d stacked 3x3 conv%s (stride 1), "
	       "%d ReLU%s instead of 1\n", k, k, n, n == 1 ? "" : "s", n, n == 1 ? "" : "s");
	char label[64], a[32], b[32];
	snprintf(label, sizeof label, "%d 3x3 conv%s", n, n == 1 ? "" : "s");
	if (o->channels) {
		unsigned long long c2 = (unsigned long long)o->channels * (unsigned long long)o->channels;
		printf("weights for %ld channels in and out:\n", o->channels);
		printf("  one %lldx%lld conv  %20s\n", k, k, cli_thousands((uint64_t)one * c2, a));
		printf("  %-13s %20s  (%.1f%% fewer)\n", label, cli_thousands((uint64_t)stack * c2, b),
		       fewer);
	} else {
		printf("weights for C channels in and out:\n");
		snprintf(a, sizeof a, "%lldC\u00b2", one);
		snprintf(b, sizeof b, "%lldC\u00b2", stack);
		printf("  one %lldx%lld conv  %s\n", k, k, a);
		printf("  %-13s %s  (%.1f%% fewer)\n", label, b, fewer);
	}
}

/* ---- --effective ---- */

/* The field of each IMAGE that decodes and has the size of the first; one that does not is
 * reported and counted in *failed.  NULL when no image was good. */
static vgg_erf *erf_of_images(const struct options *o, const vgg_net *net,
                              const vgg_weights *w, int *failed)
{
	const vgg_config *cfg = vgg_net_config(net);
	int channels, h0, w0;
	vgg_config_input(cfg, &channels, &h0, &w0);
	vgg_erf *e = NULL;
	const char *first = NULL;
	vgg_error err;
	for (int i = 0; i < o->nimages; i++) {
		const char *path = o->images[i];
		vgg_image *img = NULL;
		float *x = NULL;
		int h, wd;
		if (vgg_image_read(path, 0, &img, &err) ||
		    vgg_preprocess_image(vgg_net_preprocess(net), img, channels, &x, &h, &wd, &err)) {
			vgg_image_free(img);
			fprintf(stderr, "%s: %s\n", cli_prog, err.msg);
			++*failed;
			continue;
		}
		vgg_image_free(img);
		if (!first) {
			first = path;
			h0 = h;
			w0 = wd;
			if (vgg_erf_new(cfg, w, o->erf_layer, h, wd, &e, &err))
				cli_fail("%s", err.msg);
		}
		if (h != h0 || wd != w0) {
			fprintf(stderr, "%s: '%s' is %dx%d after preprocessing, not %dx%d as '%s'\n",
			        cli_prog, path, h, wd, h0, w0, first);
			++*failed;
		} else if (vgg_erf_add(e, x, 1, &err)) {
			cli_fail("'%s': %s", path, err.msg);
		}
		free(x);
	}
	return e;
}

static void print_erf(const vgg_config *cfg, const vgg_erf_summary *s, const struct options *o)
{
	const vgg_layer_info *l = s->layer;
	if (o->json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "model", vgg_config_name(cfg));
		cJSON_AddStringToObject(doc, "layer", l->name);
		cJSON_AddItemToObject(doc, "unit",
		                      cJSON_CreateIntArray((int[]){(int)s->unit[0], (int)s->unit[1]}, 2));
		cJSON_AddItemToObject(doc, "input", cJSON_CreateIntArray(
		                      (int[]){s->channels, s->height, s->width}, 3));
		cJSON_AddNumberToObject(doc, "inputs", s->inputs);
		if (!o->nimages)
			cJSON_AddNumberToObject(doc, "seed", (double)o->seed);
		cli_json_axes(doc, "rf", (double)l->rf[0], (double)l->rf[1]);
		cJSON_AddItemToObject(doc, "box", box_json(s->box));
		cJSON_AddItemToObject(doc, "clipped", box_json(s->clipped));
		cli_json_axes(doc, "center", s->center[0], s->center[1]);
		cJSON_AddNumberToObject(doc, "r50", s->r50);
		cJSON_AddNumberToObject(doc, "r90", s->r90);
		cJSON_AddNumberToObject(doc, "inside", s->inside);
		cli_print_json(doc);
		return;
	}
	char rf[32];
	printf("%s %s: centre unit %" PRId64 ",%" PRId64 " (of %dx%d), %d %s of %dx%dx%d\n",
	       vgg_config_name(cfg), l->name, s->unit[0], s->unit[1], l->out_h, l->out_w,
	       s->inputs, o->nimages ? (s->inputs == 1 ? "image" : "images")
	                             : (s->inputs == 1 ? "random input" : "random inputs"),
	       s->channels, s->height, s->width);
	printf("  theoretical: rf %s, rows %" PRId64 "..%" PRId64 ", columns %" PRId64 "..%" PRId64
	       " (%" PRId64 "x%" PRId64 " in the image)\n", cli_axes(l->rf, rf), s->box.y0,
	       s->box.y1, s->box.x0, s->box.x1, s->clipped.y1 - s->clipped.y0 + 1,
	       s->clipped.x1 - s->clipped.x0 + 1);
	printf("  centre:      %.1f,%.1f\n", s->center[0], s->center[1]);
	printf("  r50:         %.1f pixels\n", s->r50);
	printf("  r90:         %.1f pixels\n", s->r90);
	printf("  inside box:  %.1f%% of the gradient\n", 100 * s->inside);
}

static int effective(const struct options *o)
{
	vgg_error err;
	vgg_net *net;
	vgg_weights *w;
	if (vgg_net_load(o->weights, &net, &err))
		cli_fail("%s", err.msg);
	if (vgg_weights_open(o->weights, &w, &err))
		cli_fail("%s", err.msg);
	vgg_erf *e = NULL;
	int failed = 0;
	if (o->nimages) {
		e = erf_of_images(o, net, w, &failed);
	} else if (vgg_erf_new(vgg_net_config(net), w, o->erf_layer, o->size_h, o->size_w, &e,
	                       &err) ||
	           vgg_erf_add_noise(e, vgg_net_preprocess(net), (int)o->samples,
	                             (uint64_t)o->seed, &err)) {
		cli_fail("%s", err.msg);
	}
	vgg_weights_free(w);
	if (e) {
		vgg_erf_summary s;
		if (vgg_erf_summarise(e, &s, &err) || (o->output && vgg_erf_write_png(e, o->output,
		                                                                       &err)))
			cli_fail("%s", err.msg);
		print_erf(vgg_net_config(net), &s, o);
	}
	vgg_erf_free(e);
	vgg_net_free(net);
	return failed ? EXIT_BAD_INPUT : 0;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	vgg_config *cfg;
	vgg_layout *lay;
	cli_prog = "vgg-rf";
	parse_options(argc, argv, &o);
	if (o.effective)
		return effective(&o);
	if (o.equiv) {
		print_equiv(&o);
		return 0;
	}
	cli_open(o.name, &o.model, &cfg, &lay);
	const vgg_layer_info *only = NULL;
	if (o.layer && !(only = vgg_layout_find(lay, o.layer)))
		cli_fail("%s has no layer '%s'", vgg_config_name(cfg), o.layer);
	if (o.has_unit)
		print_unit(lay, only, &o);
	else if (o.json)
		print_json(cfg, lay, only);
	else
		print_table(cfg, lay, only);
	vgg_layout_free(lay);
	vgg_config_free(cfg);
	return 0;
}
