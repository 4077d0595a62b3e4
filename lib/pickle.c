/*
 * pickle.c: the pickles of torch.save, read by a stack machine that builds values and calls
 * nothing.
 *
 * The layout (Python's Lib/pickletools.py; ../shared/FORMATS.md): a pickle is a stream of
 * opcodes, each one byte and then its arguments, ended by STOP; numbers are little-endian
 * unless said otherwise.
 *   1. PROTO n (protocol 2 to 5), FRAME u64 (a read-ahead hint of protocol 4, skipped);
 *   2. values: NONE, NEWTRUE, NEWFALSE; BININT1 u8, BININT2 u16, BININT i32, LONG1 n then
 *      an n-byte two's-complement integer (n <= 8 here); BINFLOAT, a big-endian double;
 *      strings SHORT_BINUNICODE u8, BINUNICODE u32, BINUNICODE8 u64 and Python 2's
 *      SHORT_BINSTRING u8 and BINSTRING i32, each a length and then that many bytes;
 *   3. containers: MARK pushes a mark; TUPLE, LIST and DICT take what lies above the
 *      topmost mark; EMPTY_TUPLE, TUPLE1-3, EMPTY_LIST, EMPTY_DICT; APPEND, APPENDS,
 *      SETITEM, SETITEMS add to the list or dict below;
 *   4. the memo: BINPUT u8, LONG_BINPUT u32 and MEMOIZE (the next index) store the top of
 *      the stack; BINGET u8, LONG_BINGET u32 push it again;
 *   5. objects: GLOBAL "module\nname\n" or STACK_GLOBAL (two strings) name a callable,
 *      REDUCE calls it with a tuple, NEWOBJ makes an instance of a class, BUILD sets an
 *      object's state; BINPERSID turns an id tuple into an object of the file's own (for
 *      torch, a storage).
 * Only collections.OrderedDict, the torch._utils functions that rebuild tensors and
 * parameters, and torch's storage types are known: REDUCE "calls" them by building the
 * value they would return.  Any other global is refused by name, including
 * torch.storage._load_from_bytes, which would unpickle a nested pickle with torch.load.
 * Each opcode makes at most one value and pushes at most one, so the stack, the memo (its
 * indices are bounded by the pickle's length) and every container stay proportional to
 * the input; the one copy, OrderedDict(pairs), is held to the pickle's length too.
 * Nothing recurses.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pickle.h"

struct vgg__pickle {
	const char *name;
	struct vgg__py **values;        /* every value made, to be freed */
	size_t nvalues, values_cap;
	const struct vgg__py **storages;
	size_t nstorages, storages_cap;
	/* The machine's state during one load. */
	const unsigned char *data;
	size_t size, pos, at;           /* at: the current opcode's offset */
	struct vgg__py **stack;
	size_t sp, stack_cap;
	size_t *marks;
	size_t nmarks, marks_cap;
	struct vgg__py **memo;
	size_t memo_len, memo_count;    /* slots allocated; slots set */
	size_t copied;                  /* items OrderedDict(pairs) copied: at most size */
};

