/*
 * prototxt.c: a Caffe deploy .prototxt, read as our notation (vgg-config(5)) for vgg-convert.
 *
 * The text is protobuf's text format, as far as Caffe's files use it:
 *   message := (field [";" | ","])*
 *   field   := NAME ":" value | NAME [":"] "{" message "}"
 *   value   := NUMBER | STRING | ENUM ; STRING in "..." or '...' with backslash escapes
 * '#' starts a comment that runs to the end of the line; a field may repeat.  Nesting is
 * bounded by MAX_DEPTH and every token by MAX_TOKEN bytes, so hostile text cannot run the
 * stack or memory out.
 *
 * The NetParameter read from it (Caffe's caffe.proto):
 *   name; input + input_dim x4 (N, C, H, W) | input_shape { dim x4 };
 *   layer { name type bottom top convolution_param pooling_param inner_product_param
 *           lrn_param input_param }  (V2: type a string, "Convolution")
 *   layers { ... }                    (V1: type an enum, CONVOLUTION)
 * The layers must form a chain, each taking the blob the one before it made.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_DEPTH 16
#define MAX_TOKEN 255
/* vgg-config(5)'s limits, so that whatever is produced here parses there. */
#define MAX_WIDTH 1048576
#define MAX_KERNEL 31
#define MAX_SIDE 65536

/* ---- The text format, read into a tree of fields ---- */

/* Allocated with its strings behind it, so a field costs little more than its text. */
struct field {
	const char *key;
	const char *value;          /* a scalar's text, quotes and escapes removed; "" else */
	int line;
	int message;                /* a `{ ... }` whose fields are `child` */
	struct field *child, *next;
};

enum token_kind { T_END, T_NAME, T_NUMBER, T_STRING, T_PUNCT };

struct token {
	enum token_kind kind;
	char text[MAX_TOKEN + 1];
	int line;
};

struct lexer {
	const char *p;
	int line;
	const char *origin;
	vgg_error *err;
};

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static int too_long(struct lexer *lx)
{
	return vgg__fail(lx->err, VGG_EPARSE, "%s:%d: token longer than %d bytes", lx->origin,
	                 lx->line, MAX_TOKEN);
}

static int read_string(struct lexer *lx, struct token *t)
{
	char quote = *lx->p++;
	size_t n = 0;
	for (;;) {
		char c = *lx->p;
		if (c == 0 || c == '\n')
			return vgg__fail(lx->err, VGG_EPARSE, "%s:%d: unterminated string",
			                 lx->origin, lx->line);
		lx->p++;
		if (c == quote)
			break;
		if (c == '\\') {
			c = *lx->p;
			if (c == 0 || c == '\n')
				continue;
			lx->p++;
			c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
		}
		if (n == MAX_TOKEN)
			return too_long(lx);
		t->text[n++] = c;
	}
	t->text[n] = 0;
	t->kind = T_STRING;
	return VGG_OK;
}

