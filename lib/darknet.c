/*
 * darknet.c: Darknet's .weights files, read into named float32 tensors for vgg-convert.
 *
 * The layout (../shared/FORMATS.md; Darknet's parser.c, load_weights_upto), little-endian:
 *   1. int32 major, minor, revision;
 *   2. `seen`, the images trained on: a uint64 when major * 10 + minor >= 2 and both are
 *      below 1000, else a uint32;
 *   3. when major or minor exceeds 1000, connected layers' weights are stored transposed.
 *      The published vgg-16.weights starts with three float32 (1e-5, 0.9, 0.0005) where the
 *      ints belong; their bit patterns read as ints over 1000, so Darknet takes it for this
 *      form, with a 4-byte `seen`, and its FC weights are indeed stored [I, O];
 *   4. then float32 values and nothing else, no names and no counts, per conv or FC layer
 *      of the net in order:
 *        conv: biases[O]; when batch-normalised scales[O], rolling_mean[O],
 *              rolling_variance[O]; then weights[O][C][K][K];
 *        FC:   biases[O]; then weights[O][I], or [I][O] when transposed (3), where I is the
 *              flattened input C * H * W.
 * Only the config says how many values each layer has, so the file must hold exactly the
 * floats the config needs: one short or one over means the config is not the file's net.
 * A batch-normalised Darknet conv has no bias of its own; its `biases` are the batch norm's
 * shift.  They become LAYER.bn.bias, and LAYER.bias is zeros.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { MAX_PARTS = 5 };

struct header {
	int32_t major, minor, revision;
	size_t size;        /* with `seen`: 16 or 20 bytes */
	int transposed;
};

struct reader {
	const char *file;
	vgg_error *err;
	const unsigned char *pos;   /* the next float */
	uint64_t left;              /* floats from pos to the end of the file */
	uint64_t total;             /* floats after the header */
	const vgg_layout *lay;
	const char *config;
	int transposed;
	vgg_tensor_set *set;
};

/* One array of a layer as the file stores it. */
struct part {
	const char *what;
	uint64_t count;
};

#define bad(r, ...) vgg__fail_file((r)->err, VGG_EPARSE, (r)->file, "", __VA_ARGS__)

