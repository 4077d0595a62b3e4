/*
 * dataset.c: labelled images for training, from a directory of class subdirectories, a
 * list file of `PATH LABEL` lines or MNIST's IDX files (idx.c); views of one set made by a
 * split; and the statistics of its pixels (mean, std, the colour covariance's
 * eigen-decomposition).  The formats are described in vgg.h above vgg_dataset_open.
 *
 * A directory is read as torchvision's ImageFolder reads it, so that an image has the same
 * index and label in both: classes are the subdirectories in sorted order, and a class's
 * images are the files of every directory below it, the directories sorted by path and the
 * files of each sorted by name (Python's sorted(os.walk(...)), then sorted(files)).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "idx.h"
#include "image_internal.h"

/* The largest label a list file may give. */
#define MAX_LABEL 999999
/* Directories nested deeper than this below a class are passed over. */
#define MAX_DEPTH 64

/* The images, labels and class names that views share. */
struct source {
	int refs;                /* the views of it, and its maker until it lets go */
	size_t count;
	int classes;
	int *labels;
	char **class_names;      /* `classes` names, or NULL */
	char *paths;             /* files: NUL-terminated paths back to back */
	size_t *path_at;         /* files: where image i's path starts in `paths` */
	struct vgg__idx idx;     /* IDX: the pixels (idx.pixels NULL for files) */
};

struct vgg_dataset {
	struct source *src;
	size_t count;
	size_t *index;           /* this view's image i is the source's index[i]; NULL: i */
};

static void source_release(struct source *s)
{
	if (!s || --s->refs > 0)
		return;
	for (int c = 0; s->class_names && c < s->classes; c++)
		free(s->class_names[c]);
	free(s->class_names);
	free(s->labels);
	free(s->paths);
	free(s->path_at);
	vgg__idx_free(&s->idx);
	free(s);
}

void vgg_dataset_free(vgg_dataset *ds)
{
	if (!ds)
		return;
	source_release(ds->src);
	free(ds->index);
	free(ds);
}

/* A view of `src` holding a reference to it; takes `index` (NULL: all of src). */
static int view_new(struct source *src, size_t count, size_t *index, vgg_dataset **out,
                    vgg_error *err)
{
	vgg_dataset *ds = malloc(sizeof *ds);
	if (!ds) {
		free(index);
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	}
	src->refs++;
	ds->src = src;
	ds->count = count;
	ds->index = index;
	*out = ds;
	return VGG_OK;
}

static size_t source_index(const vgg_dataset *ds, size_t i)
{
	return ds->index ? ds->index[i] : i;
}

/* ---- Paths and labels as they are found ---- */

/* The images found so far: paths back to back, a label for each. */
struct found {
	char *paths;
	size_t len, cap;
	size_t *path_at;
	int *labels;
	size_t count, count_cap;
};

static void found_free(struct found *f)
{
	free(f->paths);
	free(f->path_at);
	free(f->labels);
}

/* Adds DIR/NAME (or NAME alone when dir is NULL) with its label. */
static int found_add(struct found *f, const char *dir, const char *name, size_t name_len,
                     int label)
{
	size_t dir_len = dir ? strlen(dir) + 1 : 0, need = dir_len + name_len + 1;
	if (f->cap - f->len < need) {
		size_t cap = f->cap ? f->cap : 4096;
		while (cap - f->len < need)
			cap *= 2;
		char *p = realloc(f->paths, cap);
		if (!p)
			return 0;
		f->paths = p;
		f->cap = cap;
	}
	if (f->count == f->count_cap) {
		size_t cap = f->count_cap ? 2 * f->count_cap : 256;
		size_t *at = realloc(f->path_at, cap * sizeof *at);
		if (at)
			f->path_at = at;
		int *labels = at ? realloc(f->labels, cap * sizeof *labels) : NULL;
		if (!labels)
			return 0;
		f->labels = labels;
		f->count_cap = cap;
	}
	char *p = f->paths + f->len;
	if (dir) {
		memcpy(p, dir, dir_len - 1);
		p[dir_len - 1] = '/';
	}
	memcpy(p + dir_len, name, name_len);
	p[dir_len + name_len] = 0;
	f->path_at[f->count] = f->len;
	f->labels[f->count++] = label;
	f->len += need;
	return 1;
}

