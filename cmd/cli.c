/* cli.c: the tools' shared command-line plumbing. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_prog = "vgg";

static void vmessage(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", cli_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void (*cli_exit_hook)(int status);

static noreturn void leave(int status)
{
	if (cli_exit_hook)
		cli_exit_hook(status);
	exit(status);
}

void cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", cli_prog);
	leave(EXIT_USAGE);
}

void cli_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	leave(EXIT_BAD_INPUT);
}

void cli_flush_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		cli_stdout_failed(errno);
}

void cli_stdout_failed(int errnum)
{
	if (errnum == EPIPE)
		exit(128 + SIGPIPE);
	cli_fail("write error on stdout: %s", strerror(errnum));
}

void cli_common_option(int c, char **argv, void (*usage)(void))
{
	switch (c) {
	case 'h':
		usage();
		exit(0);
	case 'V':
		printf("%s (vgg) %s\n", cli_prog, VGG_VERSION);
		exit(0);
	case ':':
		cli_usage_error("option '%s' needs a value", argv[optind - 1]);
	default:
		cli_usage_error("unknown option '%s'", argv[optind - 1]);
	}
}

static int parse_dim(const char **s, long *out)
{
	char *end;
	if (**s < '0' || **s > '9')
		return 0;
	errno = 0;
	*out = strtol(*s, &end, 10);
	if (errno || *out < 1 || *out > 65536)
		return 0;
	*s = end;
	return 1;
}

void cli_parse_size(const char *opt, const char *s, int *height, int *width, int *channels)
{
	const char *p = s;
	long h, w, c = 0;
	int ok = parse_dim(&p, &h) && (*p == 'x' || *p == 'X') && (p++, parse_dim(&p, &w));
	if (ok && (*p == 'x' || *p == 'X')) {
		p++;
		ok = parse_dim(&p, &c);
	}
	if (!ok || *p)
		cli_usage_error("%s '%s': expected HxW or HxWxC, each from 1 to 65536", opt, s);
	*height = (int)h;
	*width = (int)w;
	if (c)
		*channels = (int)c;
}

double cli_parse_factor(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	/* strtod takes spaces, signs, hex, inf and nan: a factor is a decimal number only. */
	if (errno || end == s || *end || !(v > 0) || v > 1024 ||
	    strspn(s, "0123456789.eE+-") != strlen(s) || !(*s == '.' || (*s >= '0' && *s <= '9')))
		cli_usage_error("%s '%s': expected a number above 0, at most 1024", opt, s);
	return v;
}

long cli_parse_long(const char *opt, const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	/* strtol takes leading space and '+': a value is its digits only. */
	if (errno || end == s || *end || v < min || v > max || !(*s == '-' || (*s >= '0' && *s <= '9')))
		cli_usage_error("%s '%s': expected a whole number from %ld to %ld", opt, s, min, max);
	return v;
}

/* Applies --input and --classes to a loaded config and lays it out. */
static void apply_and_lay_out(const struct cli_model *opt, vgg_config **cfg, vgg_layout **lay)
{
	vgg_error err;
	int c, h, w;
	vgg_config_input(*cfg, &c, &h, &w);
	if (opt->channels)
		c = opt->channels;
	if (!opt->dense && opt->height) {
		h = opt->height;
		w = opt->width;
	}
	if (vgg_config_set_input(*cfg, c, h, w, &err) ||
	    (opt->classes && vgg_config_set_classes(*cfg, opt->classes, &err)) ||
	    (opt->widen && vgg_config_scale_width(*cfg, opt->widen, &err)))
		cli_fail("%s", err.msg);
	if (opt->dense && opt->height) {
		h = opt->height;
		w = opt->width;
	}
	if (vgg_layout_new(*cfg, opt->dense, h, w, lay, &err))
		cli_fail("%s: %s", vgg_config_name(*cfg), err.msg);
}

void cli_open(const char *model, const struct cli_model *opt, vgg_config **cfg,
              vgg_layout **lay)
{
	vgg_error err;
	if (vgg_config_load(model, cfg, &err))
		cli_fail("%s", err.msg);
	apply_and_lay_out(opt, cfg, lay);
}

