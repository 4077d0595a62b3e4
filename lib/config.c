/*
 * config.c: the paper's Table 1 notation, parsed into a network configuration.
 *
 * The grammar (vgg-config(5) is the user's version of this):
 *   config  := [input] layer* ; tokens separated by white space, '#' to end of line a comment
 *   input   := "input" ["("] H sep W [sep C] {colour | "image"} [")"]   sep := x | X | * | ×
 *   layer   := convK-N | BN | batchnorm | LRN | maxpool | pool | avgpool | gap | FC-N
 *            | soft-max | softmax
 * Keywords are case-insensitive.  BN applies to the conv just before it; nothing but FC
 * layers and soft-max may follow avgpool (the global average) or an FC layer, and nothing
 * may follow soft-max.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "internal.h"

#define MAX_WIDTH 1048576
#define MAX_KERNEL 31
#define MAX_SIDE 65536
#define MAX_CHANNELS 65536

struct parser {
	const char *text, *p;
	const char *origin;
	int line;
	const char *line_start;
	vgg_error *err;
	struct vgg_config *cfg;
	size_t cap;
};

static int column(const struct parser *ps, const char *at)
{
	return (int)(at - ps->line_start) + 1;
}

/* Skips white space and comments, keeping line numbers. */
static void skip_space(struct parser *ps)
{
	for (;;) {
		char c = *ps->p;
		if (c == '\n') {
			ps->p++;
			ps->line++;
			ps->line_start = ps->p;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			ps->p++;
		} else if (c == '#') {
			while (*ps->p && *ps->p != '\n')
				ps->p++;
		} else {
			return;
		}
	}
}

static int is_word_char(char c)
{
	return c && c != '#' && c != '(' && c != ')' && !isspace((unsigned char)c);
}

/* Copies the token at `at` into buf for messages, shortened when long. */
static const char *token_text(const char *at, char *buf, size_t size)
{
	size_t n = 0;
	while (is_word_char(at[n]) && n + 1 < size)
		n++;
	if (n == 0) {
		snprintf(buf, size, "%s", *at ? (char[]){*at, 0} : "end of input");
		return buf;
	}
	memcpy(buf, at, n);
	buf[n] = 0;
	if (is_word_char(at[n]) && size > 4)
		memcpy(buf + size - 4, "...", 4);
	return buf;
}

static int syntax(struct parser *ps, const char *at, const char *expected)
{
	char tok[40];
	const char *found = token_text(at, tok, sizeof tok);
	return vgg__fail(ps->err, VGG_EPARSE, "%s:%d:%d: expected %s, found %s%s%s", ps->origin,
	                 ps->line, column(ps, at), expected, *at ? "'" : "", found, *at ? "'" : "");
}

static int semantic(struct parser *ps, const char *at, const char *msg)
{
	return vgg__fail(ps->err, VGG_EPARSE, "%s:%d:%d: %s", ps->origin, ps->line,
	                 column(ps, at), msg);
}

/* A decimal number in [1, max] at *s; advances *s past it. */
static int read_number(const char **s, long max, long *out)
{
	const char *q = *s;
	long v = 0;
	if (!isdigit((unsigned char)*q))
		return 0;
	while (isdigit((unsigned char)*q)) {
		v = v * 10 + (*q - '0');
		if (v > max)
			return 0;
		q++;
	}
	if (v < 1)
		return 0;
	*s = q;
	*out = v;
	return 1;
}

/* The multiplication sign between sizes: x, X, * or the UTF-8 '×'. */
static int read_times(const char **s)
{
	const char *q = *s;
	while (*q == ' ' || *q == '\t')
		q++;
	if (*q == 'x' || *q == 'X' || *q == '*') {
		q++;
	} else if ((unsigned char)q[0] == 0xC3 && (unsigned char)q[1] == 0x97) {
		q += 2;
	} else {
		return 0;
	}
	while (*q == ' ' || *q == '\t')
		q++;
	if (!isdigit((unsigned char)*q))
		return 0;
	*s = q;
	return 1;
}

static size_t word_length(const char *s)
{
	size_t n = 0;
	while (is_word_char(s[n]))
		n++;
	return n;
}

static int word_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