/* A source owning what `f` found, which is left empty. */
static int source_from_found(struct found *f, int classes, char **class_names,
                             struct source **out, vgg_error *err)
{
	struct source *s = calloc(1, sizeof *s);
	if (!s)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	s->refs = 1;
	s->count = f->count;
	s->classes = classes;
	s->class_names = class_names;
	s->paths = f->paths;
	s->path_at = f->path_at;
	s->labels = f->labels;
	memset(f, 0, sizeof *f);
	*out = s;
	return VGG_OK;
}

/* ---- Directories ---- */

struct entry {
	char *name;
	int is_dir;
};

static void entries_free(struct entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* The entries of `dir` whose names do not start with '.', sorted by name. */
static int list_dir(const char *dir, struct entry **out, size_t *n, vgg_error *err)
{
	DIR *d = opendir(dir);
	*out = NULL;
	*n = 0;
	if (!d)
		return vgg__fail(err, VGG_EIO, "cannot read directory '%s': %s", dir,
		                 strerror(errno));
	struct entry *e = NULL;
	size_t cap = 0;
	int rc = VGG_OK;
	struct dirent *de;
	while (!rc && (errno = 0, de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int is_dir = de->d_type == DT_DIR;
		if (de->d_type == DT_UNKNOWN || de->d_type == DT_LNK) {
			/* Links are followed, as os.walk(followlinks=True) does for ImageFolder. */
			struct stat st;
			size_t len = strlen(dir) + strlen(de->d_name) + 2;
			char *path = malloc(len);
			if (path) {
				snprintf(path, len, "%s/%s", dir, de->d_name);
				is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
				free(path);
			}
		}
		if (*n == cap) {
			struct entry *grown = realloc(e, (cap ? 2 * cap : 64) * sizeof *e);
			if (grown) {
				e = grown;
				cap = cap ? 2 * cap : 64;
			}
		}
		if (*n < cap && (e[*n].name = strdup(de->d_name)))
			e[(*n)++].is_dir = is_dir;
		else
			rc = vgg__fail(err, VGG_ENOMEM, "out of memory reading directory '%s'", dir);
	}
	if (!rc && errno)
		rc = vgg__fail(err, VGG_EIO, "cannot read directory '%s': %s", dir, strerror(errno));
	closedir(d);
	if (rc) {
		entries_free(e, *n);
		*n = 0;
		return rc;
	}
	if (*n)
		qsort(e, *n, sizeof *e, entry_cmp);
	*out = e;
	return VGG_OK;
}

/* Whether a file name ends in an image extension the decoders read. */
static int image_name(const char *name)
{
	static const char *const ext[] = {".jpg", ".jpeg", ".png", ".pgm", ".ppm", ".pbm",
	                                  ".pnm"};
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
		size_t e = strlen(ext[i]);
		if (n > e && strcasecmp(name + n - e, ext[i]) == 0)
			return 1;
	}
	return 0;
}

/* A directory below a class, with the images in it. */
struct class_dir {
	char *path;
	struct entry *entries;
	size_t n;
};

static int class_dir_cmp(const void *a, const void *b)
{
	return strcmp(((const struct class_dir *)a)->path, ((const struct class_dir *)b)->path);
}

/* The chain of directories being walked, to notice a link back to one of them. */
struct ancestor {
	dev_t dev;
	ino_t ino;
	const struct ancestor *up;
};

/* Gathers `path` (taking it) and the directories below it into dirs. */
static int walk(char *path, const struct ancestor *up, int depth, struct class_dir **dirs,
                size_t *n, size_t *cap, vgg_error *err)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		int rc = vgg__fail(err, VGG_EIO, "cannot read directory '%s': %s", path,
		                   strerror(errno));
		free(path);
		return rc;
	}
	for (const struct ancestor *a = up; a; a = a->up)
		if (a->dev == st.st_dev && a->ino == st.st_ino) {
			free(path);
			return VGG_OK;
		}
	if (*n == *cap) {
		struct class_dir *grown = realloc(*dirs, (*cap ? 2 * *cap : 16) * sizeof **dirs);
		if (!grown) {
			free(path);
			return vgg__fail(err, VGG_ENOMEM, "out of memory");
		}
		*dirs = grown;
		*cap = *cap ? 2 * *cap : 16;
	}
	struct class_dir *d = &(*dirs)[(*n)++];
	d->path = path;
	int rc = list_dir(path, &d->entries, &d->n, err);
	if (rc || depth == MAX_DEPTH)
		return rc;
	struct ancestor here = {st.st_dev, st.st_ino, up};
	/* d may move as dirs grows: take what the loop needs first. */
	struct entry *entries = d->entries;
	size_t count = d->n;
	for (size_t i = 0; !rc && i < count; i++) {
		if (!entries[i].is_dir)
			continue;
		size_t len = strlen(path) + strlen(entries[i].name) + 2;
		char *sub = malloc(len);
		if (!sub)
			return vgg__fail(err, VGG_ENOMEM, "out of memory");
		snprintf(sub, len, "%s/%s", path, entries[i].name);
		rc = walk(sub, &here, depth + 1, dirs, n, cap, err);
	}
	return rc;
}

