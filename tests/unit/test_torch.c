/*
 * test_torch.c: the .pth reader (torch.c, pickle.c, zip.c) against what torch.load gives
 * (tests/data/torch/EXPECTED.txt, tests/golden/make_torch_goldens.py); hostile and broken
 * files, every truncation and every flipped byte of a few files; pickles by hand.
 */
#include <stdint.h>
#include <stdlib.h>

#include "pickle.h"
#include "tap.h"
#include "testset.h"
#include "vgg.h"

static void path_of(char *path, size_t n, const char *file)
{
	snprintf(path, n, "%s/torch/%s", test_data_dir(), file);
}

/* ---- Readable files against EXPECTED.txt ---- */

struct current {
	char file[128];
	unsigned char *data;       /* the file, which the set may point into */
	vgg_tensor_set *set;
	size_t want, index;
	int shapes_ok, values_ok;
};

static void finish_file(struct current *c)
{
	if (c->set) {
		CHECK(c->shapes_ok && c->index == c->want, "%s: names, order and shapes", c->file);
		CHECK(c->values_ok, "%s: values agree with torch.load", c->file);
	}
	vgg_tensor_set_free(c->set);
	c->set = NULL;
	free(c->data);
	c->data = NULL;
}

static void start_file(struct current *c, const char *file, size_t want)
{
	char path[512];
	size_t size;
	vgg_error err;
	snprintf(c->file, sizeof c->file, "%s", file);
	path_of(path, sizeof path, file);
	unsigned char *data = c->data = test_slurp(path, &size);
	CHECK(data && vgg_torch_detect(data, size), "%s: detected as PyTorch", file);
	int rc = data ? vgg_torch_read(data, size, path, &c->set, &err) : VGG_EIO;
	CHECK_EQ_INT(rc, VGG_OK, "%s: reads", file);
	if (rc && data)
		printf("# %s\n", err.msg);
	if (rc)
		return;
	CHECK_EQ_INT(vgg_tensor_set_count(c->set), want, "%s: %zu tensors", file, want);
	c->want = want;
	c->index = 0;
	c->shapes_ok = c->values_ok = 1;
}

static int close_enough(double got, double want, double scale)
{
	return fabs(got - want) <= 1e-9 * scale + 1e-30;
}

/* One line "t NAME NDIM DIMS... SUM SUMSQ WEIGHTED FIRST LAST" against the next tensor. */
static void check_tensor(struct current *c, char *line)
{
	char *save, *name = strtok_r(line + 2, " \n", &save);
	const vgg_set_tensor *t = vgg_tensor_set_at(c->set, c->index++);
	int ndim = atoi(strtok_r(NULL, " \n", &save));
	int same = t && name && strcmp(t->name, name) == 0 && t->ndim == ndim;
	for (int d = 0; d < ndim; d++)
		same &= t && t->shape[d] == atoll(strtok_r(NULL, " \n", &save));
	if (!same) {
		printf("#   tensor %zu: got '%s', want '%s' of %d dimensions\n", c->index - 1,
		       t ? t->name : "(none)", name, ndim);
		c->shapes_ok = 0;
		return;
	}
	double want[5];
	for (int i = 0; i < 5; i++)
		want[i] = strtod(strtok_r(NULL, " \n", &save), NULL);
	double sum = 0, sumsq = 0, weighted = 0, abs = 0, wabs = 0;
	for (uint64_t i = 0; i < t->numel; i++) {
		double x = t->data[i];
		sum += x;
		sumsq += x * x;
		weighted += (double)(i + 1) * x;
		abs += fabs(x);
		wabs += (double)(i + 1) * fabs(x);
	}
	float first = t->numel ? t->data[0] : 0, last = t->numel ? t->data[t->numel - 1] : 0;
	if (!close_enough(sum, want[0], abs) || !close_enough(sumsq, want[1], sumsq) ||
	    !close_enough(weighted, want[2], wabs) || first != (float)want[3] ||
	    last != (float)want[4]) {
		printf("#   %s: sum %.17g %.17g, squares %.17g %.17g, weighted %.17g %.17g, "
		       "first %.9g %.9g, last %.9g %.9g\n", name, sum, want[0], sumsq, want[1],
		       weighted, want[2], first, want[3], last, want[4]);
		c->values_ok = 0;
	}
}