static int colour_channels(const char *s, size_t n)
{
	if (word_is(s, n, "rgb") || word_is(s, n, "bgr"))
		return 3;
	if (word_is(s, n, "gray") || word_is(s, n, "grey") || word_is(s, n, "grayscale") ||
	    word_is(s, n, "greyscale"))
		return 1;
	return 0;
}

/* After the keyword "input": the size, colours and optional parentheses. */
static int parse_input(struct parser *ps)
{
	long h, w, c = 0;
	int paren = 0, colour = 0;
	skip_space(ps);
	if (*ps->p == '(') {
		paren = 1;
		ps->p++;
		skip_space(ps);
	}
	const char *at = ps->p;
	if (!read_number(&ps->p, MAX_SIDE, &h))
		return syntax(ps, at, "an input height (1 to 65536)");
	if (!read_times(&ps->p)) {
		skip_space(ps);
		return syntax(ps, ps->p, "'x' and an input width");
	}
	at = ps->p;
	if (!read_number(&ps->p, MAX_SIDE, &w))
		return syntax(ps, at, "an input width (1 to 65536)");
	at = ps->p;
	if (read_times(&ps->p)) {
		at = ps->p;
		if (!read_number(&ps->p, MAX_CHANNELS, &c))
			return syntax(ps, at, "a channel count (1 to 65536)");
	}
	if (is_word_char(*ps->p))
		return syntax(ps, ps->p, "white space after the input size");
	for (;;) {
		skip_space(ps);
		size_t n = word_length(ps->p);
		int k = colour_channels(ps->p, n);
		if (k) {
			if (colour || (c && c != k))
				return semantic(ps, ps->p, "the input's channels are given twice");
			colour = k;
		} else if (!word_is(ps->p, n, "image")) {
			break;
		}
		ps->p += n;
	}
	if (paren) {
		if (*ps->p != ')')
			return syntax(ps, ps->p, "')' to close the input size");
		ps->p++;
	}
	ps->cfg->in_h = (int)h;
	ps->cfg->in_w = (int)w;
	ps->cfg->in_c = c ? (int)c : colour ? colour : 3;
	return VGG_OK;
}

static int push_layer(struct parser *ps, enum vgg_layer_kind kind, int kernel, int width)
{
	struct vgg_config *cfg = ps->cfg;
	if (cfg->count == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 32;
		void *grown = realloc(cfg->layers, cap * sizeof *cfg->layers);
		if (!grown)
			return vgg__fail(ps->err, VGG_ENOMEM, "out of memory");
		cfg->layers = grown;
		ps->cap = cap;
	}
	struct vgg__layer_spec *l = &cfg->layers[cfg->count++];
	memset(l, 0, sizeof *l);
	l->kind = kind;
	l->kernel = kernel;
	l->width = width;
	return VGG_OK;
}

static const char *EXPECTED_LAYER =
	"a layer (convK-N, BN, LRN, maxpool, avgpool, FC-N, soft-max)";

/* convK-N or FC-N; returns 1 and fills the numbers when the word is one. */
static int match_conv(const char *s, size_t n, long *k, long *width)
{
	const char *q = s + 4, *end = s + n;
	if (n < 7 || strncasecmp(s, "conv", 4) != 0)
		return 0;
	if (!read_number(&q, MAX_KERNEL, k) || q >= end || *q != '-')
		return 0;
	q++;
	return read_number(&q, MAX_WIDTH, width) && q == end;
}

static int match_fc(const char *s, size_t n, long *width)
{
	const char *q = s + 3, *end = s + n;
	if (n < 4 || strncasecmp(s, "fc-", 3) != 0)
		return 0;
	return read_number(&q, MAX_WIDTH, width) && q == end;
}