/* Adds the images of class `label`, whose directory is `path`, below the dataset's `root`. */
static int add_class(struct found *f, const char *path, const struct ancestor *root,
                     int label, vgg_error *err)
{
	struct class_dir *dirs = NULL;
	size_t n = 0, cap = 0, before = f->count;
	char *copy = strdup(path);
	int rc = copy ? walk(copy, root, 0, &dirs, &n, &cap, err)
	              : vgg__fail(err, VGG_ENOMEM, "out of memory");
	if (!rc)
		qsort(dirs, n, sizeof *dirs, class_dir_cmp);
	for (size_t i = 0; !rc && i < n; i++)
		for (size_t j = 0; !rc && j < dirs[i].n; j++) {
			const struct entry *e = &dirs[i].entries[j];
			if (!e->is_dir && image_name(e->name) &&
			    !found_add(f, dirs[i].path, e->name, strlen(e->name), label))
				rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
		}
	for (size_t i = 0; i < n; i++) {
		free(dirs[i].path);
		entries_free(dirs[i].entries, dirs[i].n);
	}
	free(dirs);
	if (!rc && f->count == before)
		rc = vgg__fail(err, VGG_ENOTFOUND, "class directory '%s' holds no images (files "
		               "named *.jpg, *.jpeg, *.png, *.pgm, *.ppm, *.pbm or *.pnm)", path);
	return rc;
}

/* A directory of class subdirectories whose entries are `e`. */
static int open_classes(const char *dir, const struct entry *e, size_t n, struct source **out,
                        vgg_error *err)
{
	int classes = 0;
	for (size_t i = 0; i < n; i++)
		classes += e[i].is_dir;
	if (classes == 0)
		return vgg__fail(err, VGG_ENOTFOUND, "'%s' holds no class subdirectories and no IDX "
		                 "images file", dir);
	struct stat st;
	if (stat(dir, &st) != 0)
		return vgg__fail(err, VGG_EIO, "cannot read directory '%s': %s", dir, strerror(errno));
	struct ancestor root = {st.st_dev, st.st_ino, NULL};
	char **names = calloc((size_t)classes, sizeof *names);
	if (!names)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	struct found f = {0};
	int rc = VGG_OK, c = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		if (!e[i].is_dir)
			continue;
		if (strpbrk(e[i].name, "\n\r")) {
			rc = vgg__fail(err, VGG_EPARSE, "class directory '%s/%s' has a line break in its "
			               "name, which cannot be a label", dir, e[i].name);
			break;
		}
		size_t len = strlen(dir) + strlen(e[i].name) + 2;
		char *path = malloc(len);
		if (!path || !(names[c] = strdup(e[i].name))) {
			free(path);
			rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
			break;
		}
		snprintf(path, len, "%s/%s", dir, e[i].name);
		rc = add_class(&f, path, &root, c++, err);
		free(path);
	}
	if (!rc)
		rc = source_from_found(&f, classes, names, out, err);
	if (rc) {
		found_free(&f);
		for (int i = 0; i < classes; i++)
			free(names[i]);
		free(names);
	}
	return rc;
}