void cli_open_config(const char *text, const char *name, int pool_ceil,
                     const struct cli_model *opt, vgg_config **cfg, vgg_layout **lay)
{
	vgg_error err;
	if (vgg_config_parse(text, name, cfg, &err) || vgg_config_set_name(*cfg, name, &err))
		cli_fail("%s", err.msg);
	vgg_config_set_pool_ceil(*cfg, pool_ceil);
	apply_and_lay_out(opt, cfg, lay);
}

int cli_net_load(const char *path, vgg_net **net, vgg_error *err)
{
	vgg_weights *w;
	if (strcmp(path, "-") != 0)
		return vgg_net_load(path, net, err);
	int rc = vgg_weights_read_stream(stdin, "-", &w, err);
	return rc ? rc : vgg_net_new(w, net, err);
}

enum cli_file_kind cli_data_kind(const void *data, size_t size)
{
	const unsigned char *head = data;
	if (size >= 6 && memcmp(head, "\x93NUMPY", 6) == 0)
		return CLI_FILE_NPY;
	/* safetensors: a little-endian header length, then the JSON object's '{'. */
	if (size >= 9 && head[8] == '{' && head[7] == 0 && head[6] == 0 && head[5] == 0)
		return CLI_FILE_WEIGHTS;
	return CLI_FILE_OTHER;
}

enum cli_file_kind cli_file_kind(const char *path)
{
	unsigned char head[9];
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(head, 1, sizeof head, f) : 0;
	if (f)
		fclose(f);
	return cli_data_kind(head, n);
}

void cli_json_stats(cJSON *obj, double min, double max, double mean)
{
	const char *keys[3] = {"min", "max", "mean"};
	double v[3] = {min, max, mean};
	for (int i = 0; i < 3; i++) {
		if (isnan(v[i]) || isinf(v[i]))
			cJSON_AddNullToObject(obj, keys[i]);
		else
			cJSON_AddNumberToObject(obj, keys[i], v[i]);
	}
}

const char *cli_thousands(uint64_t v, char *buf)
{
	char digits[24];
	int n = snprintf(digits, sizeof digits, "%" PRIu64, v), o = 0;
	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = 0;
	return buf;
}

const char *cli_bytes(uint64_t v, char *buf)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
	if (v < 1024) {
		snprintf(buf, 32, "%" PRIu64 " B", v);
		return buf;
	}
	double x = (double)v / 1024;
	int u = 0;
	while (x >= 1024 && u < 4) {
		x /= 1024;
		u++;
	}
	snprintf(buf, 32, "%.1f %s", x, units[u]);
	return buf;
}

const char *cli_axes(const int64_t v[2], char *buf)
{
	if (v[0] == v[1])
		snprintf(buf, 32, "%" PRId64, v[0]);
	else
		snprintf(buf, 32, "%" PRId64 "x%" PRId64, v[0], v[1]);
	return buf;
}

const char *cli_layer_type(const vgg_layer_info *l)
{
	switch (l->kind) {
	case VGG_LAYER_CONV: return l->batch_norm ? "conv+bn" : "conv";
	case VGG_LAYER_LRN: return "lrn";
	case VGG_LAYER_POOL: return "maxpool";
	case VGG_LAYER_AVGPOOL: return "avgpool";
	case VGG_LAYER_FC: return "fc";
	case VGG_LAYER_SOFTMAX: return "softmax";
	}
	return "?";
}

static void print_json(cJSON *doc, int formatted)
{
	char *text = !doc ? NULL : formatted ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (!text)
		cli_fail("out of memory writing JSON");
	puts(text);
	free(text);
}

void cli_print_json(cJSON *doc)
{
	print_json(doc, 1);
}

void cli_print_json_line(cJSON *doc)
{
	print_json(doc, 0);
}

void cli_json_axes(cJSON *obj, const char *key, double y, double x)
{
	if (y == x) {
		cJSON_AddNumberToObject(obj, key, y);
		return;
	}
	cJSON *pair = cJSON_AddArrayToObject(obj, key);
	cJSON_AddItemToArray(pair, cJSON_CreateNumber(y));
	cJSON_AddItemToArray(pair, cJSON_CreateNumber(x));
}

char *cli_read_text(const char *path)
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