static int parse_layers(struct parser *ps)
{
	int seen_layer = 0, seen_input = 0, seen_fc = 0, seen_softmax = 0, seen_avgpool = 0;
	int rc;
	for (;;) {
		skip_space(ps);
		const char *at = ps->p;
		if (!*at)
			break;
		size_t n = word_length(at);
		if (n == 0)
			return syntax(ps, at, EXPECTED_LAYER);
		if (seen_softmax)
			return semantic(ps, at, "nothing may follow soft-max");
		long k = 0, width = 0;
		enum vgg_layer_kind kind;
		if (word_is(at, n, "input")) {
			if (seen_layer || seen_input)
				return semantic(ps, at, seen_input ? "the input is given twice"
				                                   : "the input must come before the first layer");
			seen_input = 1;
			ps->p += n;
			if ((rc = parse_input(ps)))
				return rc;
			continue;
		}
		if (word_is(at, n, "bn") || word_is(at, n, "batchnorm")) {
			struct vgg__layer_spec *prev =
				ps->cfg->count ? &ps->cfg->layers[ps->cfg->count - 1] : NULL;
			if (!prev || prev->kind != VGG_LAYER_CONV)
				return semantic(ps, at, "BN must follow a conv layer");
			if (prev->batch_norm)
				return semantic(ps, at, "BN is given twice for one conv layer");
			prev->batch_norm = 1;
			ps->p += n;
			continue;
		}
		if (match_conv(at, n, &k, &width)) {
			if (k % 2 == 0)
				return semantic(ps, at + 4, "a conv kernel size must be odd (1, 3, 5, ...)");
			kind = VGG_LAYER_CONV;
		} else if (match_fc(at, n, &width)) {
			kind = VGG_LAYER_FC;
		} else if (word_is(at, n, "lrn")) {
			kind = VGG_LAYER_LRN;
		} else if (word_is(at, n, "maxpool") || word_is(at, n, "pool")) {
			kind = VGG_LAYER_POOL;
		} else if (word_is(at, n, "avgpool") || word_is(at, n, "gap")) {
			kind = VGG_LAYER_AVGPOOL;
		} else if (word_is(at, n, "soft-max") || word_is(at, n, "softmax")) {
			kind = VGG_LAYER_SOFTMAX;
			seen_softmax = 1;
		} else if (n >= 4 && (strncasecmp(at, "conv", 4) == 0 || strncasecmp(at, "fc", 2) == 0)) {
			return syntax(ps, at, strncasecmp(at, "fc", 2) == 0
			              ? "FC-N with N from 1 to 1048576"
			              : "convK-N with K odd from 1 to 31 and N from 1 to 1048576");
		} else {
			return syntax(ps, at, EXPECTED_LAYER);
		}
		if (seen_fc && kind != VGG_LAYER_FC && kind != VGG_LAYER_SOFTMAX)
			return syntax(ps, at, "FC-N or soft-max after an FC layer");
		if (seen_avgpool && kind != VGG_LAYER_FC && kind != VGG_LAYER_SOFTMAX)
			return syntax(ps, at, "FC-N or soft-max after avgpool");
		seen_fc |= kind == VGG_LAYER_FC;
		seen_avgpool |= kind == VGG_LAYER_AVGPOOL;
		seen_layer = 1;
		if ((rc = push_layer(ps, kind, (int)k, (int)width)))
			return rc;
		ps->p += n;
	}
	if (!seen_layer)
		return vgg__fail(ps->err, VGG_EPARSE, "%s: no layers", ps->origin);
	return VGG_OK;
}

/* Caffe's names: convB_I and normB within block B, poolB ending it, fc from pools + 1;
 * the global average pool is torchvision's avgpool. */
static void name_layers(struct vgg_config *cfg)
{
	int pools = 0, block = 1, index = 0, fc = 0;
	for (size_t i = 0; i < cfg->count; i++)
		pools += cfg->layers[i].kind == VGG_LAYER_POOL;
	for (size_t i = 0; i < cfg->count; i++) {
		struct vgg__layer_spec *l = &cfg->layers[i];
		size_t size = sizeof l->name;
		switch (l->kind) {
		case VGG_LAYER_CONV:
			snprintf(l->name, size, "conv%d_%d", block, ++index);
			break;
		case VGG_LAYER_LRN:
			snprintf(l->name, size, "norm%d", block);
			break;
		case VGG_LAYER_POOL:
			snprintf(l->name, size, "pool%d", block++);
			index = 0;
			break;
		case VGG_LAYER_AVGPOOL:
			snprintf(l->name, size, "avgpool");
			break;
		case VGG_LAYER_FC:
			snprintf(l->name, size, "fc%d", pools + 1 + fc++);
			break;
		case VGG_LAYER_SOFTMAX:
			snprintf(l->name, size, "prob");
			break;
		}
	}
}