/* ---- List files ---- */

static int open_list(const char *path, struct source **out, vgg_error *err)
{
	unsigned char *text;
	size_t size;
	int rc = vgg__read_file(path, &text, &size, err);
	if (rc)
		return rc;
	/* Relative paths start from the list's directory: its path up to the last '/'. */
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : NULL;
	struct found f = {0};
	int max_label = -1;
	size_t line_no = 0;
	if (slash && !dir)
		rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
	for (size_t at = 0; !rc && at < size;) {
		const char *line = (const char *)text + at;
		const char *nl = memchr(line, '\n', size - at);
		size_t len = nl ? (size_t)(nl - line) : size - at;
		at += len + 1;
		line_no++;
		while (len && isspace((unsigned char)line[len - 1]))
			len--;
		size_t lead = 0;
		while (lead < len && isspace((unsigned char)line[lead]))
			lead++;
		if (lead == len)
			continue;
		if (memchr(line, 0, len)) {
			rc = vgg__fail(err, VGG_EPARSE, "'%s' line %zu: a NUL byte in a list of paths",
			               path, line_no);
			break;
		}
		/* Caffe's rule: the label follows the last blank, so paths may hold spaces. */
		size_t sep = len;
		while (sep > lead && line[sep - 1] != ' ' && line[sep - 1] != '\t')
			sep--;
		size_t name_end = sep;
		while (name_end > lead && isspace((unsigned char)line[name_end - 1]))
			name_end--;
		char word[16] = "", *end;
		size_t wlen = len - sep < sizeof word - 1 ? len - sep : sizeof word - 1;
		memcpy(word, line + sep, wlen);
		long label = strtol(word, &end, 10);
		if (name_end == lead) {
			rc = vgg__fail(err, VGG_EPARSE, "'%s' line %zu: expected 'PATH LABEL', not "
			               "'%.*s'", path, line_no, (int)(len - lead > 80 ? 80 : len - lead),
			               line + lead);
		} else if (wlen != len - sep || end != word + wlen || !isdigit((unsigned char)word[0])
		           || label > MAX_LABEL) {
			rc = vgg__fail(err, VGG_EPARSE, "'%s' line %zu: label '%.*s' is not a whole "
			               "number from 0 to %d", path, line_no,
			               (int)(len - sep > 20 ? 20 : len - sep), line + sep, MAX_LABEL);
		} else if (!found_add(&f, line[lead] == '/' ? NULL : dir, line + lead,
		                      name_end - lead, (int)label)) {
			rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
		} else if (label > max_label) {
			max_label = (int)label;
		}
	}
	free(text);
	free(dir);
	if (!rc && f.count == 0)
		rc = vgg__fail(err, VGG_EPARSE, "'%s' lists no images", path);
	if (!rc)
		rc = source_from_found(&f, max_label + 1, NULL, out, err);
	if (rc)
		found_free(&f);
	return rc;
}

/* ---- IDX ---- */

