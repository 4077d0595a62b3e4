/*
 * vgg-inspect: per-layer shapes, parameters, multiply-adds, memory and receptive fields of
 * a config or a weights file; the tensors and metadata of a weights file; the arrays of a
 * .npy stream.  Files, and stdin, are told apart by their first bytes.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(void)
{
	printf("Usage: vgg-inspect [OPTION]... MODEL\n"
	       "Show a VGG network's layers: output shape, parameters, multiply-adds,\n"
	       "activation memory, receptive field and jump, then totals.\n"
	       "\n"
	       "MODEL is a config file, a built-in name (A, A-LRN, B, C, D, E, vgg11, vgg13,\n"
	       "vgg16, vgg19, any of them with _bn, _gap or both) or the notation itself,\n"
	       "quoted.  A weights file (vgg-weights(5)) also gets its metadata and tensors\n"
	       "listed (name, dtype, shape, min, max, mean); a .npy file gets each array of its\n"
	       "stream described.  MODEL '-' reads any of these from stdin.\n"
	       "\n"
	       "  -i, --input HxW[xC]   input size the net is built for [the config's, 224x224x3]\n"
	       "  -c, --classes N       number of classes: width of the last FC layer\n"
	       "  -w, --width F         scale every conv's and hidden FC layer's width by F\n"
	       "                        (0.25: a quarter as wide), rounded, at least 1 [1]\n"
	       "  -d, --dense           dense evaluation: FC layers as convolutions, run at the\n"
	       "                        --input size; the config's own size fixes their weights\n"
	       "  -j, --json            print one JSON document instead of the table\n"
	       "  -h, --help            show this help and exit\n"
	       "  -V, --version         show the version and exit\n"
	       "\n"
	       "Exit status: 0 success, 1 bad model or input size, 2 usage error.\n"
	       "See vgg-inspect(1) and vgg-config(5).\n");
}

struct options {
	struct cli_model model;
	int json;
	const char *name;
};

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"input", required_argument, 0, 'i'}, {"classes", required_argument, 0, 'c'},
		{"width", required_argument, 0, 'w'},
		{"dense", no_argument, 0, 'd'},       {"json", no_argument, 0, 'j'},
		{"help", no_argument, 0, 'h'},        {"version", no_argument, 0, 'V'},
		{0, 0, 0, 0}
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:c:w:djhV", longs, NULL)) != -1) {
		switch (c) {
		case 'i':
			cli_parse_size("--input", optarg, &o->model.height, &o->model.width,
			               &o->model.channels);
			break;
		case 'c':
			o->model.classes = (int)cli_parse_long("--classes", optarg, 1, 1048576);
			break;
		case 'w': o->model.widen = cli_parse_factor("--width", optarg); break;
		case 'd': o->model.dense = 1; break;
		case 'j': o->json = 1; break;
		default: cli_common_option(c, argv, usage);
		}
	}
	if (optind == argc)
		cli_usage_error("no MODEL given");
	if (argc - optind > 1)
		cli_usage_error("one MODEL only, but '%s' follows '%s'", argv[optind + 1],
		                argv[optind]);
	o->name = argv[optind];
}

/* Parameters in conv layers (with their batch norm) and in FC layers. */
static void split_params(const vgg_layout *lay, uint64_t *conv, uint64_t *fc)
{
	*conv = *fc = 0;
	for (size_t i = 0; i < vgg_layout_count(lay); i++) {
		const vgg_layer_info *l = vgg_layout_layer(lay, i);
		*conv += l->kind == VGG_LAYER_CONV ? l->params : 0;
		*fc += l->kind == VGG_LAYER_FC ? l->params : 0;
	}
}