static int set_name(struct vgg_config *cfg, const char *name, vgg_error *err)
{
	char *copy = strdup(name);
	if (!copy)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	free(cfg->name);
	cfg->name = copy;
	return VGG_OK;
}

int vgg_config_parse(const char *text, const char *origin, vgg_config **out, vgg_error *err)
{
	*out = NULL;
	struct vgg_config *cfg = calloc(1, sizeof *cfg);
	if (!cfg)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	cfg->in_c = 3;
	cfg->in_h = 224;
	cfg->in_w = 224;
	struct parser ps = {text, text, origin ? origin : "<inline>", 1, text, err, cfg, 0};
	int rc = parse_layers(&ps);
	if (!rc)
		rc = set_name(cfg, "custom", err);
	if (rc) {
		vgg_config_free(cfg);
		return rc;
	}
	name_layers(cfg);
	*out = cfg;
	return VGG_OK;
}

void vgg_config_free(vgg_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->name);
	free(cfg->layers);
	free(cfg);
}

/* Built-in names: the paper's letters, the names torchvision gave them, and their files. */
static const struct {
	const char *name, *file;
} BUILTINS[] = {
	{"A", "A"}, {"A-LRN", "A-LRN"}, {"B", "B"}, {"C", "C"}, {"D", "D"}, {"E", "E"},
	{"vgg11", "A"}, {"vgg13", "B"}, {"vgg16", "D"}, {"vgg19", "E"},
};

const char *const *vgg_config_builtin_names(void)
{
	static const char *const names[] = {
		"A", "A-LRN", "B", "C", "D", "E", "vgg11", "vgg13", "vgg16", "vgg19",
		"vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
		"vgg11_gap", "vgg13_gap", "vgg16_gap", "vgg19_gap",
		"vgg11_bn_gap", "vgg13_bn_gap", "vgg16_bn_gap", "vgg19_bn_gap", NULL
	};
	return names;
}

/*
 * The three FC layers of the paper replaced by a global average pool and one FC layer with
 * the classes, as later VGG variants have it; soft-max stays where it was.
 */
static void gap_head(struct vgg_config *cfg)
{
	size_t first = cfg->count;
	int classes = vgg_config_classes(cfg), softmax = 0;
	for (size_t i = cfg->count; i-- > 0;) {
		if (cfg->layers[i].kind == VGG_LAYER_FC)
			first = i;
		softmax |= cfg->layers[i].kind == VGG_LAYER_SOFTMAX;
	}
	/* Three FC layers and soft-max become avgpool, FC and soft-max: the array has room. */
	struct vgg__layer_spec *l = &cfg->layers[first];
	memset(l, 0, 3 * sizeof *l);
	l[0].kind = VGG_LAYER_AVGPOOL;
	l[1].kind = VGG_LAYER_FC;
	l[1].width = classes;
	l[2].kind = VGG_LAYER_SOFTMAX;
	cfg->count = first + 2 + (size_t)softmax;
	name_layers(cfg);
}

/* Strips `suffix` from the end of name[0..*n); says whether it was there. */
static int strip_suffix(const char *name, size_t *n, const char *suffix)
{
	size_t k = strlen(suffix);
	if (*n <= k || strncasecmp(name + *n - k, suffix, k) != 0)
		return 0;
	*n -= k;
	return 1;
}

int vgg_config_builtin(const char *name, vgg_config **out, vgg_error *err)
{
	*out = NULL;
	size_t n = strlen(name);
	int bn = 0, gap = 0;
	/* _bn and _gap, each at most once, in either order. */
	for (int i = 0; i < 2; i++) {
		if (!gap && strip_suffix(name, &n, "_gap"))
			gap = 1;
		else if (!bn && strip_suffix(name, &n, "_bn"))
			bn = 1;
	}
	for (size_t i = 0; i < sizeof BUILTINS / sizeof *BUILTINS; i++) {
		if (strlen(BUILTINS[i].name) != n || strncasecmp(name, BUILTINS[i].name, n) != 0)
			continue;
		const char *text = vgg__builtin_text(BUILTINS[i].file);
		char label[32];
		snprintf(label, sizeof label, "%s%s%s", BUILTINS[i].name, bn ? "_bn" : "",
		         gap ? "_gap" : "");
		if (!text)
			return vgg__fail(err, VGG_ENOTFOUND, "built-in config '%s' is missing", label);
		vgg_config *cfg = NULL;
		int rc = vgg_config_parse(text, label, &cfg, err);
		if (!rc)
			rc = set_name(cfg, label, err);
		if (rc) {
			vgg_config_free(cfg);
			return rc;
		}
		for (size_t j = 0; j < cfg->count; j++)
			cfg->layers[j].batch_norm |= bn && cfg->layers[j].kind == VGG_LAYER_CONV;
		if (gap)
			gap_head(cfg);
		*out = cfg;
		return VGG_OK;
	}
	return vgg__fail(err, VGG_ENOTFOUND, "no built-in config named '%s'", name);
}