static void test_expected(void)
{
	char path[512], line[1024];
	path_of(path, sizeof path, "EXPECTED.txt");
	FILE *f = fopen(path, "r");
	CHECK(f != NULL, "EXPECTED.txt opens");
	if (!f)
		return;
	struct current c = {0};
	while (fgets(line, sizeof line, f)) {
		char file[128];
		size_t want;
		if (sscanf(line, "file %127s %zu", file, &want) == 2) {
			finish_file(&c);
			start_file(&c, file, want);
		} else if (line[0] == 't' && c.set) {
			check_tensor(&c, line);
		}
	}
	finish_file(&c);
	fclose(f);
}

/* Contiguous float32 tensors point into the file; the rest are gathered. */
static void test_borrowing_files(void)
{
	static const struct {
		const char *file;
		size_t borrowed;
	} cases[] = {
		{"torch/vgg.pth", 10}, {"torch/vgg-legacy.pth", 10}, {"torch/vgg-bn.pth", 18},
		{"torch/old-legacy.pth", 2}, /* its classifier.0.weight is transposed */
		{"torch/vgg-f16.pth", 0},
		{"torch/vgg-deflate.pth", 0},
		/* rows, scalar, empty and whole; not the transposed, strided or expanded ones */
		{"torch/views.pth", 4}, {"torch/views-legacy.pth", 4},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		CHECK_EQ_INT(test_borrowing(cases[i].file, vgg_torch_read), cases[i].borrowed,
		             "%s: the same tensors at every alignment, %zu of them not copied at one",
		             cases[i].file, cases[i].borrowed);
}

/* ---- Hostile and broken files ---- */

/* The file fails to read, never crashes, and says so naming the file and `what`. */
static void check_refused(const char *file, const unsigned char *data, size_t size,
                          const char *name, const char *what)
{
	vgg_tensor_set *set = (vgg_tensor_set *)1;  /* must come back NULL */
	vgg_error err = {0};
	int rc = vgg_torch_read(data, size, name, &set, &err);
	CHECK(rc != VGG_OK && set == NULL, "%s is refused", file);
	int says = rc && strstr(err.msg, name) && strstr(err.msg, what);
	CHECK(says, "%s: the message names it and says '%s'", file, what);
	if (!says)
		printf("#   got '%s'\n", rc ? err.msg : "(success)");
	if (!rc)
		vgg_tensor_set_free(set);
}

static void test_refused(void)
{
	static const struct {
		const char *file, *what;
		int detected;
	} cases[] = {
		{"evil-global.pth", "refusing pickle global 'os.system': only tensors are read", 1},
		{"evil-bytes.pth", "refusing pickle global 'torch.storage._load_from_bytes'", 1},
		{"truncated.pth", "corrupt zip archive: no end of central directory record", 1},
		{"truncated-legacy.pth", "runs past the end of the file (truncated?)", 1},
		{"bad-size.pth", "entry 'vgg/data/0' runs past the end of the file", 1},
		{"big-endian.pth", "not little-endian", 1},
		{"not-torch.zip", "not a PyTorch zip archive", 0},
		{"no-state-dict.pth", "entry 'epoch' is an int, not a tensor: neither a state_dict "
		 "nor a checkpoint holding one", 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char path[512];
		size_t size;
		path_of(path, sizeof path, cases[i].file);
		unsigned char *data = test_slurp(path, &size);
		if (!data) {
			CHECK(0, "%s is read", cases[i].file);
			continue;
		}
		CHECK_EQ_INT(vgg_torch_detect(data, size), cases[i].detected, "%s: detection",
		             cases[i].file);
		check_refused(cases[i].file, data, size, path, cases[i].what);
		free(data);
	}
}

/* tests/golden/make_hostile.py's: 500 tensors of one deflated storage, each of which
 * inflated it whole again (4 GB, 40 s); now refused once that passes what the file's
 * entries inflate to. */
static void test_shared_deflated(void)
{
	char path[512];
	size_t size;
	test_data_path(path, sizeof path, "hostile/torch/shared-deflated.pth");
	unsigned char *data = test_slurp(path, &size);
	CHECK(data != NULL, "shared-deflated.pth is read");
	if (data)
		check_refused("shared-deflated.pth", data, size, path,
		              "its tensors inflate the storages they share to more than the "
		              "file's size allows");
	free(data);
}

/* The legacy sys_info saying little_endian False. */
static void test_big_endian_legacy(void)
{
	char path[512];
	size_t size;
	path_of(path, sizeof path, "vgg-legacy.pth");
	unsigned char *data = test_slurp(path, &size);
	unsigned char *at = data ? memmem(data, size, "little_endian", 13) : NULL;
	/* BINUNICODE 'little_endian', BINPUT n, then NEWTRUE */
	CHECK(at && at + 15 < data + size && at[15] == 0x88, "vgg-legacy.pth: little_endian found");
	if (at && at + 15 < data + size && at[15] == 0x88) {
		at[15] = 0x89;
		check_refused("vgg-legacy.pth saying big-endian", data, size, path,
		              "not little-endian");
	}
	free(data);
}

static void test_detect(void)
{
	static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0};
	static const unsigned char legacy_start[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
	                                             0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
	CHECK(!vgg_torch_detect("", 0), "detect: empty data is not PyTorch");
	CHECK(!vgg_torch_detect("PK\3", 3), "detect: 3 bytes of zip magic are not PyTorch");
	CHECK(!vgg_torch_detect(png, sizeof png), "detect: a PNG is not PyTorch");
	CHECK(!vgg_torch_detect(legacy_start, sizeof legacy_start),
	      "detect: 14 of the legacy magic's 15 bytes are not PyTorch");
	char path[512];
	size_t size;
	snprintf(path, sizeof path, "%s/net/vgg11.safetensors", test_data_dir());
	unsigned char *data = test_slurp(path, &size);
	CHECK(data && !vgg_torch_detect(data, size), "detect: safetensors is not PyTorch");
	if (data)
		check_refused("safetensors", data, size, path, "not a PyTorch file");
	free(data);
}

/*
 * Every truncation of a file must fail cleanly (the files end with their last byte of
 * data or their end record), and every single flipped byte must either read or fail
 * cleanly; with SANITIZE=1 or valgrind this finds any read outside the buffer.
 */
static void test_damage(const char *file)
{
	char path[512];
	size_t size;
	path_of(path, sizeof path, file);
	unsigned char *data = test_slurp(path, &size);
	if (!data) {
		CHECK(0, "%s is read", file);
		return;
	}
	size_t bad_truncations = 0, bad_flips = 0, flips_read = 0;
	for (size_t n = 0; n < size; n++) {
		/* A copy of exactly n bytes, so that reading past it is caught. */
		unsigned char *cut = malloc(n ? n : 1);
		memcpy(cut, data, n);
		vgg_tensor_set *set;
		vgg_error err = {0};
		int rc = vgg_torch_read(cut, n, path, &set, &err);
		if (rc == VGG_OK || !strstr(err.msg, path)) {
			if (!bad_truncations++)
				printf("#   %zu bytes: %s\n", n, rc ? err.msg : "read");
			if (rc == VGG_OK)
				vgg_tensor_set_free(set);
		}
		free(cut);
	}
	for (size_t i = 0; i < size; i++) {
		vgg_tensor_set *set;
		vgg_error err = {0};
		data[i] ^= 0xff;
		int rc = vgg_torch_read(data, size, path, &set, &err);
		data[i] ^= 0xff;
		if (rc == VGG_OK) {
			flips_read++;
			vgg_tensor_set_free(set);
		} else if (!strstr(err.msg, path) && !bad_flips++) {
			printf("#   byte %zu flipped: %s\n", i, err.msg);
		}
	}
	CHECK_EQ_INT(bad_truncations, 0, "%s: all %zu truncations refused, naming the file",
	             file, size);
	CHECK_EQ_INT(bad_flips, 0, "%s: %zu flipped bytes read or refused, naming the file "
	             "(%zu read)", file, size, flips_read);
	free(data);
}

/* ---- Pickles by hand ---- */

static int load(const unsigned char *bytes, size_t size, struct vgg__pickle **p,
                const struct vgg__py **v, vgg_error *err)
{
	size_t used;
	*p = vgg__pickle_new("hand.pkl");
	int rc = vgg__pickle_load(*p, bytes, size, &used, v, err);
	if (!rc && used != size)
		printf("#   used %zu of %zu bytes\n", used, size);
	return rc ? rc : used == size ? VGG_OK : VGG_EPARSE;
}

static void test_pickle_values(void)
{
	static const unsigned char bytes[] = {
		0x80, 0x04,                                     /* PROTO 4 */
		0x95, 32, 0, 0, 0, 0, 0, 0, 0,                  /* FRAME */
		']',                                            /* EMPTY_LIST */
		'(',                                            /* MARK */
		0x8d, 1, 0, 0, 0, 0, 0, 0, 0, 'a',              /* BINUNICODE8 'a' */
		'G', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0,              /* BINFLOAT 1.5 */
		'U', 1, 'b',                                    /* SHORT_BINSTRING 'b' */
		0x8a, 2, 0x00, 0x80,                            /* LONG1 -32768 */
		'T', 2, 0, 0, 0, 'c', 'd',                      /* BINSTRING 'cd' */
		'J', 0xfe, 0xff, 0xff, 0xff,                    /* BININT -2 */
		'd',                                            /* DICT */
		0x94,                                           /* MEMOIZE (0) */
		'a',                                            /* APPEND */
		'(', 'M', 0x34, 0x12, 'N', 0x88, 'l',           /* [4660, None, True] */
		'r', 7, 0, 0, 0,                                /* LONG_BINPUT 7 */
		'a',                                            /* APPEND */
		'j', 7, 0, 0, 0, 'h', 0, 'K', 9, 0x87,          /* TUPLE3 (list, dict, 9) */
		'a',                                            /* APPEND */
		'c', 'c', 'o', 'l', 'l', 'e', 'c', 't', 'i', 'o', 'n', 's', '\n',
		'O', 'r', 'd', 'e', 'r', 'e', 'd', 'D', 'i', 'c', 't', '\n',
		')', 0x81, 'X', 1, 0, 0, 0, 'k', 0x89, 's',     /* NEWOBJ OrderedDict, SETITEM */
		'a', '.',                                       /* APPEND, STOP */
	};
	struct vgg__pickle *p;
	const struct vgg__py *v;
	vgg_error err;
	int rc = load(bytes, sizeof bytes, &p, &v, &err);
	CHECK_EQ_INT(rc, VGG_OK, "pickle: every supported value opcode");
	if (rc) {
		printf("# %s\n", err.msg);
	} else {
		CHECK(v->kind == VGG__PY_LIST && v->u.seq.count == 4, "pickle: a list of 4");
		const struct vgg__py *d = v->u.seq.items[0], *l = v->u.seq.items[1];
		const struct vgg__py *t = v->u.seq.items[2], *o = v->u.seq.items[3];
		CHECK(d->kind == VGG__PY_DICT && vgg__py_dict_get(d, "a")->u.f == 1.5 &&
		      vgg__py_dict_get(d, "b")->u.i == -32768 && vgg__py_dict_get(d, "cd")->u.i == -2,
		      "pickle: {'a': 1.5, 'b': -32768, 'cd': -2}");
		CHECK(l->kind == VGG__PY_LIST && l->u.seq.count == 3 && l->u.seq.items[0]->u.i == 4660 &&
		      l->u.seq.items[1]->kind == VGG__PY_NONE &&
		      l->u.seq.items[2]->kind == VGG__PY_BOOL && l->u.seq.items[2]->u.i == 1,
		      "pickle: [4660, None, True]");
		CHECK(t->kind == VGG__PY_TUPLE && t->u.seq.count == 3 && t->u.seq.items[0] == l &&
		      t->u.seq.items[1] == d && t->u.seq.items[2]->u.i == 9,
		      "pickle: the memo gives back the same objects");
		CHECK(o->kind == VGG__PY_DICT && vgg__py_dict_get(o, "k") &&
		      vgg__py_dict_get(o, "k")->kind == VGG__PY_BOOL,
		      "pickle: NEWOBJ makes an OrderedDict");
	}
	vgg__pickle_free(p);
}

static void test_pickle_refused(void)
{
	static const struct {
		const char *bytes;
		size_t size;
		const char *what;
	} cases[] = {
#define P(s) s, sizeof s - 1
		{P("\x80\x01N."), "protocol 1 is not supported"},
		{P("\x80\x02\xff."), "unknown opcode 0xff"},
		{P("\x80\x02(i__main__\nX\n."), "opcode INST (0x69) is not supported"},
		{P("\x80\x02N"), "ends without STOP"},
		{P("\x80\x02h\x03."), "memo entry 3 is not set"},
		{P("\x80\x02Nr\xff\xff\xff\x7f."), "memo index 2147483647 is out of range"},
		{P("\x80\x02\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09."), "of 9 bytes is too large"},
		{P("\x80\x02}(Nu."), "SETITEMS with a key and no value"},
		{P("\x80\x02(\x85."), "stack underflow"},
		{P("\x80\x02NN."), "STOP with 2 values"},
		{P("\x80\x02X\xff\x00\x00\x00" "ab."), "truncated"},
		{P("\x80\x04\x8c\x05posix\x8c\x06system\x93."),
		 "refusing pickle global 'posix.system': only tensors are read"},
		{P("\x80\x02" "ctorch\nSize\n."), "refusing pickle global 'torch.Size'"},
		{P("\x80\x02" "ctorch\nFloatStorage\n)R."), "a storage type is called"},
		{P("\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R."), "OrderedDict() needs"},
		{P("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\nNK\x00)\x87R."),
		 "takes 6 or 7 arguments, not 3"},
		{P("\x80\x02(X\x07\x00\x00\x00storageK\x01t\x85Q."), "a persistent id is not"},
		{P("\x80\x02]N}b."), "BUILD of None with a dict state is not supported"},
#undef P
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct vgg__pickle *p;
		const struct vgg__py *v;
		vgg_error err = {0};
		int rc = load((const unsigned char *)cases[i].bytes, cases[i].size, &p, &v, &err);
		int says = rc && strstr(err.msg, "'hand.pkl'") && strstr(err.msg, cases[i].what);
		CHECK(says, "pickle refused: %s", cases[i].what);
		if (!says)
			printf("#   got '%s'\n", rc ? err.msg : "(success)");
		vgg__pickle_free(p);
	}
}

/* OrderedDict(pairs) over and over with the memo's same list: copies are bounded. */
static void test_pickle_copies(void)
{
	static const unsigned char head[] = {
		0x80, 0x02, '(', 'N', 'N', 0x86, 'N', 'N', 0x86, 'N', 'N', 0x86, 'N', 'N', 0x86,
		'l', 'q', 0, 'c', 'c', 'o', 'l', 'l', 'e', 'c', 't', 'i', 'o', 'n', 's', '\n',
		'O', 'r', 'd', 'e', 'r', 'e', 'd', 'D', 'i', 'c', 't', '\n', 'q', 1,
	};
	static const unsigned char again[] = {'h', 1, 'h', 0, 0x85, 'R'};
	unsigned char bytes[sizeof head + 40 * sizeof again + 1];
	memcpy(bytes, head, sizeof head);
	for (int i = 0; i < 40; i++)
		memcpy(bytes + sizeof head + i * sizeof again, again, sizeof again);
	bytes[sizeof bytes - 1] = '.';
	struct vgg__pickle *p;
	const struct vgg__py *v;
	vgg_error err = {0};
	int rc = load(bytes, sizeof bytes, &p, &v, &err);
	CHECK(rc && strstr(err.msg, "copies more pairs than the pickle holds"),
	      "pickle refused: OrderedDict(pairs) copying more than the pickle's length");
	if (!rc || !strstr(err.msg, "copies"))
		printf("#   got '%s'\n", rc ? err.msg : "(success)");
	vgg__pickle_free(p);
}

int main(void)
{
	test_expected();
	test_borrowing_files();
	test_refused();
	test_shared_deflated();
	test_big_endian_legacy();
	test_detect();
	test_damage("vgg.pth");
	test_damage("vgg-legacy.pth");
	test_damage("vgg-zip64.pth");
	test_damage("old-legacy.pth");
	test_damage("views.pth");
	test_damage("vgg-deflate.pth");
	test_pickle_values();
	test_pickle_refused();
	test_pickle_copies();
	return tap_done();
}