static int next_token(struct lexer *lx, struct token *t)
{
	for (;;) {
		char c = *lx->p;
		if (c == '\n') {
			lx->line++;
			lx->p++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			lx->p++;
		} else if (c == '#') {
			while (*lx->p && *lx->p != '\n')
				lx->p++;
		} else {
			break;
		}
	}
	char c = *lx->p;
	t->line = lx->line;
	t->text[0] = 0;
	if (c == 0) {
		t->kind = T_END;
		return VGG_OK;
	}
	if (c == '"' || c == '\'')
		return read_string(lx, t);
	if (strchr("{}:;,", c)) {
		t->kind = T_PUNCT;
		t->text[0] = c;
		t->text[1] = 0;
		lx->p++;
		return VGG_OK;
	}
	/* A number's exponent and sign ride along; whether it is a number is judged on use. */
	int number = (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.';
	if (!number && !is_name_char(c)) {
		return vgg__fail(lx->err, VGG_EPARSE, "%s:%d: unexpected character '%c'",
		                 lx->origin, lx->line, c > ' ' && c < 127 ? c : '?');
	}
	size_t n = 0;
	while (is_name_char(lx->p[n]) || (number && lx->p[n] && strchr(".+-", lx->p[n]))) {
		if (n == MAX_TOKEN)
			return too_long(lx);
		t->text[n] = lx->p[n];
		n++;
	}
	t->text[n] = 0;
	lx->p += n;
	t->kind = number ? T_NUMBER : T_NAME;
	return VGG_OK;
}

static int expected(struct lexer *lx, const struct token *t, const char *what)
{
	if (t->kind == T_END)
		return vgg__fail(lx->err, VGG_EPARSE, "%s:%d: expected %s, found end of input",
		                 lx->origin, t->line, what);
	return vgg__fail(lx->err, VGG_EPARSE, "%s:%d: expected %s, found %s'%s'", lx->origin,
	                 t->line, what, t->kind == T_STRING ? "string " : "", t->text);
}

static void free_fields(struct field *f)
{
	while (f) {
		struct field *next = f->next;
		free_fields(f->child);
		free(f);
		f = next;
	}
}

/* The fields up to the '}' that closes a message at `depth`, or to the end at depth 0. */
static int parse_message(struct lexer *lx, int depth, struct field **out)
{
	struct field **tail = out;
	struct token t;
	int rc;
	for (;;) {
		if ((rc = next_token(lx, &t)))
			return rc;
		if (t.kind == T_PUNCT && (t.text[0] == ';' || t.text[0] == ',') && tail != out)
			continue;
		if (t.kind == T_END && depth == 0)
			return VGG_OK;
		if (t.kind == T_PUNCT && t.text[0] == '}' && depth > 0)
			return VGG_OK;
		if (t.kind != T_NAME)
			return expected(lx, &t, depth ? "a field name or '}'" : "a field name");
		struct token key = t;
		const char *value = "";
		if ((rc = next_token(lx, &t)))
			return rc;
		int colon = t.kind == T_PUNCT && t.text[0] == ':';
		if (colon && (rc = next_token(lx, &t)))
			return rc;
		int message = t.kind == T_PUNCT && t.text[0] == '{';
		if (colon && (t.kind == T_NAME || t.kind == T_NUMBER || t.kind == T_STRING))
			value = t.text;
		else if (!message)
			return expected(lx, &t, "a value or '{'");
		size_t key_len = strlen(key.text), value_len = strlen(value);
		struct field *f = calloc(1, sizeof *f + key_len + value_len + 2);
		if (!f)
			return vgg__fail(lx->err, VGG_ENOMEM, "out of memory");
		*tail = f;
		tail = &f->next;
		f->key = memcpy(f + 1, key.text, key_len + 1);
		f->value = memcpy((char *)(f + 1) + key_len + 1, value, value_len + 1);
		f->line = key.line;
		f->message = message;
		if (!message)
			continue;
		if (depth == MAX_DEPTH)
			return vgg__fail(lx->err, VGG_EPARSE, "%s:%d: nested deeper than %d levels",
			                 lx->origin, t.line, MAX_DEPTH);
		if ((rc = parse_message(lx, depth + 1, &f->child)))
			return rc;
	}
}

/* ---- The net, walked layer by layer into the notation ---- */

enum kind { K_CONV, K_LRN, K_POOL, K_FC, K_SOFTMAX, K_BN, K_SCALE, K_PASS, K_INPUT, K_DATA,
            K_IGNORE };

/*
 * V2's type strings and V1's enums.  ReLU and dropout pass the blob on and are implied by
 * the notation; Accuracy reads beside the chain.  SoftmaxWithLoss is taken as soft-max, as
 * it computes the same soft-max before the loss, so train nets convert too.
 */
static const struct {
	const char *v2, *v1;
	enum kind kind;
} TYPES[] = {
	{"Convolution", "CONVOLUTION", K_CONV}, {"LRN", "LRN", K_LRN},
	{"Pooling", "POOLING", K_POOL}, {"InnerProduct", "INNER_PRODUCT", K_FC},
	{"Softmax", "SOFTMAX", K_SOFTMAX}, {"SoftmaxWithLoss", "SOFTMAX_LOSS", K_SOFTMAX},
	{"BatchNorm", NULL, K_BN}, {"Scale", NULL, K_SCALE},
	{"ReLU", "RELU", K_PASS}, {"Dropout", "DROPOUT", K_PASS},
	{"Input", NULL, K_INPUT}, {"Data", "DATA", K_DATA}, {"Accuracy", "ACCURACY", K_IGNORE},
};

struct entry {
	enum kind kind;       /* K_CONV, K_LRN, K_POOL, K_FC or K_SOFTMAX */
	int kernel, width, batch_norm;
};

struct walk {
	const char *origin;
	vgg_error *err;
	const struct field *layer;  /* the one being read, for messages */
	const char *layer_name;
	int in_c, in_h, in_w, have_input;
	struct entry *entries;
	size_t count, cap;
	char **names;
	size_t name_count;
	const char *blob;           /* the chain's current blob; NULL until known */
	enum kind last;             /* the kind of the layer before, for BatchNorm and Scale */
	int seen_fc, seen_softmax;
};

static const struct field *find(const struct field *msg, const char *key)
{
	for (const struct field *f = msg ? msg->child : NULL; f; f = f->next)
		if (strcmp(f->key, key) == 0)
			return f;
	return NULL;
}

static const char *value_of(const struct field *msg, const char *key)
{
	const struct field *f = find(msg, key);
	return f && !f->message ? f->value : NULL;
}

static int refuse(struct walk *w, const char *what)
{
	return vgg__fail(w->err, VGG_EPARSE, "%s:%d: layer '%s': %s", w->origin, w->layer->line,
	                 w->layer_name, what);
}

static int integer(struct walk *w, const struct field *f, long min, long max, long *out)
{
	char *end = NULL;
	errno = 0;
	long v = f->message ? 0 : strtol(f->value, &end, 10);
	if (f->message || errno || end == f->value || *end || v < min || v > max)
		return vgg__fail(w->err, VGG_EPARSE, "%s:%d: %s must be a whole number from %ld to %ld",
		                 w->origin, f->line, f->key, min, max);
	*out = v;
	return VGG_OK;
}

/*
 * A size that Caffe gives as a repeated `key` (one value for both axes, or height then
 * width) or as `prefix_h` and `prefix_w`.  The notation's windows are square, so all
 * values given must agree; `def` when none is.
 */
static int square(struct walk *w, const struct field *param, const char *key,
                  const char *prefix, long def, long max, long *out)
{
	char key_h[32], key_w[32];
	snprintf(key_h, sizeof key_h, "%s_h", prefix);
	snprintf(key_w, sizeof key_w, "%s_w", prefix);
	int n = 0, rc;
	for (const struct field *f = param ? param->child : NULL; f; f = f->next) {
		if (strcmp(f->key, key) != 0 && strcmp(f->key, key_h) != 0 &&
		    strcmp(f->key, key_w) != 0)
			continue;
		long v;
		if ((rc = integer(w, f, 0, max, &v)))
			return rc;
		if (n++ && v != *out) {
			char msg[96];
			snprintf(msg, sizeof msg, "%s differs between height and width", key);
			return refuse(w, msg);
		}
		*out = v;
	}
	if (!n)
		*out = def;
	return VGG_OK;
}

/* dim x4 (N, C, H, W) of `shape`, or the top-level input_dim fields when shape is the net. */
static int read_shape(struct walk *w, const struct field *shape, const char *key, int line)
{
	long dims[4];
	int n = 0, rc;
	if (w->have_input)
		return vgg__fail(w->err, VGG_EPARSE, "%s:%d: the input is given twice", w->origin,
		                 line);
	for (const struct field *f = shape ? shape->child : NULL; f; f = f->next) {
		if (strcmp(f->key, key) != 0)
			continue;
		if (n == 4)
			return vgg__fail(w->err, VGG_EPARSE, "%s:%d: more than 4 input dimensions",
			                 w->origin, f->line);
		if ((rc = integer(w, f, 1, MAX_SIDE, &dims[n++])))
			return rc;
	}
	if (n != 4)
		return vgg__fail(w->err, VGG_EPARSE, "%s:%d: the input needs 4 dimensions "
		                 "(N, C, H, W), found %d", w->origin, line, n);
	w->in_c = (int)dims[1];
	w->in_h = (int)dims[2];
	w->in_w = (int)dims[3];
	w->have_input = 1;
	return VGG_OK;
}

static int push_entry(struct walk *w, enum kind kind, int kernel, int width)
{
	if (w->count == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 32;
		void *grown = realloc(w->entries, cap * sizeof *w->entries);
		if (!grown)
			return vgg__fail(w->err, VGG_ENOMEM, "out of memory");
		w->entries = grown;
		w->cap = cap;
	}
	w->entries[w->count++] = (struct entry){kind, kernel, width, 0};
	return VGG_OK;
}

/* Weight layers are named so that the converter can find their blobs. */
static int push_name(struct walk *w)
{
	char **grown = realloc(w->names, (w->name_count + 1) * sizeof *w->names);
	if (!grown)
		return vgg__fail(w->err, VGG_ENOMEM, "out of memory");
	w->names = grown;
	if (!(w->names[w->name_count] = strdup(w->layer_name)))
		return vgg__fail(w->err, VGG_ENOMEM, "out of memory");
	w->name_count++;
	return VGG_OK;
}

static int read_conv(struct walk *w)
{
	const struct field *p = find(w->layer, "convolution_param");
	long width, k, pad, stride, dilation, group = 1;
	int rc;
	const struct field *f = find(p, "num_output");
	if (!f)
		return refuse(w, "no num_output");
	if ((rc = integer(w, f, 1, MAX_WIDTH, &width)) ||
	    (rc = square(w, p, "kernel_size", "kernel", 0, MAX_KERNEL, &k)) ||
	    (rc = square(w, p, "pad", "pad", 0, MAX_KERNEL, &pad)) ||
	    (rc = square(w, p, "stride", "stride", 1, MAX_SIDE, &stride)) ||
	    (rc = square(w, p, "dilation", "dilation", 1, MAX_SIDE, &dilation)) ||
	    ((f = find(p, "group")) && (rc = integer(w, f, 1, MAX_WIDTH, &group))))
		return rc;
	char msg[128];
	if (k % 2 == 0) {
		snprintf(msg, sizeof msg, "kernel size %ld, but the notation's kernels are odd", k);
		return refuse(w, msg);
	}
	if (stride != 1 || dilation != 1 || group != 1) {
		const char *what = stride != 1 ? "stride" : dilation != 1 ? "dilation" : "group";
		snprintf(msg, sizeof msg, "%s %ld, but the notation's convolutions have %s 1", what,
		         stride != 1 ? stride : dilation != 1 ? dilation : group, what);
		return refuse(w, msg);
	}
	if (pad != (k - 1) / 2) {
		snprintf(msg, sizeof msg, "pad %ld, but a %ldx%ld convolution in the notation has "
		         "pad %ld", pad, k, k, (k - 1) / 2);
		return refuse(w, msg);
	}
	if ((rc = push_entry(w, K_CONV, (int)k, (int)width)))
		return rc;
	return push_name(w);
}

static int read_pool(struct walk *w)
{
	const struct field *p = find(w->layer, "pooling_param");
	const char *pool = value_of(p, "pool");
	const char *global = value_of(p, "global_pooling");
	long k, stride, pad;
	int rc;
	/* Caffe pools MAX when `pool` is not given. */
	if (pool && strcmp(pool, "MAX") != 0 && strcmp(pool, "0") != 0)
		return refuse(w, "the notation has max pooling only");
	if (global && strcmp(global, "false") != 0)
		return refuse(w, "global pooling; the notation has 2x2 pooling with stride 2 only");
	if ((rc = square(w, p, "kernel_size", "kernel", 0, MAX_SIDE, &k)) ||
	    (rc = square(w, p, "stride", "stride", 1, MAX_SIDE, &stride)) ||
	    (rc = square(w, p, "pad", "pad", 0, MAX_SIDE, &pad)))
		return rc;
	if (k != 2 || stride != 2 || pad != 0) {
		char msg[128];
		snprintf(msg, sizeof msg, "%ldx%ld pooling with stride %ld and pad %ld; the notation "
		         "has 2x2 with stride 2 only", k, k, stride, pad);
		return refuse(w, msg);
	}
	return push_entry(w, K_POOL, 2, 0);
}

static int read_lrn(struct walk *w)
{
	const struct field *p = find(w->layer, "lrn_param");
	const char *region = value_of(p, "norm_region");
	const struct field *f = find(p, "local_size");
	long size = 5;
	int rc;
	/*
	 * Only the window is checked: Caffe divides alpha by the window size where the paper's
	 * AlexNet LRN does not, so files disagree on how to write the same alpha.
	 */
	if (f && (rc = integer(w, f, 1, MAX_SIDE, &size)))
		return rc;
	if (size != 5 || (region && strcmp(region, "ACROSS_CHANNELS") != 0))
		return refuse(w, "the notation's LRN runs across 5 channels");
	return push_entry(w, K_LRN, 0, 0);
}

static int read_fc(struct walk *w)
{
	const struct field *f = find(find(w->layer, "inner_product_param"), "num_output");
	long width;
	int rc;
	if (!f)
		return refuse(w, "no num_output");
	if ((rc = integer(w, f, 1, MAX_WIDTH, &width)) || (rc = push_entry(w, K_FC, 0, (int)width)))
		return rc;
	w->seen_fc = 1;
	return push_name(w);
}

/* Checks that a layer continues the chain, and moves the chain on to its top. */
static int follow_chain(struct walk *w, enum kind kind)
{
	const char *bottom = value_of(w->layer, "bottom");
	const char *top = value_of(w->layer, "top");
	if (kind == K_INPUT || kind == K_DATA) {
		w->blob = top;
		return VGG_OK;
	}
	if (kind == K_IGNORE)
		return VGG_OK;
	if (w->blob && bottom && strcmp(bottom, w->blob) != 0) {
		char msg[MAX_TOKEN + 96];
		snprintf(msg, sizeof msg, "takes '%s' where the chain of layers has '%s'", bottom,
		         w->blob);
		return refuse(w, msg);
	}
	if (top)
		w->blob = top;
	return VGG_OK;
}

static int read_layer(struct walk *w, const struct field *layer)
{
	const char *type = value_of(layer, "type");
	w->layer = layer;
	w->layer_name = value_of(layer, "name");
	if (!w->layer_name)
		w->layer_name = "";
	if (!type)
		return refuse(w, "no type");
	enum kind kind = K_IGNORE;
	size_t i, n = sizeof TYPES / sizeof *TYPES;
	for (i = 0; i < n; i++) {
		if (strcmp(type, TYPES[i].v2) == 0 || (TYPES[i].v1 && strcmp(type, TYPES[i].v1) == 0)) {
			kind = TYPES[i].kind;
			break;
		}
	}
	char msg[MAX_TOKEN + 96];
	if (i == n) {
		snprintf(msg, sizeof msg, "type %s has no counterpart in the notation", type);
		return refuse(w, msg);
	}
	int rc = follow_chain(w, kind);
	if (rc)
		return rc;
	if (w->seen_softmax && kind != K_PASS && kind != K_IGNORE)
		return refuse(w, "follows the soft-max");
	if (w->seen_fc && (kind == K_CONV || kind == K_POOL || kind == K_LRN || kind == K_BN))
		return refuse(w, "follows an inner product; the notation has only FC layers there");
	switch (kind) {
	case K_CONV:
		rc = read_conv(w);
		break;
	case K_POOL:
		rc = read_pool(w);
		break;
	case K_LRN:
		rc = read_lrn(w);
		break;
	case K_FC:
		rc = read_fc(w);
		break;
	case K_SOFTMAX:
		rc = push_entry(w, K_SOFTMAX, 0, 0);
		w->seen_softmax = 1;
		break;
	case K_BN:
		/* Our BN sits between a conv and its ReLU, as Caffe's VGG-BN nets put it. */
		if (w->last != K_CONV)
			return refuse(w, "BatchNorm must follow a convolution directly");
		w->entries[w->count - 1].batch_norm = 1;
		break;
	case K_SCALE:
		/* A Scale is only BatchNorm's learned scale and shift, which our BN includes. */
		if (w->last != K_BN)
			return refuse(w, "Scale must follow a BatchNorm directly");
		break;
	case K_INPUT:
		rc = read_shape(w, find(find(layer, "input_param"), "shape"), "dim", layer->line);
		break;
	case K_PASS:
	case K_DATA:
	case K_IGNORE:
		break;
	}
	w->last = kind;
	return rc;
}

/* The entries in the notation, as vgg_config_to_text writes it. */
static char *to_text(const struct walk *w)
{
	size_t cap = 64 + w->count * 32, len;
	char *text = malloc(cap);
	if (!text)
		return NULL;
	len = (size_t)snprintf(text, cap, "input %dx%dx%d\n", w->in_h, w->in_w, w->in_c);
	for (size_t i = 0; i < w->count; i++) {
		const struct entry *e = &w->entries[i];
		char *p = text + len;
		size_t room = cap - len;
		switch (e->kind) {
		case K_CONV:
			len += (size_t)snprintf(p, room, "conv%d-%d%s\n", e->kernel, e->width,
			                        e->batch_norm ? " BN" : "");
			break;
		case K_LRN:
			len += (size_t)snprintf(p, room, "LRN\n");
			break;
		case K_POOL:
			len += (size_t)snprintf(p, room, "maxpool\n");
			break;
		case K_FC:
			len += (size_t)snprintf(p, room, "FC-%d\n", e->width);
			break;
		default:
			len += (size_t)snprintf(p, room, "soft-max\n");
			break;
		}
	}
	return text;
}

/* The net's own name is not kept: the notation has none, and vgg-convert names the model. */
static int walk_net(struct walk *w, const struct field *net)
{
	int rc, inputs = 0;
	for (const struct field *f = net->child; f; f = f->next) {
		if (strcmp(f->key, "input") == 0) {
			if (inputs++)
				return vgg__fail(w->err, VGG_EPARSE, "%s:%d: more than one input",
				                 w->origin, f->line);
			w->blob = f->value;
		} else if (strcmp(f->key, "input_shape") == 0) {
			if ((rc = read_shape(w, f, "dim", f->line)))
				return rc;
		} else if (strcmp(f->key, "layer") == 0 || strcmp(f->key, "layers") == 0) {
			if (!f->message)
				return vgg__fail(w->err, VGG_EPARSE, "%s:%d: expected '{' after %s",
				                 w->origin, f->line, f->key);
			if ((rc = read_layer(w, f)))
				return rc;
		}
	}
	const struct field *dim = find(net, "input_dim");
	if (dim && (rc = read_shape(w, net, "input_dim", dim->line)))
		return rc;
	if (!w->have_input)
		return vgg__fail(w->err, VGG_EPARSE, "%s: no input size (input_dim, input_shape or "
		                 "an Input layer)", w->origin);
	if (!w->count)
		return vgg__fail(w->err, VGG_EPARSE, "%s: no layers", w->origin);
	return VGG_OK;
}

int vgg_caffe_prototxt(const char *text, const char *name, char **config, char ***names,
                       size_t *count, vgg_error *err)
{
	*config = NULL;
	*names = NULL;
	*count = 0;
	struct lexer lx = {text, 1, name ? name : "<inline>", err};
	struct field net = {.message = 1};
	struct walk w = {.origin = lx.origin, .err = err, .last = K_IGNORE};
	int rc = parse_message(&lx, 0, &net.child);
	if (!rc)
		rc = walk_net(&w, &net);
	if (!rc && !(*config = to_text(&w)))
		rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
	free_fields(net.child);
	free(w.entries);
	if (rc) {
		for (size_t i = 0; i < w.name_count; i++)
			free(w.names[i]);
		free(w.names);
		return rc;
	}
	*names = w.names;
	*count = w.name_count;
	return VGG_OK;
}