static int read_file(const char *path, char **out, vgg_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return vgg__fail(err, VGG_EIO, "cannot open '%s': %s", path, strerror(errno));
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			fclose(f);
			return vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", path);
		}
		len += fread(buf + len, 1, cap - len - 1, f);
		if (len < cap - 1)
			break;
		if (cap >= (size_t)1 << 26) {
			free(buf);
			fclose(f);
			return vgg__fail(err, VGG_ERANGE, "'%s': too large for a config file", path);
		}
		cap *= 2;
		char *grown = realloc(buf, cap);
		if (!grown)
			free(buf);
		buf = grown;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return vgg__fail(err, VGG_EIO, "cannot read '%s'", path);
	}
	if (memchr(buf, 0, len)) {
		free(buf);
		return vgg__fail(err, VGG_EPARSE, "'%s': not a text file", path);
	}
	buf[len] = 0;
	*out = buf;
	return VGG_OK;
}

/* A file's name without directory and extension, as the config's name. */
static int name_from_path(vgg_config *cfg, const char *path, vgg_error *err)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char name[128];
	snprintf(name, sizeof name, "%s", base);
	char *dot = strrchr(name, '.');
	if (dot && dot != name)
		*dot = 0;
	return set_name(cfg, name, err);
}

int vgg_config_load(const char *model, vgg_config **out, vgg_error *err)
{
	struct stat st;
	*out = NULL;
	if (stat(model, &st) == 0 && !S_ISDIR(st.st_mode)) {
		char *text = NULL;
		int rc = read_file(model, &text, err);
		if (rc)
			return rc;
		rc = vgg_config_parse(text, model, out, err);
		free(text);
		if (!rc && (rc = name_from_path(*out, model, err))) {
			vgg_config_free(*out);
			*out = NULL;
		}
		return rc;
	}
	int rc = vgg_config_builtin(model, out, err);
	if (rc != VGG_ENOTFOUND)
		return rc;
	/* One word that does not even start like a layer was meant as a file or a built-in
	 * name: say so, rather than how it fails as notation. */
	int one_word = !strpbrk(model, " \t\r\n#");
	int layer_like = strncasecmp(model, "conv", 4) == 0 || strncasecmp(model, "fc", 2) == 0 ||
	                 strcasecmp(model, "bn") == 0 || strcasecmp(model, "batchnorm") == 0 ||
	                 strncasecmp(model, "input", 5) == 0;
	rc = vgg_config_parse(model, "<inline>", out, err);
	if (rc == VGG_EPARSE && one_word && strchr(model, '/'))
		return vgg__fail(err, VGG_EIO, "cannot open '%s': %s", model, strerror(ENOENT));
	if (rc == VGG_EPARSE && one_word && !layer_like)
		return vgg__fail(err, VGG_ENOTFOUND,
		                 "'%s' is not a file, a built-in config or a layer", model);
	return rc;
}

int vgg_config_set_name(vgg_config *cfg, const char *name, vgg_error *err)
{
	return set_name(cfg, name, err);
}

const char *vgg_config_name(const vgg_config *cfg)
{
	return cfg->name;
}

void vgg_config_input(const vgg_config *cfg, int *channels, int *height, int *width)
{
	if (channels)
		*channels = cfg->in_c;
	if (height)
		*height = cfg->in_h;
	if (width)
		*width = cfg->in_w;
}