static const struct {
	unsigned char code;
	const char *name;
} OPCODE_NAMES[] = {
	{'(', "MARK"}, {'.', "STOP"}, {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"},
	{'F', "FLOAT"}, {'I', "INT"}, {'J', "BININT"}, {'K', "BININT1"}, {'L', "LONG"},
	{'M', "BININT2"}, {'N', "NONE"}, {'P', "PERSID"}, {'Q', "BINPERSID"}, {'R', "REDUCE"},
	{'S', "STRING"}, {'T', "BINSTRING"}, {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"},
	{'X', "BINUNICODE"}, {'a', "APPEND"}, {'b', "BUILD"}, {'c', "GLOBAL"}, {'d', "DICT"},
	{'}', "EMPTY_DICT"}, {'e', "APPENDS"}, {'g', "GET"}, {'h', "BINGET"}, {'i', "INST"},
	{'j', "LONG_BINGET"}, {'l', "LIST"}, {']', "EMPTY_LIST"}, {'o', "OBJ"}, {'p', "PUT"},
	{'q', "BINPUT"}, {'r', "LONG_BINPUT"}, {'s', "SETITEM"}, {'t', "TUPLE"},
	{')', "EMPTY_TUPLE"}, {'u', "SETITEMS"}, {'G', "BINFLOAT"}, {0x80, "PROTO"},
	{0x81, "NEWOBJ"}, {0x82, "EXT1"}, {0x83, "EXT2"}, {0x84, "EXT4"}, {0x85, "TUPLE1"},
	{0x86, "TUPLE2"}, {0x87, "TUPLE3"}, {0x88, "NEWTRUE"}, {0x89, "NEWFALSE"},
	{0x8a, "LONG1"}, {0x8b, "LONG4"}, {'B', "BINBYTES"}, {'C', "SHORT_BINBYTES"},
	{0x8c, "SHORT_BINUNICODE"}, {0x8d, "BINUNICODE8"}, {0x8e, "BINBYTES8"},
	{0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"}, {0x91, "FROZENSET"}, {0x92, "NEWOBJ_EX"},
	{0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"}, {0x95, "FRAME"}, {0x96, "BYTEARRAY8"},
	{0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"},
};

static const struct {
	const char *module, *name;
	enum vgg__py_global which;
	enum vgg_dtype dtype;
} GLOBALS[] = {
	{"collections", "OrderedDict", VGG__GLOBAL_ORDERED_DICT, VGG_DTYPE_OTHER},
	{"torch._utils", "_rebuild_tensor", VGG__GLOBAL_REBUILD_TENSOR, VGG_DTYPE_OTHER},
	{"torch._utils", "_rebuild_tensor_v2", VGG__GLOBAL_REBUILD_TENSOR_V2, VGG_DTYPE_OTHER},
	{"torch._utils", "_rebuild_parameter", VGG__GLOBAL_REBUILD_PARAMETER, VGG_DTYPE_OTHER},
	{"torch", "FloatStorage", VGG__GLOBAL_STORAGE, VGG_DTYPE_F32},
	{"torch", "HalfStorage", VGG__GLOBAL_STORAGE, VGG_DTYPE_F16},
	{"torch", "BFloat16Storage", VGG__GLOBAL_STORAGE, VGG_DTYPE_BF16},
	{"torch", "DoubleStorage", VGG__GLOBAL_STORAGE, VGG_DTYPE_F64},
	{"torch", "LongStorage", VGG__GLOBAL_STORAGE, VGG_DTYPE_I64},
	{"torch", "IntStorage", VGG__GLOBAL_STORAGE, VGG_DTYPE_I32},
	{"torch", "ByteStorage", VGG__GLOBAL_STORAGE, VGG_DTYPE_U8},
};

static const char *const KIND_NAMES[] = {
	"None", "a bool", "an int", "a float", "a string", "a tuple", "a list", "a dict",
	"a global", "a storage", "a tensor",
};

static int bad(struct vgg__pickle *p, vgg_error *err, const char *fmt, ...) VGG__PRINTF(3, 4);

static int bad(struct vgg__pickle *p, vgg_error *err, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return vgg__fail(err, VGG_EPARSE, "'%s': bad pickle at byte %zu: %s", p->name, p->at,
	                 what);
}

static int oom(struct vgg__pickle *p, vgg_error *err)
{
	return vgg__fail(err, VGG_ENOMEM, "out of memory unpickling '%s'", p->name);
}

/* Makes room for `need` elements of `elem` bytes in the array whose pointer is at
 * `array_ptr`, doubling its capacity; 0 when out of memory. */
static int grow(void *array_ptr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 1;
	size_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	if (n > SIZE_MAX / elem)
		return 0;
	void *array;
	memcpy(&array, array_ptr, sizeof array);
	void *grown = realloc(array, n * elem);
	if (!grown)
		return 0;
	memcpy(array_ptr, &grown, sizeof grown);
	*cap = n;
	return 1;
}

static struct vgg__py *new_value(struct vgg__pickle *p, enum vgg__py_kind kind, size_t extra)
{
	if (!grow(&p->values, &p->values_cap, p->nvalues + 1, sizeof *p->values))
		return NULL;
	struct vgg__py *v = calloc(1, sizeof *v + extra);
	if (v) {
		v->kind = kind;
		p->values[p->nvalues++] = v;
	}
	return v;
}

static int push(struct vgg__pickle *p, struct vgg__py *v, vgg_error *err)
{
	if (!v || !grow(&p->stack, &p->stack_cap, p->sp + 1, sizeof *p->stack))
		return oom(p, err);
	p->stack[p->sp++] = v;
	return VGG_OK;
}

static int push_new(struct vgg__pickle *p, enum vgg__py_kind kind, vgg_error *err)
{
	return push(p, new_value(p, kind, 0), err);
}

/* Values below the topmost mark belong to an outer container: they cannot be popped. */
static size_t fence(const struct vgg__pickle *p)
{
	return p->nmarks ? p->marks[p->nmarks - 1] : 0;
}

static int pop(struct vgg__pickle *p, struct vgg__py **v, vgg_error *err)
{
	*v = NULL;
	if (p->sp <= fence(p))
		return bad(p, err, "stack underflow");
	*v = p->stack[--p->sp];
	return VGG_OK;
}

static int top(struct vgg__pickle *p, struct vgg__py **v, vgg_error *err)
{
	*v = NULL;
	if (p->sp <= fence(p))
		return bad(p, err, "stack underflow");
	*v = p->stack[p->sp - 1];
	return VGG_OK;
}

/* The arguments of the current opcode: `n` bytes, checked against the pickle's end. */
static int take(struct vgg__pickle *p, size_t n, const unsigned char **bytes, vgg_error *err)
{
	*bytes = NULL;
	if (n > p->size - p->pos)
		return bad(p, err, "truncated");
	*bytes = p->data + p->pos;
	p->pos += n;
	return VGG_OK;
}

static uint64_t le(const unsigned char *b, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static int append(struct vgg__pickle *p, struct vgg__py *seq, struct vgg__py *item,
                  vgg_error *err)
{
	if (!grow(&seq->u.seq.items, &seq->u.seq.cap, seq->u.seq.count + 1,
	          sizeof *seq->u.seq.items))
		return oom(p, err);
	seq->u.seq.items[seq->u.seq.count++] = item;
	return VGG_OK;
}

/* A new container of `kind` holding the stack's values from `from` up. */
static struct vgg__py *collect(struct vgg__pickle *p, enum vgg__py_kind kind, size_t from)
{
	struct vgg__py *v = new_value(p, kind, 0);
	size_t n = p->sp - from;
	if (!v || !grow(&v->u.seq.items, &v->u.seq.cap, n, sizeof *v->u.seq.items))
		return NULL;
	if (n)
		memcpy(v->u.seq.items, p->stack + from, n * sizeof *p->stack);
	v->u.seq.count = n;
	p->sp = from;
	return v;
}

static int pop_mark(struct vgg__pickle *p, size_t *mark, vgg_error *err)
{
	*mark = 0;
	if (!p->nmarks)
		return bad(p, err, "no MARK to pop to");
	*mark = p->marks[--p->nmarks];
	return VGG_OK;
}

static int string(struct vgg__pickle *p, uint64_t len, vgg_error *err)
{
	const unsigned char *b;
	if (len > p->size - p->pos)
		return bad(p, err, "truncated");
	int rc = take(p, (size_t)len, &b, err);
	if (rc)
		return rc;
	struct vgg__py *v = new_value(p, VGG__PY_STRING, (size_t)len + 1);
	if (!v)
		return oom(p, err);
	char *s = (char *)(v + 1);
	memcpy(s, b, (size_t)len);
	s[len] = '\0';
	v->u.str.s = s;
	v->u.str.len = (size_t)len;
	return push(p, v, err);
}

static int integer(struct vgg__pickle *p, int64_t i, enum vgg__py_kind kind, vgg_error *err)
{
	struct vgg__py *v = new_value(p, kind, 0);
	if (v)
		v->u.i = i;
	return push(p, v, err);
}

static int memo_put(struct vgg__pickle *p, uint64_t index, vgg_error *err)
{
	struct vgg__py *v;
	int rc = top(p, &v, err);
	if (rc)
		return rc;
	/* Picklers number memo entries from 0 up, one per value at most. */
	if (index > p->size)
		return bad(p, err, "memo index %llu is out of range", (unsigned long long)index);
	size_t old = p->memo_len;
	if (!grow(&p->memo, &p->memo_len, (size_t)index + 1, sizeof *p->memo))
		return oom(p, err);
	memset(p->memo + old, 0, (p->memo_len - old) * sizeof *p->memo);
	if (!p->memo[index])
		p->memo_count++;
	p->memo[index] = v;
	return VGG_OK;
}

static int memo_get(struct vgg__pickle *p, uint64_t index, vgg_error *err)
{
	if (index >= p->memo_len || !p->memo[index])
		return bad(p, err, "memo entry %llu is not set", (unsigned long long)index);
	return push(p, p->memo[index], err);
}

static int global(struct vgg__pickle *p, const char *module, size_t mlen, const char *name,
                  size_t nlen, vgg_error *err)
{
	for (size_t i = 0; i < sizeof GLOBALS / sizeof *GLOBALS; i++) {
		if (strlen(GLOBALS[i].module) == mlen && memcmp(GLOBALS[i].module, module, mlen) == 0 &&
		    strlen(GLOBALS[i].name) == nlen && memcmp(GLOBALS[i].name, name, nlen) == 0) {
			struct vgg__py *v = new_value(p, VGG__PY_GLOBAL, 0);
			if (v) {
				v->u.global.which = GLOBALS[i].which;
				v->u.global.dtype = GLOBALS[i].dtype;
			}
			return push(p, v, err);
		}
	}
	return vgg__fail(err, VGG_EPARSE,
	                 "'%s': refusing pickle global '%.*s.%.*s': only tensors are read",
	                 p->name, (int)(mlen < 100 ? mlen : 100), module,
	                 (int)(nlen < 100 ? nlen : 100), name);
}

/* GLOBAL's two arguments, each ended by a newline. */
static int global_lines(struct vgg__pickle *p, vgg_error *err)
{
	const char *line[2];
	size_t len[2];
	for (int i = 0; i < 2; i++) {
		const unsigned char *start = p->data + p->pos;
		const unsigned char *nl = memchr(start, '\n', p->size - p->pos);
		if (!nl)
			return bad(p, err, "truncated");
		line[i] = (const char *)start;
		len[i] = (size_t)(nl - start);
		p->pos += len[i] + 1;
	}
	return global(p, line[0], len[0], line[1], len[1], err);
}

static int stack_global(struct vgg__pickle *p, vgg_error *err)
{
	struct vgg__py *module, *name;
	int rc = pop(p, &name, err);
	if (!rc)
		rc = pop(p, &module, err);
	if (rc)
		return rc;
	if (module->kind != VGG__PY_STRING || name->kind != VGG__PY_STRING)
		return bad(p, err, "STACK_GLOBAL needs two strings");
	return global(p, module->u.str.s, module->u.str.len, name->u.str.s, name->u.str.len, err);
}

static int is_count(const struct vgg__py *v)
{
	return v->kind == VGG__PY_INT && v->u.i >= 0;
}

/* A persistent id ('storage', type, key, location, numel[, view_metadata]); the legacy
 * format's view_metadata is None or (view_key, offset, numel) within the root storage. */
static int persistent_load(struct vgg__pickle *p, vgg_error *err)
{
	struct vgg__py *pid;
	int rc = pop(p, &pid, err);
	if (rc)
		return rc;
	if (pid->kind != VGG__PY_TUPLE || pid->u.seq.count < 5 || pid->u.seq.count > 6)
		return bad(p, err, "a persistent id is not ('storage', type, key, location, numel)");
	struct vgg__py **it = pid->u.seq.items;
	if (!vgg__py_is_string(it[0], "storage") || it[1]->kind != VGG__PY_GLOBAL ||
	    it[1]->u.global.which != VGG__GLOBAL_STORAGE || it[2]->kind != VGG__PY_STRING ||
	    !is_count(it[4]))
		return bad(p, err, "a persistent id is not ('storage', type, key, location, numel)");
	struct vgg__py *v = new_value(p, VGG__PY_STORAGE, 0);
	if (!v || !grow(&p->storages, &p->storages_cap, p->nstorages + 1, sizeof *p->storages))
		return oom(p, err);
	v->u.storage.dtype = it[1]->u.global.dtype;
	v->u.storage.key = it[2];
	v->u.storage.numel = (uint64_t)it[4]->u.i;
	v->u.storage.view_numel = v->u.storage.numel;
	if (pid->u.seq.count == 6 && it[5]->kind != VGG__PY_NONE) {
		const struct vgg__py *view = it[5];
		if (view->kind != VGG__PY_TUPLE || view->u.seq.count != 3)
			return bad(p, err, "a storage's view is not (key, offset, numel)");
		struct vgg__py *const *vi = view->u.seq.items;
		if (vi[0]->kind != VGG__PY_STRING || !is_count(vi[1]) || !is_count(vi[2]) ||
		    (uint64_t)vi[1]->u.i > v->u.storage.numel ||
		    (uint64_t)vi[2]->u.i > v->u.storage.numel - (uint64_t)vi[1]->u.i)
			return bad(p, err, "a storage's view does not lie within the storage");
		v->u.storage.view_offset = (uint64_t)vi[1]->u.i;
		v->u.storage.view_numel = (uint64_t)vi[2]->u.i;
	}
	p->storages[p->nstorages++] = v;
	return push(p, v, err);
}

static int count_tuple(const struct vgg__py *v)
{
	if (v->kind != VGG__PY_TUPLE || v->u.seq.count > VGG_MAX_DIMS)
		return 0;
	for (size_t i = 0; i < v->u.seq.count; i++)
		if (!is_count(v->u.seq.items[i]))
			return 0;
	return 1;
}

/* _rebuild_tensor(storage, storage_offset, size, stride, ...) as a value. */
static int rebuild_tensor(struct vgg__pickle *p, struct vgg__py *const *args, vgg_error *err)
{
	if (args[0]->kind != VGG__PY_STORAGE || !is_count(args[1]) || !count_tuple(args[2]) ||
	    !count_tuple(args[3]) || args[2]->u.seq.count != args[3]->u.seq.count)
		return bad(p, err, "a tensor needs a storage, an offset, and as many sizes as "
		           "strides (at most %d)", VGG_MAX_DIMS);
	struct vgg__py *t = new_value(p, VGG__PY_TENSOR, 0);
	if (!t)
		return oom(p, err);
	t->u.tensor.storage = args[0];
	t->u.tensor.offset = (uint64_t)args[1]->u.i;
	t->u.tensor.size = args[2];
	t->u.tensor.stride = args[3];
	return push(p, t, err);
}

/* OrderedDict() or, as Python 2 pickled it, OrderedDict([[key, value], ...]). */
static int ordered_dict(struct vgg__pickle *p, struct vgg__py *const *args, size_t n,
                        vgg_error *err)
{
	struct vgg__py *d = new_value(p, VGG__PY_DICT, 0);
	if (!d)
		return oom(p, err);
	if (n == 1 && (args[0]->kind == VGG__PY_LIST || args[0]->kind == VGG__PY_TUPLE)) {
		/* The one opcode that copies a container: the memo could hand it the same long
		 * list again and again, so what it copies is bounded by the pickle's length. */
		if (args[0]->u.seq.count > (p->size - p->copied) / 2)
			return bad(p, err, "OrderedDict() copies more pairs than the pickle holds");
		p->copied += 2 * args[0]->u.seq.count;
		for (size_t i = 0; i < args[0]->u.seq.count; i++) {
			struct vgg__py *pair = args[0]->u.seq.items[i];
			if ((pair->kind != VGG__PY_LIST && pair->kind != VGG__PY_TUPLE) ||
			    pair->u.seq.count != 2)
				return bad(p, err, "OrderedDict() needs (key, value) pairs");
			int rc = append(p, d, pair->u.seq.items[0], err);
			if (!rc)
				rc = append(p, d, pair->u.seq.items[1], err);
			if (rc)
				return rc;
		}
	} else if (n != 0) {
		return bad(p, err, "OrderedDict() needs no argument or a list of pairs");
	}
	return push(p, d, err);
}

static int reduce(struct vgg__pickle *p, vgg_error *err)
{
	struct vgg__py *args, *f;
	int rc = pop(p, &args, err);
	if (!rc)
		rc = pop(p, &f, err);
	if (rc)
		return rc;
	if (args->kind != VGG__PY_TUPLE || f->kind != VGG__PY_GLOBAL)
		return bad(p, err, "REDUCE of %s with %s", KIND_NAMES[f->kind],
		           KIND_NAMES[args->kind]);
	struct vgg__py *const *a = args->u.seq.items;
	size_t n = args->u.seq.count;
	switch (f->u.global.which) {
	case VGG__GLOBAL_ORDERED_DICT:
		return ordered_dict(p, a, n, err);
	case VGG__GLOBAL_REBUILD_TENSOR:
		if (n != 4)
			return bad(p, err, "_rebuild_tensor() takes 4 arguments, not %zu", n);
		return rebuild_tensor(p, a, err);
	case VGG__GLOBAL_REBUILD_TENSOR_V2:
		if (n != 6 && n != 7)
			return bad(p, err, "_rebuild_tensor_v2() takes 6 or 7 arguments, not %zu", n);
		return rebuild_tensor(p, a, err);
	case VGG__GLOBAL_REBUILD_PARAMETER:
		if (n != 3 || a[0]->kind != VGG__PY_TENSOR)
			return bad(p, err, "_rebuild_parameter() takes a tensor and 2 more arguments");
		return push(p, a[0], err);
	case VGG__GLOBAL_STORAGE:
		break;
	}
	return bad(p, err, "a storage type is called");
}

/* BUILD: only the attributes torch's state_dict() hangs on its OrderedDict (_metadata),
 * which describe module versions and are not needed to read the tensors. */
static int build(struct vgg__pickle *p, vgg_error *err)
{
	struct vgg__py *state, *obj;
	int rc = pop(p, &state, err);
	if (!rc)
		rc = top(p, &obj, err);
	if (rc)
		return rc;
	if (obj->kind != VGG__PY_DICT || state->kind != VGG__PY_DICT)
		return bad(p, err, "BUILD of %s with %s state is not supported",
		           KIND_NAMES[obj->kind], KIND_NAMES[state->kind]);
	return VGG_OK;
}

static int newobj(struct vgg__pickle *p, vgg_error *err)
{
	struct vgg__py *args, *cls;
	int rc = pop(p, &args, err);
	if (!rc)
		rc = pop(p, &cls, err);
	if (rc)
		return rc;
	if (cls->kind != VGG__PY_GLOBAL || cls->u.global.which != VGG__GLOBAL_ORDERED_DICT ||
	    args->kind != VGG__PY_TUPLE || args->u.seq.count != 0)
		return bad(p, err, "NEWOBJ of anything but OrderedDict() is not supported");
	return push_new(p, VGG__PY_DICT, err);
}

/* APPENDS and SETITEMS: the values above the mark go into the container below it. */
static int add_marked(struct vgg__pickle *p, enum vgg__py_kind kind, vgg_error *err)
{
	size_t mark;
	int rc = pop_mark(p, &mark, err);
	if (rc)
		return rc;
	if (mark <= fence(p) || p->stack[mark - 1]->kind != kind)
		return bad(p, err, "%s with no %s below the mark",
		           kind == VGG__PY_LIST ? "APPENDS" : "SETITEMS",
		           kind == VGG__PY_LIST ? "list" : "dict");
	if (kind == VGG__PY_DICT && (p->sp - mark) % 2)
		return bad(p, err, "SETITEMS with a key and no value");
	struct vgg__py *c = p->stack[mark - 1];
	for (size_t i = mark; i < p->sp; i++)
		if ((rc = append(p, c, p->stack[i], err)))
			return rc;
	p->sp = mark;
	return VGG_OK;
}

/* APPEND and SETITEM: the top one or two values go into the container below them. */
static int add_one(struct vgg__pickle *p, enum vgg__py_kind kind, vgg_error *err)
{
	size_t n = kind == VGG__PY_DICT ? 2 : 1;
	if (p->sp < fence(p) + n + 1 || p->stack[p->sp - n - 1]->kind != kind)
		return bad(p, err, "%s with no %s below", kind == VGG__PY_LIST ? "APPEND" : "SETITEM",
		           kind == VGG__PY_LIST ? "list" : "dict");
	struct vgg__py *c = p->stack[p->sp - n - 1];
	for (size_t i = p->sp - n; i < p->sp; i++) {
		int rc = append(p, c, p->stack[i], err);
		if (rc)
			return rc;
	}
	p->sp -= n;
	return VGG_OK;
}

static int tuple_n(struct vgg__pickle *p, size_t n, vgg_error *err)
{
	if (p->sp < fence(p) + n)
		return bad(p, err, "stack underflow");
	return push(p, collect(p, VGG__PY_TUPLE, p->sp - n), err);
}

static int from_mark(struct vgg__pickle *p, enum vgg__py_kind kind, vgg_error *err)
{
	size_t mark;
	int rc = pop_mark(p, &mark, err);
	if (rc)
		return rc;
	if (kind == VGG__PY_DICT && (p->sp - mark) % 2)
		return bad(p, err, "DICT with a key and no value");
	return push(p, collect(p, kind, mark), err);
}

static const char *opcode_name(unsigned op)
{
	for (size_t i = 0; i < sizeof OPCODE_NAMES / sizeof *OPCODE_NAMES; i++)
		if (OPCODE_NAMES[i].code == op)
			return OPCODE_NAMES[i].name;
	return NULL;
}

/* One opcode: VGG_OK, an error, or 1 at STOP. */
static int step(struct vgg__pickle *p, vgg_error *err)
{
	const unsigned char *b;
	struct vgg__py *v;
	int rc;
	unsigned op = p->data[p->pos++];
	switch (op) {
	case 0x80: /* PROTO */
		if ((rc = take(p, 1, &b, err)))
			return rc;
		if (b[0] < 2 || b[0] > 5)
			return bad(p, err, "protocol %u is not supported (2 to 5 are)", b[0]);
		return VGG_OK;
	case 0x95: /* FRAME */
		if ((rc = take(p, 8, &b, err)))
			return rc;
		return le(b, 8) > p->size - p->pos ? bad(p, err, "frame runs past the end") : VGG_OK;
	case 'c': /* GLOBAL */
		return global_lines(p, err);
	case 0x93: /* STACK_GLOBAL */
		return stack_global(p, err);
	case 'q': /* BINPUT */
		return (rc = take(p, 1, &b, err)) ? rc : memo_put(p, b[0], err);
	case 'r': /* LONG_BINPUT */
		return (rc = take(p, 4, &b, err)) ? rc : memo_put(p, le(b, 4), err);
	case 0x94: /* MEMOIZE */
		return memo_put(p, p->memo_count, err);
	case 'h': /* BINGET */
		return (rc = take(p, 1, &b, err)) ? rc : memo_get(p, b[0], err);
	case 'j': /* LONG_BINGET */
		return (rc = take(p, 4, &b, err)) ? rc : memo_get(p, le(b, 4), err);
	case '(': /* MARK */
		if (!grow(&p->marks, &p->marks_cap, p->nmarks + 1, sizeof *p->marks))
			return oom(p, err);
		p->marks[p->nmarks++] = p->sp;
		return VGG_OK;
	case ')': /* EMPTY_TUPLE */
		return push_new(p, VGG__PY_TUPLE, err);
	case 't': /* TUPLE */
		return from_mark(p, VGG__PY_TUPLE, err);
	case 0x85: /* TUPLE1 */
	case 0x86: /* TUPLE2 */
	case 0x87: /* TUPLE3 */
		return tuple_n(p, op - 0x84, err);
	case ']': /* EMPTY_LIST */
		return push_new(p, VGG__PY_LIST, err);
	case 'l': /* LIST */
		return from_mark(p, VGG__PY_LIST, err);
	case 'a': /* APPEND */
		return add_one(p, VGG__PY_LIST, err);
	case 'e': /* APPENDS */
		return add_marked(p, VGG__PY_LIST, err);
	case '}': /* EMPTY_DICT */
		return push_new(p, VGG__PY_DICT, err);
	case 'd': /* DICT */
		return from_mark(p, VGG__PY_DICT, err);
	case 's': /* SETITEM */
		return add_one(p, VGG__PY_DICT, err);
	case 'u': /* SETITEMS */
		return add_marked(p, VGG__PY_DICT, err);
	case 'X': /* BINUNICODE */
	case 'T': /* BINSTRING */
		if ((rc = take(p, 4, &b, err)))
			return rc;
		if (op == 'T' && (b[3] & 0x80))
			return bad(p, err, "negative string length");
		return string(p, le(b, 4), err);
	case 0x8c: /* SHORT_BINUNICODE */
	case 'U': /* SHORT_BINSTRING */
		return (rc = take(p, 1, &b, err)) ? rc : string(p, b[0], err);
	case 0x8d: /* BINUNICODE8 */
		return (rc = take(p, 8, &b, err)) ? rc : string(p, le(b, 8), err);
	case 'J': /* BININT */
		return (rc = take(p, 4, &b, err)) ? rc :
		       integer(p, (int32_t)(uint32_t)le(b, 4), VGG__PY_INT, err);
	case 'K': /* BININT1 */
		return (rc = take(p, 1, &b, err)) ? rc : integer(p, b[0], VGG__PY_INT, err);
	case 'M': /* BININT2 */
		return (rc = take(p, 2, &b, err)) ? rc : integer(p, (int64_t)le(b, 2), VGG__PY_INT, err);
	case 0x8a: { /* LONG1 */
		if ((rc = take(p, 1, &b, err)))
			return rc;
		unsigned n = b[0];
		if (n > 8)
			return bad(p, err, "an integer of %u bytes is too large", n);
		if ((rc = take(p, n, &b, err)))
			return rc;
		uint64_t u = le(b, (int)n);
		if (n && n < 8 && (b[n - 1] & 0x80))
			u |= ~(uint64_t)0 << (8 * n);  /* sign-extend */
		return integer(p, (int64_t)u, VGG__PY_INT, err);
	}
	case 'N': /* NONE */
		return push_new(p, VGG__PY_NONE, err);
	case 0x88: /* NEWTRUE */
	case 0x89: /* NEWFALSE */
		return integer(p, op == 0x88, VGG__PY_BOOL, err);
	case 'G': { /* BINFLOAT */
		if ((rc = take(p, 8, &b, err)))
			return rc;
		uint64_t u = 0;
		for (int i = 0; i < 8; i++)
			u = u << 8 | b[i];
		if (!(v = new_value(p, VGG__PY_FLOAT, 0)))
			return oom(p, err);
		memcpy(&v->u.f, &u, sizeof u);
		return push(p, v, err);
	}
	case 'R': /* REDUCE */
		return reduce(p, err);
	case 'b': /* BUILD */
		return build(p, err);
	case 'Q': /* BINPERSID */
		return persistent_load(p, err);
	case 0x81: /* NEWOBJ */
		return newobj(p, err);
	case '.': /* STOP */
		if (p->sp != 1 || p->nmarks)
			return bad(p, err, "STOP with %zu values and %zu marks left", p->sp, p->nmarks);
		return 1;
	}
	const char *name = opcode_name(op);
	if (name)
		return bad(p, err, "opcode %s (0x%02x) is not supported", name, op);
	return bad(p, err, "unknown opcode 0x%02x", op);
}

struct vgg__pickle *vgg__pickle_new(const char *name)
{
	struct vgg__pickle *p = calloc(1, sizeof *p);
	if (p)
		p->name = name;
	return p;
}

void vgg__pickle_free(struct vgg__pickle *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nvalues; i++) {
		enum vgg__py_kind k = p->values[i]->kind;
		if (k == VGG__PY_TUPLE || k == VGG__PY_LIST || k == VGG__PY_DICT)
			free(p->values[i]->u.seq.items);
		free(p->values[i]);
	}
	free(p->values);
	free(p->storages);
	free(p->stack);
	free(p->marks);
	free(p->memo);
	free(p);
}

int vgg__pickle_load(struct vgg__pickle *p, const unsigned char *data, size_t size,
                     size_t *used, const struct vgg__py **value, vgg_error *err)
{
	p->data = data;
	p->size = size;
	p->pos = 0;
	p->sp = 0;
	p->nmarks = 0;
	p->memo_count = 0;
	p->copied = 0;
	if (p->memo)
		memset(p->memo, 0, p->memo_len * sizeof *p->memo);
	for (;;) {
		p->at = p->pos;
		if (p->pos >= size)
			return bad(p, err, "the pickle ends without STOP");
		int rc = step(p, err);
		if (rc == 1)
			break;
		if (rc)
			return rc;
	}
	*used = p->pos;
	*value = p->stack[0];
	return VGG_OK;
}

size_t vgg__pickle_storage_count(const struct vgg__pickle *p)
{
	return p->nstorages;
}

const struct vgg__py *vgg__pickle_storage(const struct vgg__pickle *p, size_t i)
{
	return p->storages[i];
}

const struct vgg__py *vgg__py_dict_get(const struct vgg__py *dict, const char *key)
{
	const struct vgg__py *found = NULL;
	for (size_t i = 0; i + 1 < dict->u.seq.count; i += 2)
		if (vgg__py_is_string(dict->u.seq.items[i], key))
			found = dict->u.seq.items[i + 1];
	return found;
}

const char *vgg__py_kind_name(enum vgg__py_kind kind)
{
	return KIND_NAMES[kind];
}

int vgg__py_is_string(const struct vgg__py *v, const char *s)
{
	return v->kind == VGG__PY_STRING && v->u.str.len == strlen(s) &&
	       memcmp(v->u.str.s, s, v->u.str.len) == 0;
}