static void print_table(const vgg_config *cfg, const vgg_layout *lay, const struct cli_model *m)
{
	char a[32], b[32], c[32], d[32], e[32], f[32];
	int ic, ih, iw;
	vgg_layout_input(lay, &ic, &ih, &iw);
	int classes = vgg_config_classes(cfg);
	printf("%s: input %dx%dx%d", vgg_config_name(cfg), ic, ih, iw);
	if (classes)
		printf(", %d classes", classes);
	if (m->widen)
		printf(", width %g", m->widen);
	printf("%s\n\n", m->dense ? ", dense evaluation" : "");
	printf("%-7s %-7s %11s %12s %15s %9s %5s %4s\n", "layer", "type", "output", "params",
	       "mult-adds", "memory", "rf", "jump");
	for (size_t i = 0; i < vgg_layout_count(lay); i++) {
		const vgg_layer_info *l = vgg_layout_layer(lay, i);
		char shape[48];
		snprintf(shape, sizeof shape, "%dx%dx%d", l->out_c, l->out_h, l->out_w);
		printf("%-7s %-7s %11s %12s %15s %9s %5s %4s\n", l->name, cli_layer_type(l), shape,
		       cli_thousands(l->params, a), cli_thousands(l->macs, b),
		       cli_bytes(l->memory, c), cli_axes(l->rf, d), cli_axes(l->jump, e));
	}
	uint64_t params = vgg_layout_total_params(lay), macs = vgg_layout_total_macs(lay);
	printf("%-7s %-7s %11s %12s %15s %9s\n\n", "total", "", "", cli_thousands(params, a),
	       cli_thousands(macs, b), cli_bytes(vgg_layout_total_memory(lay), c));
	printf("%.3f M parameters (%s as float32), %.3f G multiply-adds per image\n",
	       (double)params / 1e6, cli_bytes(params * 4, f), (double)macs / 1e9);
	uint64_t conv, fc;
	split_params(lay, &conv, &fc);
	printf("parameters: %s in conv layers, %s in FC layers\n", cli_thousands(conv, a),
	       cli_thousands(fc, b));
}

static cJSON *layout_json(const vgg_config *cfg, const vgg_layout *lay,
                          const struct cli_model *m)
{
	int ic, ih, iw;
	vgg_layout_input(lay, &ic, &ih, &iw);
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "model", vgg_config_name(cfg));
	cJSON_AddItemToObject(doc, "input", cJSON_CreateIntArray((int[]){ic, ih, iw}, 3));
	cJSON_AddNumberToObject(doc, "classes", vgg_config_classes(cfg));
	cJSON_AddNumberToObject(doc, "width", m->widen ? m->widen : 1);
	cJSON_AddBoolToObject(doc, "dense", m->dense);
	cJSON *layers = cJSON_AddArrayToObject(doc, "layers");
	for (size_t i = 0; i < vgg_layout_count(lay); i++) {
		const vgg_layer_info *l = vgg_layout_layer(lay, i);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToArray(layers, o);
		cJSON_AddStringToObject(o, "name", l->name);
		cJSON_AddStringToObject(o, "type", cli_layer_type(l));
		cJSON_AddItemToObject(o, "out",
		                      cJSON_CreateIntArray((int[]){l->out_c, l->out_h, l->out_w}, 3));
		cJSON_AddNumberToObject(o, "params", (double)l->params);
		cJSON_AddNumberToObject(o, "macs", (double)l->macs);
		cJSON_AddNumberToObject(o, "memory", (double)l->memory);
		cli_json_axes(o, "kernel", l->kernel[0], l->kernel[1]);
		cJSON_AddNumberToObject(o, "stride", l->stride);
		cli_json_axes(o, "rf", (double)l->rf[0], (double)l->rf[1]);
		cli_json_axes(o, "jump", (double)l->jump[0], (double)l->jump[1]);
		cli_json_axes(o, "pad", (double)l->eff_pad[0], (double)l->eff_pad[1]);
		cli_json_axes(o, "center", l->center[0], l->center[1]);
	}
	uint64_t conv, fc;
	split_params(lay, &conv, &fc);
	cJSON_AddNumberToObject(doc, "total_params", (double)vgg_layout_total_params(lay));
	cJSON_AddNumberToObject(doc, "conv_params", (double)conv);
	cJSON_AddNumberToObject(doc, "fc_params", (double)fc);
	cJSON_AddNumberToObject(doc, "total_macs", (double)vgg_layout_total_macs(lay));
	cJSON_AddNumberToObject(doc, "total_memory", (double)vgg_layout_total_memory(lay));
	return doc;
}

/* ---- Weights files and .npy streams ---- */

struct stats {
	double min, max, mean;
};

static struct stats summarise(const float *v, uint64_t n)
{
	struct stats s = {n ? INFINITY : NAN, n ? -INFINITY : NAN, 0};
	double sum = 0;
	for (uint64_t i = 0; i < n; i++) {
		if (v[i] < s.min)
			s.min = v[i];
		if (v[i] > s.max)
			s.max = v[i];
		sum += v[i];
	}
	s.mean = n ? sum / (double)n : NAN;
	return s;
}