static int open_idx(const char *path, struct source **out, vgg_error *err)
{
	struct source *s = calloc(1, sizeof *s);
	if (!s)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	int rc = vgg__idx_read(path, &s->idx, err);
	if (!rc && !(s->labels = malloc(s->idx.count * sizeof *s->labels)))
		rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
	if (rc) {
		vgg__idx_free(&s->idx);
		free(s);
		return rc;
	}
	s->refs = 1;
	s->count = s->idx.count;
	for (size_t i = 0; i < s->count; i++) {
		s->labels[i] = s->idx.labels[i];
		if (s->labels[i] >= s->classes)
			s->classes = s->labels[i] + 1;
	}
	*out = s;
	return VGG_OK;
}

/* A directory that holds one IDX images file opens as that file; more are ambiguous. */
static int open_dir(const char *dir, struct source **out, vgg_error *err)
{
	struct entry *e;
	size_t n, found = 0, which = 0;
	int rc = list_dir(dir, &e, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (!e[i].is_dir && vgg__idx_images_name(e[i].name) && !found++)
			which = i;
	if (found == 1) {
		size_t len = strlen(dir) + strlen(e[which].name) + 2;
		char *path = malloc(len);
		if (path) {
			snprintf(path, len, "%s/%s", dir, e[which].name);
			rc = open_idx(path, out, err);
		} else {
			rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
		}
		free(path);
	} else if (found > 1) {
		rc = vgg__fail(err, VGG_EPARSE, "'%s' holds %zu IDX images files, such as '%s': name "
		               "the one to use", dir, found, e[which].name);
	} else {
		rc = open_classes(dir, e, n, out, err);
	}
	entries_free(e, n);
	return rc;
}

int vgg_dataset_open(const char *path, vgg_dataset **out, vgg_error *err)
{
	struct stat st;
	struct source *src = NULL;
	int rc, is_idx;
	*out = NULL;
	if (stat(path, &st) != 0)
		return vgg__fail(err, VGG_EIO, "cannot open '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		rc = open_dir(path, &src, err);
	else if (!S_ISREG(st.st_mode))
		/* A pipe could not be read twice, to tell IDX from a list and then to read it. */
		rc = vgg__fail(err, VGG_EIO, "'%s' is not a file or a directory", path);
	else if (!(rc = vgg__idx_sniff(path, &is_idx, err)))
		rc = is_idx ? open_idx(path, &src, err) : open_list(path, &src, err);
	if (rc)
		return rc;
	rc = view_new(src, src->count, NULL, out, err);
	source_release(src);
	return rc;
}

size_t vgg_dataset_count(const vgg_dataset *ds)
{
	return ds->count;
}

int vgg_dataset_classes(const vgg_dataset *ds)
{
	return ds->src->classes;
}

const char *vgg_dataset_class_name(const vgg_dataset *ds, int c)
{
	const struct source *s = ds->src;
	return s->class_names && c >= 0 && c < s->classes ? s->class_names[c] : NULL;
}

int vgg_dataset_label(const vgg_dataset *ds, size_t i)
{
	return ds->src->labels[source_index(ds, i)];
}

int vgg_dataset_image(const vgg_dataset *ds, size_t i, vgg_image **out, vgg_error *err)
{
	const struct source *s = ds->src;
	size_t k = source_index(ds, i);
	*out = NULL;
	if (!s->idx.pixels)
		return vgg_image_read(s->paths + s->path_at[k], 0, out, err);
	/* The size was checked when the file was read. */
	const struct vgg__idx *idx = &s->idx;
	size_t bytes = (size_t)idx->height * (size_t)idx->width * (size_t)idx->channels;
	vgg_image *img = malloc(sizeof *img);
	unsigned char *pixels = malloc(bytes);
	if (!img || !pixels) {
		free(img);
		free(pixels);
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	}
	memcpy(pixels, idx->pixels + k * bytes, bytes);
	*img = (vgg_image){idx->width, idx->height, idx->channels, pixels};
	*out = img;
	return VGG_OK;
}

/* ---- Splits ---- */

int vgg_dataset_split(const vgg_dataset *ds, double fraction, uint64_t seed,
                      vgg_dataset **train, vgg_dataset **held_out, vgg_error *err)
{
	*train = *held_out = NULL;
	if (!(fraction > 0.0 && fraction < 1.0))
		return vgg__fail(err, VGG_ERANGE, "a held-out fraction of %g: it must lie between 0 "
		                 "and 1", fraction);
	size_t n = ds->count, held = (size_t)floor((double)n * fraction + 0.5);
	if (held == 0 || held == n)
		return vgg__fail(err, VGG_ERANGE, "holding out %g of %zu images leaves %s empty",
		                 fraction, n, held ? "the training set" : "the held-out set");
	size_t *perm = malloc(n * sizeof *perm);
	size_t *a = malloc((n - held) * sizeof *a), *b = malloc(held * sizeof *b);
	unsigned char *out = calloc(n, 1);
	int rc = VGG_OK;
	if (!perm || !a || !b || !out) {
		free(a);
		free(b);
		rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
	} else {
		vgg__rng_permutation(perm, n, seed, VGG__RNG_SHUFFLE, VGG__RNG_SHUFFLE);
		for (size_t i = 0; i < held; i++)
			out[perm[i]] = 1;
		/* Each part in the order of ds, so a held-out set is evaluated in file order. */
		for (size_t i = 0, ia = 0, ib = 0; i < n; i++) {
			if (out[i])
				b[ib++] = source_index(ds, i);
			else
				a[ia++] = source_index(ds, i);
		}
		rc = view_new(ds->src, n - held, a, train, err);
		if (rc) {
			free(b);
		} else if ((rc = view_new(ds->src, held, b, held_out, err))) {
			vgg_dataset_free(*train);
			*train = NULL;
		}
	}
	free(perm);
	free(out);
	return rc;
}

/* ---- Statistics ---- */

/* Diagonalises the symmetric a by Jacobi rotations: a becomes diagonal, the columns of v its
 * eigenvectors. */
static void jacobi3(double a[3][3], double v[3][3])
{
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			v[i][j] = i == j;
	for (int sweep = 0; sweep < 50; sweep++) {
		double off = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2];
		if (off == 0.0)
			break;
		for (int p = 0; p < 2; p++)
			for (int q = p + 1; q < 3; q++) {
				double g = 100.0 * fabs(a[p][q]);
				/* Past a few sweeps, what no longer changes the diagonal is zero. */
				if (sweep > 3 && fabs(a[p][p]) + g == fabs(a[p][p]) &&
				    fabs(a[q][q]) + g == fabs(a[q][q]))
					a[p][q] = a[q][p] = 0.0;
				if (a[p][q] == 0.0)
					continue;
				/* The angle that zeroes a[p][q] (Rutishauser's formulas). */
				double theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
				double t = fabs(theta) > 1e150 ? 0.5 / theta
				           : (theta >= 0 ? 1.0 : -1.0) /
				             (fabs(theta) + sqrt(theta * theta + 1.0));
				double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
				for (int k = 0; k < 3; k++) {
					double kp = a[k][p], kq = a[k][q];
					a[k][p] = c * kp - s * kq;
					a[k][q] = s * kp + c * kq;
				}
				for (int k = 0; k < 3; k++) {
					double pk = a[p][k], qk = a[q][k];
					a[p][k] = c * pk - s * qk;
					a[q][k] = s * pk + c * qk;
				}
				for (int k = 0; k < 3; k++) {
					double kp = v[k][p], kq = v[k][q];
					v[k][p] = c * kp - s * kq;
					v[k][q] = s * kp + c * kq;
				}
			}
	}
}

/*
 * Sums over pixels, exact as integers so that the result does not depend on the order the
 * images come in: sum[c] of values, prod[i][j] of products of two channels (i <= j).
 */
struct pixel_sums {
	uint64_t pixels;
	uint64_t sum[3];
	uint64_t prod[3][3];
};

static void add_pixels(struct pixel_sums *s, const vgg_image *img)
{
	size_t n = (size_t)img->width * (size_t)img->height;
	const unsigned char *p = img->pixels;
	uint64_t sum[3] = {0}, prod[3][3] = {{0}};
	if (img->channels == 1) {
		for (size_t i = 0; i < n; i++) {
			sum[0] += p[i];
			prod[0][0] += (uint64_t)p[i] * p[i];
		}
		for (int i = 0; i < 3; i++) {
			s->sum[i] += sum[0];
			for (int j = i; j < 3; j++)
				s->prod[i][j] += prod[0][0];
		}
	} else {
		for (size_t k = 0; k < n; k++, p += 3)
			for (int i = 0; i < 3; i++) {
				sum[i] += p[i];
				for (int j = i; j < 3; j++)
					prod[i][j] += (uint64_t)p[i] * p[j];
			}
		for (int i = 0; i < 3; i++) {
			s->sum[i] += sum[i];
			for (int j = i; j < 3; j++)
				s->prod[i][j] += prod[i][j];
		}
	}
	s->pixels += n;
}

int vgg_dataset_stats(const vgg_dataset *ds, size_t sample, uint64_t seed, float mean[3],
                      float std[3], float eigval[3], float eigvec[3][3], vgg_error *err)
{
	size_t n = ds->count;
	size_t *order = NULL;
	if (sample && sample < n) {
		if (!(order = malloc(n * sizeof *order)))
			return vgg__fail(err, VGG_ENOMEM, "out of memory");
		vgg__rng_permutation(order, n, seed, VGG__RNG_STATS, VGG__RNG_SHUFFLE);
		n = sample;
	}
	struct pixel_sums s = {0};
	vgg_error last = {0};
	int rc = VGG_OK;
	for (size_t i = 0; i < n; i++) {
		vgg_image *img;
		rc = vgg_dataset_image(ds, order ? order[i] : i, &img, &last);
		if (rc == VGG_ENOMEM)
			break;
		if (!rc)
			add_pixels(&s, img);
		vgg_image_free(img);
		rc = VGG_OK;
	}
	free(order);
	if (rc)
		return vgg__fail(err, rc, "%s", last.msg);
	if (!s.pixels)
		return vgg__fail(err, last.code, "no image decodes; the last: %s", last.msg);

	double m[3], cov[3][3], vec[3][3], count = (double)s.pixels;
	for (int i = 0; i < 3; i++)
		m[i] = (double)s.sum[i] / count / 255.0;
	for (int i = 0; i < 3; i++)
		for (int j = i; j < 3; j++)
			cov[i][j] = cov[j][i] = (double)s.prod[i][j] / count / (255.0 * 255.0) -
			                        m[i] * m[j];
	for (int i = 0; i < 3; i++) {
		mean[i] = (float)m[i];
		std[i] = (float)sqrt(cov[i][i] > 0 ? cov[i][i] : 0);
	}
	jacobi3(cov, vec);
	int rank[3] = {0, 1, 2};
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (cov[rank[j]][rank[j]] > cov[rank[i]][rank[i]]) {
				int t = rank[i];
				rank[i] = rank[j];
				rank[j] = t;
			}
	for (int i = 0; i < 3; i++) {
		int k = rank[i], big = 0;
		for (int c = 1; c < 3; c++)
			if (fabs(vec[c][k]) > fabs(vec[big][k]))
				big = c;
		double sign = vec[big][k] < 0 ? -1.0 : 1.0;
		/* Rounding can leave a zero eigenvalue a hair below 0. */
		eigval[i] = (float)(cov[k][k] > 0 ? cov[k][k] : 0);
		for (int c = 0; c < 3; c++)
			eigvec[i][c] = (float)(sign * vec[c][k]);
	}
	return VGG_OK;
}