int vgg_config_set_input(vgg_config *cfg, int channels, int height, int width, vgg_error *err)
{
	if (channels < 1 || channels > MAX_CHANNELS || height < 1 || height > MAX_SIDE ||
	    width < 1 || width > MAX_SIDE)
		return vgg__fail(err, VGG_ERANGE,
		                 "input %dx%dx%d out of range (sides 1 to %d, channels 1 to %d)",
		                 height, width, channels, MAX_SIDE, MAX_CHANNELS);
	cfg->in_c = channels;
	cfg->in_h = height;
	cfg->in_w = width;
	return VGG_OK;
}

static struct vgg__layer_spec *last_fc(const vgg_config *cfg)
{
	for (size_t i = cfg->count; i-- > 0;)
		if (cfg->layers[i].kind == VGG_LAYER_FC)
			return &cfg->layers[i];
	return NULL;
}

int vgg_config_classes(const vgg_config *cfg)
{
	const struct vgg__layer_spec *fc = last_fc(cfg);
	return fc ? fc->width : 0;
}

int vgg_config_set_classes(vgg_config *cfg, int classes, vgg_error *err)
{
	struct vgg__layer_spec *fc = last_fc(cfg);
	if (classes < 1 || classes > MAX_WIDTH)
		return vgg__fail(err, VGG_ERANGE, "%d classes: out of range (1 to %d)", classes,
		                 MAX_WIDTH);
	if (!fc)
		return vgg__fail(err, VGG_ENOTFOUND, "%s has no FC layer to give %d classes",
		                 cfg->name, classes);
	fc->width = classes;
	return VGG_OK;
}

/* A conv's or hidden FC layer's width scaled, or 0 when it would exceed MAX_WIDTH. */
static int scaled_width(int width, double factor)
{
	double w = round(width * factor);
	return w > MAX_WIDTH ? 0 : w < 1 ? 1 : (int)w;
}

int vgg_config_scale_width(vgg_config *cfg, double factor, vgg_error *err)
{
	if (!(factor > 0) || !isfinite(factor))
		return vgg__fail(err, VGG_ERANGE, "width factor %g: not a positive number", factor);
	const struct vgg__layer_spec *classes = last_fc(cfg);
	/* Checked first and changed after, so that a refusal leaves the config as it was. */
	for (int apply = 0; apply < 2; apply++) {
		for (size_t i = 0; i < cfg->count; i++) {
			struct vgg__layer_spec *l = &cfg->layers[i];
			if ((l->kind != VGG_LAYER_CONV && l->kind != VGG_LAYER_FC) || l == classes)
				continue;
			int w = scaled_width(l->width, factor);
			if (!w)
				return vgg__fail(err, VGG_ERANGE, "width factor %g makes %s wider than %d",
				                 factor, l->name, MAX_WIDTH);
			if (apply)
				l->width = w;
		}
	}
	return VGG_OK;
}

int vgg_config_pool_ceil(const vgg_config *cfg)
{
	return cfg->pool_ceil;
}

void vgg_config_set_pool_ceil(vgg_config *cfg, int ceil)
{
	cfg->pool_ceil = ceil != 0;
}

char *vgg_config_to_text(const vgg_config *cfg)
{
	size_t cap = 64 + cfg->count * 24;
	char *text = malloc(cap);
	if (!text)
		return NULL;
	size_t len = (size_t)snprintf(text, cap, "input %dx%dx%d\n", cfg->in_h, cfg->in_w,
	                              cfg->in_c);
	for (size_t i = 0; i < cfg->count; i++) {
		const struct vgg__layer_spec *l = &cfg->layers[i];
		char *p = text + len;
		size_t room = cap - len;
		switch (l->kind) {
		case VGG_LAYER_CONV:
			len += (size_t)snprintf(p, room, "conv%d-%d%s\n", l->kernel, l->width,
			                        l->batch_norm ? " BN" : "");
			break;
		case VGG_LAYER_LRN:
			len += (size_t)snprintf(p, room, "LRN\n");
			break;
		case VGG_LAYER_POOL:
			len += (size_t)snprintf(p, room, "maxpool\n");
			break;
		case VGG_LAYER_AVGPOOL:
			len += (size_t)snprintf(p, room, "avgpool\n");
			break;
		case VGG_LAYER_FC:
			len += (size_t)snprintf(p, room, "FC-%d\n", l->width);
			break;
		case VGG_LAYER_SOFTMAX:
			len += (size_t)snprintf(p, room, "soft-max\n");
			break;
		}
	}
	return text;
}