static const char *dims_text(int ndim, const int64_t *shape, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "[");
	for (int i = 0; i < ndim && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? "," : "",
		                        (long long)shape[i]);
	if (len < size)
		snprintf(buf + len, size - len, "]");
	return buf;
}

static struct stats tensor_stats(const vgg_tensor_info *t)
{
	float *v = malloc(t->numel ? (size_t)t->numel * sizeof *v : 1);
	if (!v)
		cli_fail("out of memory reading '%s'", t->name);
	vgg_tensor_to_float(t, v);
	struct stats s = summarise(v, t->numel);
	free(v);
	return s;
}

/* A metadata value on one line: long or many-line values are summarised. */
static void print_meta_value(const char *v)
{
	int lines = 0;
	for (const char *p = v; *p; p++)
		lines += *p == '\n';
	size_t len = strcspn(v, "\n");
	int one_line = lines == 0 || (lines == 1 && v[len + 1] == 0);
	if (one_line && len <= 60) {
		printf("%.*s\n", (int)len, v);
		return;
	}
	printf("%.*s%s (%d lines, %zu bytes)\n", (int)(len < 40 ? len : 40), v,
	       len > 40 || lines ? " ..." : "", lines + (v[strlen(v) - 1] != '\n'), strlen(v));
}

/* A weights file, opened or read from stdin; freed here. */
static void inspect_weights(const struct options *o, vgg_weights *w)
{
	const char *config = vgg_weights_meta(w, "vgg.config");
	vgg_config *cfg = NULL;
	vgg_layout *lay = NULL;
	if (config) {
		const char *name = vgg_weights_meta(w, "vgg.name");
		const char *round = vgg_weights_meta(w, "vgg.pool_round");
		cli_open_config(config, name ? name : o->name, round && strcmp(round, "ceil") == 0,
		                &o->model, &cfg, &lay);
	}
	cJSON *doc = NULL;
	if (o->json) {
		doc = lay ? layout_json(cfg, lay, &o->model) : cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "file", o->name);
		cJSON *meta = cJSON_AddObjectToObject(doc, "metadata");
		for (size_t i = 0; i < vgg_weights_meta_count(w); i++) {
			const char *k, *v;
			vgg_weights_meta_at(w, i, &k, &v);
			cJSON_AddStringToObject(meta, k, v);
		}
	} else {
		if (lay)
			print_table(cfg, lay, &o->model);
		printf("%s%s: %zu tensors, %zu metadata entries\n", lay ? "\n" : "", o->name,
		       vgg_weights_count(w), vgg_weights_meta_count(w));
		for (size_t i = 0; i < vgg_weights_meta_count(w); i++) {
			const char *k, *v;
			vgg_weights_meta_at(w, i, &k, &v);
			printf("  %-18s ", k);
			print_meta_value(v);
		}
		printf("\n%-24s %-5s %-16s %10s %10s %10s\n", "tensor", "dtype", "shape", "min", "max",
		       "mean");
	}
	cJSON *tensors = doc ? cJSON_AddArrayToObject(doc, "tensors") : NULL;
	for (size_t i = 0; i < vgg_weights_count(w); i++) {
		const vgg_tensor_info *t = vgg_weights_tensor(w, i);
		struct stats s = tensor_stats(t);
		char shape[160];
		dims_text(t->ndim, t->shape, shape, sizeof shape);
		if (!doc) {
			printf("%-24s %-5s %-16s %10.4g %10.4g %10.4g\n", t->name, t->dtype_name, shape,
			       s.min, s.max, s.mean);
			continue;
		}
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", t->name);
		cJSON_AddStringToObject(e, "dtype", t->dtype_name);
		cJSON *dims = cJSON_AddArrayToObject(e, "shape");
		for (int d = 0; d < t->ndim; d++)
			cJSON_AddItemToArray(dims, cJSON_CreateNumber((double)t->shape[d]));
		cli_json_stats(e, s.min, s.max, s.mean);
		cJSON_AddItemToArray(tensors, e);
	}
	if (doc)
		cli_print_json(doc);
	vgg_layout_free(lay);
	vgg_config_free(cfg);
	vgg_weights_free(w);
}