static int no_memory(struct reader *r)
{
	return vgg__fail(r->err, VGG_ENOMEM, "out of memory reading '%s'", r->file);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Needs 12 bytes. */
static void read_header(const unsigned char *d, struct header *h)
{
	h->major = (int32_t)le32(d);
	h->minor = (int32_t)le32(d + 4);
	h->revision = (int32_t)le32(d + 8);
	/* In 64 bits, as Darknet's int arithmetic means but cannot promise for large values. */
	int wide = (int64_t)h->major * 10 + h->minor >= 2 && h->major < 1000 && h->minor < 1000;
	h->size = wide ? 20 : 16;
	h->transposed = h->major > 1000 || h->minor > 1000;
}

/* The floats a layer stores, in file order. */
static size_t layer_parts(const vgg_layer_info *l, struct part *p)
{
	uint64_t o = (uint64_t)l->out_c;
	/* The layout has checked that these products fit 64 bits. */
	uint64_t weights = o * (uint64_t)l->in_c * (uint64_t)l->kernel[0] * (uint64_t)l->kernel[1];
	size_t n = 0;
	p[n++] = (struct part){"biases", o};
	if (l->kind == VGG_LAYER_CONV && l->batch_norm) {
		p[n++] = (struct part){"scales", o};
		p[n++] = (struct part){"rolling mean", o};
		p[n++] = (struct part){"rolling variance", o};
	}
	p[n++] = (struct part){"weights", weights};
	return n;
}

static int has_weights(const vgg_layer_info *l)
{
	return l->kind == VGG_LAYER_CONV || l->kind == VGG_LAYER_FC;
}

/* The floats the config needs after the header, for messages; saturates at 2^64 - 1. */
static uint64_t floats_needed(const vgg_layout *lay)
{
	uint64_t total = 0;
	for (size_t i = 0; i < vgg_layout_count(lay); i++) {
		const vgg_layer_info *l = vgg_layout_layer(lay, i);
		struct part parts[MAX_PARTS];
		size_t n = has_weights(l) ? layer_parts(l, parts) : 0;
		for (size_t j = 0; j < n; j++)
			if (__builtin_add_overflow(total, parts[j].count, &total))
				return UINT64_MAX;
	}
	return total;
}

/* Where the next part's floats lie, checked against what the file has left. */
static int take(struct reader *r, const vgg_layer_info *l, const struct part *p,
                const unsigned char **out)
{
	if (p->count > r->left)
		return bad(r, "it ends in layer '%s', whose %s need %llu floats where %llu remain; "
		           "config '%s' needs %llu floats after the header, the file holds %llu",
		           l->name, p->what, (unsigned long long)p->count,
		           (unsigned long long)r->left, r->config,
		           (unsigned long long)floats_needed(r->lay), (unsigned long long)r->total);
	*out = r->pos;
	r->pos += 4 * p->count;
	r->left -= p->count;
	return VGG_OK;
}

/* LAYER.SUFFIX: `bytes` of the file (borrowed), or else `owned` (malloc'd, taken also on
 * failure). */
static int add(struct reader *r, const vgg_layer_info *l, const char *suffix, int ndim,
               const int64_t *shape, const unsigned char *bytes, float *owned)
{
	char name[128];
	vgg_error e;
	snprintf(name, sizeof name, "%s.%s", l->name, suffix);
	int rc = bytes ? vgg_tensor_set_borrow(r->set, name, ndim, shape, bytes, &e)
	               : vgg_tensor_set_add(r->set, name, ndim, shape, owned, &e);
	if (rc == VGG_ENOMEM)
		return no_memory(r);
	return rc ? vgg__fail(r->err, rc, "reading '%s': %s", r->file, e.msg) : VGG_OK;
}

/* Stored [rows][cols], as float32 [cols][rows] into *out (malloc'd); in tiles, so that
 * neither side is walked across a whole row of fc6 per value. */
static int transpose(struct reader *r, const unsigned char *bytes, uint64_t rows,
                     uint64_t cols, float **out)
{
	enum { TILE = 64 };
	/* rows * cols floats lie in the file: the size fits size_t. */
	float *t = malloc((size_t)(rows * cols) * sizeof *t);
	if (!t)
		return no_memory(r);
	for (uint64_t i0 = 0; i0 < rows; i0 += TILE)
		for (uint64_t j0 = 0; j0 < cols; j0 += TILE)
			for (uint64_t i = i0; i < rows && i < i0 + TILE; i++)
				for (uint64_t j = j0; j < cols && j < j0 + TILE; j++) {
					uint32_t bits = le32(bytes + 4 * (i * cols + j));
					memcpy(&t[j * rows + i], &bits, sizeof bits);
				}
	*out = t;
	return VGG_OK;
}

static int read_layer(struct reader *r, const vgg_layer_info *l)
{
	static const struct {
		const char *suffix;
		int part;
	} bn[] = {{"bn.weight", 1}, {"bn.bias", 0}, {"bn.running_mean", 2}, {"bn.running_var", 3}};
	struct part parts[MAX_PARTS];
	const unsigned char *v[MAX_PARTS] = {0};
	float *owned = NULL;
	size_t n = layer_parts(l, parts), w = n - 1;
	int conv = l->kind == VGG_LAYER_CONV, normed = conv && l->batch_norm, rc = VGG_OK;
	int64_t o = l->out_c;
	int64_t inputs = (int64_t)(parts[w].count / (uint64_t)o);
	int64_t conv_shape[4] = {o, l->in_c, l->kernel[0], l->kernel[1]}, fc_shape[2] = {o, inputs};
	for (size_t i = 0; !rc && i < n; i++)
		rc = take(r, l, &parts[i], &v[i]);
	if (!rc && !conv && r->transposed) {
		rc = transpose(r, v[w], (uint64_t)inputs, (uint64_t)o, &owned);
		v[w] = NULL;
	}
	if (!rc)
		rc = add(r, l, "weight", conv ? 4 : 2, conv ? conv_shape : fc_shape, v[w], owned);
	if (!rc && !normed)
		return add(r, l, "bias", 1, &o, v[0], NULL);
	/* No part is empty, as a config's widths are at least 1. */
	if (!rc && !(owned = calloc((size_t)o, sizeof *owned)))
		rc = no_memory(r);
	if (!rc)
		rc = add(r, l, "bias", 1, &o, NULL, owned);
	for (size_t i = 0; !rc && i < sizeof bn / sizeof *bn; i++)
		rc = add(r, l, bn[i].suffix, 1, &o, v[bn[i].part], NULL);
	return rc;
}

int vgg_darknet_read(const void *data, size_t size, const char *name, const vgg_config *cfg,
                     vgg_tensor_set **out, vgg_error *err)
{
	struct reader r = {.file = name, .err = err, .config = vgg_config_name(cfg)};
	struct header h;
	vgg_layout *lay;
	vgg_error e;
	*out = NULL;
	if (size < 16)
		return bad(&r, "%zu bytes are too few for a Darknet weights file's 16-byte header",
		           size);
	read_header(data, &h);
	if (size < h.size)
		return bad(&r, "%zu bytes are too few for the %zu-byte header that version %d.%d.%d "
		           "has", size, h.size, (int)h.major, (int)h.minor, (int)h.revision);
	if ((size - h.size) % 4)
		return bad(&r, "the %zu bytes after its %zu-byte header are not a whole number of "
		           "float32 values", size - h.size, h.size);
	int rc = vgg_layout_new(cfg, 0, 0, 0, &lay, &e);
	if (rc)
		return vgg__fail(err, rc, "reading '%s': %s", name, e.msg);
	r.pos = (const unsigned char *)data + h.size;
	r.left = r.total = (size - h.size) / 4;
	r.lay = lay;
	r.transposed = h.transposed;
	if (!(r.set = vgg_tensor_set_new()))
		rc = no_memory(&r);
	for (size_t i = 0; !rc && i < vgg_layout_count(lay); i++)
		if (has_weights(vgg_layout_layer(lay, i)))
			rc = read_layer(&r, vgg_layout_layer(lay, i));
	if (!rc && r.left)
		rc = bad(&r, "%llu floats are left over after the last layer; config '%s' needs "
		         "%llu floats after the header, the file holds %llu",
		         (unsigned long long)r.left, r.config, (unsigned long long)(r.total - r.left),
		         (unsigned long long)r.total);
	vgg_layout_free(lay);
	if (rc) {
		vgg_tensor_set_free(r.set);
		return rc;
	}
	*out = r.set;
	return VGG_OK;
}

/* ---- Detection ---- */

/* Whether the three header words are the float32 values of the published vgg-16.weights. */
static int float_header(const unsigned char *d)
{
	static const float published[3] = {1e-5f, 0.9f, 0.0005f};
	for (int i = 0; i < 3; i++) {
		uint32_t bits;
		memcpy(&bits, &published[i], sizeof bits);
		if (le32(d + 4 * i) != bits)
			return 0;
	}
	return 1;
}

int vgg_darknet_detect(const void *data, size_t size)
{
	struct header h;
	if (size < 16)
		return 0;
	read_header(data, &h);
	/* Darknet's versions so far are 0.1.0 to 0.2.5; the bounds leave room and still turn
	 * away other formats' magic numbers, which read as large or negative ints. */
	int versioned = h.major >= 0 && h.major <= 10 && h.minor >= 0 && h.minor <= 100 &&
	                h.revision >= 0 && h.revision < 1000000;
	return (versioned || float_header(data)) && size >= h.size && (size - h.size) % 4 == 0;
}

/* ---- Class order ---- */

struct wnid {
	const char *id;
	size_t line;       /* from 1, which is also the class's index plus one */
};

static int by_id(const void *a, const void *b)
{
	const struct wnid *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Splits `text` (a copy, cut in place) into its lines; *ids is malloc'd. */
static int parse_wnids(char *text, struct wnid **ids, size_t *count, vgg_error *err)
{
	size_t lines = 0, n = 0;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	/* A last line without a newline counts too. */
	size_t len = strlen(text);
	lines += len && text[len - 1] != '\n';
	*ids = malloc((lines ? lines : 1) * sizeof **ids);
	if (!*ids)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	for (char *line = text; *line; n++) {
		char *end = strchr(line, '\n');
		char *next = end ? end + 1 : line + strlen(line);
		if (end)
			*end = '\0';
		else
			end = next;
		while (end > line && end[-1] == '\r')
			*--end = '\0';
		if (end == line)
			return vgg__fail(err, VGG_EPARSE, "WordNet id list, line %zu: blank line", n + 1);
		for (const unsigned char *c = (const unsigned char *)line; *c; c++)
			if (*c <= ' ' || *c == 0x7f)
				return vgg__fail(err, VGG_EPARSE, "WordNet id list, line %zu: '%.40s' is "
				                 "not one WordNet id (one a line, such as n01440764)",
				                 n + 1, line);
		(*ids)[n] = (struct wnid){line, n + 1};
		line = next;
	}
	*count = n;
	return VGG_OK;
}

int vgg_darknet_permute_classes(vgg_tensor_set *set, const char *fc, const char *wnids,
                                vgg_error *err)
{
	char wname[128], bname[128];
	snprintf(wname, sizeof wname, "%s.weight", fc);
	snprintf(bname, sizeof bname, "%s.bias", fc);
	const vgg_set_tensor *w = vgg_tensor_set_find(set, wname);
	const vgg_set_tensor *b = vgg_tensor_set_find(set, bname);
	if (!w || !b)
		return vgg__fail(err, VGG_ENOTFOUND, "no tensor '%.100s' to put in WordNet id order",
		                 w ? bname : wname);
	if (w->ndim < 2 || b->ndim != 1 || w->shape[0] != b->shape[0])
		return vgg__fail(err, VGG_ESHAPE, "%.100s's weight and bias do not have one row per "
		                 "class", fc);
	uint64_t rows = (uint64_t)b->shape[0], row = rows ? w->numel / rows : 0;

	char *text = strdup(wnids);
	struct wnid *ids = NULL;
	float *weight = NULL, *bias = NULL;
	size_t count = 0;
	int rc = text ? parse_wnids(text, &ids, &count, err)
	              : vgg__fail(err, VGG_ENOMEM, "out of memory");
	if (!rc && count != rows)
		rc = vgg__fail(err, VGG_ESHAPE, "the WordNet id list has %zu ids, but %.100s has "
		               "%llu classes", count, fc, (unsigned long long)rows);
	if (!rc)
		qsort(ids, count, sizeof *ids, by_id);
	for (size_t i = 1; !rc && i < count; i++)
		if (strcmp(ids[i - 1].id, ids[i].id) == 0)
			rc = vgg__fail(err, VGG_EPARSE, "WordNet id list: '%.40s' is on lines %zu and "
			               "%zu", ids[i].id, ids[i - 1].line, ids[i].line);
	/* Nothing changes until the allocations that can fail have been made; the new rows go
	 * to new memory, as the old may be the input file's. */
	if (!rc && (!(weight = malloc(w->numel ? (size_t)w->numel * sizeof *weight : 1)) ||
	            !(bias = malloc(count ? count * sizeof *bias : 1)))) {
		free(weight);
		rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
	}
	if (!rc) {
		/* The class sorted j-th was line ids[j].line, so its row comes from there. */
		for (size_t j = 0; j < count; j++) {
			memcpy(weight + j * row, w->data + (ids[j].line - 1) * row, row * sizeof *weight);
			bias[j] = b->data[ids[j].line - 1];
		}
		vgg__tensor_set_replace(set, w, weight);
		vgg__tensor_set_replace(set, b, bias);
	}
	free(ids);
	free(text);
	return rc;
}
