/* vgg-inspect: per-layer shapes, parameters, multiply-adds, memory and receptive fields. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static void usage(void)
{
	printf("Usage: vgg-inspect [OPTION]... MODEL\n"
	       "Show a VGG network's layers: output shape, parameters, multiply-adds,\n"
	       "activation memory, receptive field and jump, then totals.\n"
	       "\n"
	       "MODEL is a config file, a built-in name (A, A-LRN, B, C, D, E, vgg11, vgg13,\n"
	       "vgg16, vgg19, any of them with _bn) or the notation itself, quoted.\n"
	       "\n"
	       "  -i, --input HxW[xC]   input size the net is built for [the config's, 224x224x3]\n"
	       "  -c, --classes N       number of classes: width of the last FC layer\n"
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
		{"dense", no_argument, 0, 'd'},       {"json", no_argument, 0, 'j'},
		{"help", no_argument, 0, 'h'},        {"version", no_argument, 0, 'V'},
		{0, 0, 0, 0}
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:c:djhV", longs, NULL)) != -1) {
		switch (c) {
		case 'i':
			cli_parse_size("--input", optarg, &o->model.height, &o->model.width,
			               &o->model.channels);
			break;
		case 'c':
			o->model.classes = (int)cli_parse_long("--classes", optarg, 1, 1048576);
			break;
		case 'd': o->model.dense = 1; break;
		case 'j': o->json = 1; break;
		case 'h': usage(); exit(0);
		case 'V': cli_version(); exit(0);
		case ':': cli_usage_error("option '%s' needs a value", argv[optind - 1]);
		default: cli_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		cli_usage_error("no MODEL given");
	if (argc - optind > 1)
		cli_usage_error("one MODEL only, but '%s' follows '%s'", argv[optind + 1],
		                argv[optind]);
	o->name = argv[optind];
}

static void print_table(const vgg_config *cfg, const vgg_layout *lay, int dense)
{
	char a[32], b[32], c[32], d[32], e[32], f[32];
	int ic, ih, iw;
	vgg_layout_input(lay, &ic, &ih, &iw);
	int classes = vgg_config_classes(cfg);
	printf("%s: input %dx%dx%d", vgg_config_name(cfg), ic, ih, iw);
	if (classes)
		printf(", %d classes", classes);
	printf("%s\n\n", dense ? ", dense evaluation" : "");
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
}

static void print_json(const vgg_config *cfg, const vgg_layout *lay, int dense)
{
	int ic, ih, iw;
	vgg_layout_input(lay, &ic, &ih, &iw);
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "model", vgg_config_name(cfg));
	cJSON_AddItemToObject(doc, "input", cJSON_CreateIntArray((int[]){ic, ih, iw}, 3));
	cJSON_AddNumberToObject(doc, "classes", vgg_config_classes(cfg));
	cJSON_AddBoolToObject(doc, "dense", dense);
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
	cJSON_AddNumberToObject(doc, "total_params", (double)vgg_layout_total_params(lay));
	cJSON_AddNumberToObject(doc, "total_macs", (double)vgg_layout_total_macs(lay));
	cJSON_AddNumberToObject(doc, "total_memory", (double)vgg_layout_total_memory(lay));
	cli_print_json(doc);
}

int main(int argc, char **argv)
{
	struct options o = {0};
	vgg_config *cfg;
	vgg_layout *lay;
	cli_prog = "vgg-inspect";
	parse_options(argc, argv, &o);
	cli_open(o.name, &o.model, &cfg, &lay);
	if (o.json)
		print_json(cfg, lay, o.model.dense);
	else
		print_table(cfg, lay, o.model.dense);
	vgg_layout_free(lay);
	vgg_config_free(cfg);
	return 0;
}