/* A .npy stream, opened or in memory; closed here. */
static void inspect_npy(const struct options *o, FILE *f)
{
	cJSON *doc = o->json ? cJSON_CreateObject() : NULL;
	cJSON *arrays = doc ? cJSON_AddArrayToObject(doc, "arrays") : NULL;
	if (doc)
		cJSON_AddStringToObject(doc, "file", o->name);
	else
		printf("%-6s %-24s %12s %10s %10s %10s\n", "array", "shape", "values", "min", "max",
		       "mean");
	int count = 0, rc;
	for (;; count++) {
		vgg_error err;
		int ndim;
		int64_t shape[VGG_MAX_DIMS];
		float *data;
		if ((rc = vgg_npy_read(f, o->name, &ndim, shape, &data, &err)) == VGG_ENOTFOUND)
			break;
		if (rc) {
			fclose(f);
			cJSON_Delete(doc);
			cli_fail("%s (array %d)", err.msg, count);
		}
		uint64_t n = 1;
		for (int d = 0; d < ndim; d++)
			n *= (uint64_t)shape[d];
		struct stats s = summarise(data, n);
		free(data);
		char dims[200], values[32];
		dims_text(ndim, shape, dims, sizeof dims);
		if (!doc) {
			printf("%-6d %-24s %12s %10.4g %10.4g %10.4g\n", count, dims,
			       cli_thousands(n, values), s.min, s.max, s.mean);
			continue;
		}
		cJSON *e = cJSON_CreateObject();
		cJSON *jd = cJSON_AddArrayToObject(e, "shape");
		for (int d = 0; d < ndim; d++)
			cJSON_AddItemToArray(jd, cJSON_CreateNumber((double)shape[d]));
		cli_json_stats(e, s.min, s.max, s.mean);
		cJSON_AddItemToArray(arrays, e);
	}
	fclose(f);
	if (doc)
		cli_print_json(doc);
	else
		printf("%d array%s in '%s'\n", count, count == 1 ? "" : "s", o->name);
}

static void describe(const struct options *o, const vgg_config *cfg, const vgg_layout *lay)
{
	if (o->json)
		cli_print_json(layout_json(cfg, lay, &o->model));
	else
		print_table(cfg, lay, &o->model);
}

static void refuse_net_options(const struct options *o)
{
	if (o->model.height || o->model.classes || o->model.dense || o->model.widen)
		cli_usage_error("--input, --classes, --width and --dense describe networks, "
		                "not .npy files");
}

/* MODEL '-': stdin whole, then whichever of the three it is. */
static void inspect_stdin(const struct options *o)
{
	void *data;
	size_t size;
	vgg_error err;
	vgg_weights *w;
	vgg_config *cfg;
	vgg_layout *lay;
	FILE *f;
	if (vgg_read_stream(stdin, "-", CLI_MAX_STREAM, &data, &size, &err))
		cli_fail("%s", err.msg);
	switch (cli_data_kind(data, size)) {
	case CLI_FILE_WEIGHTS:
		if (vgg_weights_from_memory(data, size, "-", &w, &err))
			cli_fail("%s", err.msg);
		inspect_weights(o, w);
		return;
	case CLI_FILE_NPY:
		refuse_net_options(o);
		if (!(f = fmemopen(data, size, "rb")))
			cli_fail("out of memory reading '-'");
		inspect_npy(o, f);
		break;
	default:
		if (memchr(data, 0, size))
			cli_fail("'-': not a weights file, a .npy stream or a config in the notation");
		cli_open_config(data, "-", 0, &o->model, &cfg, &lay);
		describe(o, cfg, lay);
		vgg_layout_free(lay);
		vgg_config_free(cfg);
		break;
	}
	free(data);
}

int main(int argc, char **argv)
{
	struct options o = {0};
	vgg_config *cfg;
	vgg_layout *lay;
	vgg_weights *w;
	vgg_error err;
	FILE *f;
	cli_prog = "vgg-inspect";
	parse_options(argc, argv, &o);
	if (strcmp(o.name, "-") == 0) {
		inspect_stdin(&o);
		return 0;
	}
	switch (cli_file_kind(o.name)) {
	case CLI_FILE_WEIGHTS:
		if (vgg_weights_open(o.name, &w, &err))
			cli_fail("%s", err.msg);
		inspect_weights(&o, w);
		return 0;
	case CLI_FILE_NPY:
		refuse_net_options(&o);
		if (!(f = fopen(o.name, "rb")))
			cli_fail("cannot open '%s'", o.name);
		inspect_npy(&o, f);
		return 0;
	default:
		break;
	}
	cli_open(o.name, &o.model, &cfg, &lay);
	describe(&o, cfg, lay);
	vgg_layout_free(lay);
	vgg_config_free(cfg);
	return 0;
}
