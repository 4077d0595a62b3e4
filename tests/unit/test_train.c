/*
 * test_train.c: the trainer against torch.optim.SGD taking the same two steps from the same
 * weights (tests/golden/make_train_goldens.py), and its own promises: one seed, one result;
 * frozen layers stay; a copy of the weights comes back whole; shares of a batch weighted by
 * their sizes give the batch's gradient, announced layer by layer as it is done.
 */
#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "testdata.h"
#include "vgg.h"

static float *batch;
static int labels[8];

static int load_batch(void)
{
	char path[512];
	int ndim;
	int64_t shape[VGG_MAX_DIMS];
	float *l = NULL;
	vgg_error err;
	snprintf(path, sizeof path, "%s/train/batch.npy", test_data_dir());
	FILE *f = fopen(path, "rb");
	if (!f || vgg_npy_read(f, path, &ndim, shape, &batch, &err))
		return 0;
	fclose(f);
	snprintf(path, sizeof path, "%s/train/labels.npy", test_data_dir());
	if (!(f = fopen(path, "rb")) || vgg_npy_read(f, path, &ndim, shape, &l, &err))
		return 0;
	fclose(f);
	for (int i = 0; i < 8; i++)
		labels[i] = (int)l[i];
	free(l);
	return 1;
}

static vgg_weights *open_data(const char *name)
{
	char path[512];
	vgg_weights *w = NULL;
	snprintf(path, sizeof path, "%s/train/%s", test_data_dir(), name);
	if (vgg_weights_open(path, &w, NULL))
		printf("# cannot open %s\n", path);
	return w;
}

/* A trainer for the golden net NAME, with its initial weights. */
static vgg_trainer *golden_trainer(const char *name)
{
	char file[64];
	snprintf(file, sizeof file, "%s.init.safetensors", name);
	vgg_weights *w = open_data(file);
	vgg_config *cfg = NULL;
	vgg_trainer *t = NULL;
	char copied[256];
	if (w && !vgg_config_parse(vgg_weights_meta(w, "vgg.config"), file, &cfg, NULL) &&
	    !vgg_trainer_new(cfg, &t, NULL) &&
	    vgg_trainer_copy_from(t, w, VGG_COPY_FINETUNE, copied, sizeof copied, NULL)) {
		vgg_trainer_free(t);
		t = NULL;
	}
	vgg_config_free(cfg);
	vgg_weights_free(w);
	return t;
}

/* The trainer's tensors, through a weights file (which tests writing them too). */
static vgg_weights *snapshot(vgg_trainer *t, int with_momentum)
{
	char path[] = "/tmp/vgg-test-train.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	close(fd);
	vgg_weights_writer *wr = vgg_weights_writer_new();
	vgg_weights *w = NULL;
	if (vgg_trainer_write(t, wr, with_momentum, NULL) ||
	    vgg_weights_writer_meta(wr, "vgg.config", "x", NULL) ||
	    vgg_weights_writer_write(wr, path, NULL) || vgg_weights_open(path, &w, NULL))
		w = NULL;
	vgg_weights_writer_free(wr);
	unlink(path);
	return w;
}

/* Largest difference between same-named tensors relative to the largest value of each. */
static double max_rel_diff(const vgg_weights *a, const vgg_weights *b, size_t *compared)
{
	double worst = 0;
	*compared = 0;
	for (size_t i = 0; i < vgg_weights_count(b); i++) {
		const vgg_tensor_info *tb = vgg_weights_tensor(b, i), *ta = vgg_weights_find(a, tb->name);
		if (!ta || ta->numel != tb->numel)
			return INFINITY;
		float *x = malloc(ta->numel * sizeof *x), *y = malloc(tb->numel * sizeof *y);
		vgg_tensor_to_float(ta, x);
		vgg_tensor_to_float(tb, y);
		double max = 0, diff = 0;
		for (uint64_t j = 0; j < ta->numel; j++) {
			max = fmax(max, fabs(y[j]));
			diff = fmax(diff, fabs((double)x[j] - y[j]));
		}
		worst = fmax(worst, max > 0 ? diff / max : diff);
		(*compared)++;
		free(x);
		free(y);
	}
	return worst;
}

static void two_steps(vgg_trainer *t, uint64_t seed, double loss[2])
{
	const vgg_sgd sgd = {0.1f, 0.9f, 5e-4f};
	for (int s = 0; s < 2; s++) {
		int correct;
		vgg_trainer_gradients(t, batch + (size_t)s * 4 * 3 * 16 * 16, labels + 4 * s, 4,
		                      seed + (uint64_t)s, &loss[s], &correct, NULL);
		vgg_trainer_update(t, &sgd);
	}
}

static void check_golden(const char *name, const double want_loss[2])
{
	vgg_trainer *t = golden_trainer(name);
	if (!t) {
		CHECK(0, "%s: a trainer from %s.init.safetensors", name, name);
		return;
	}
	vgg_trainer_set_dropout(t, 0);
	double loss[2];
	two_steps(t, 1, loss);
	CHECK(fabs(loss[0] - want_loss[0]) < 1e-5 && fabs(loss[1] - want_loss[1]) < 1e-5,
	      "%s: the two steps' losses are torch's (%.7f %.7f)", name, loss[0], loss[1]);
	char file[64];
	snprintf(file, sizeof file, "%s.step2.safetensors", name);
	vgg_weights *want = open_data(file), *got = snapshot(t, 0);
	size_t compared = 0;
	double rel = want && got ? max_rel_diff(got, want, &compared) : INFINITY;
	CHECK(rel < 1e-5 && compared == vgg_weights_count(want),
	      "%s: after two SGD steps every tensor (%zu) is torch's within 1e-5 relative (%.2g)",
	      name, compared, rel);
	vgg_weights_free(want);
	vgg_weights_free(got);
	vgg_trainer_free(t);
}

static void check_seed_and_resume(void)
{
	vgg_trainer *a = golden_trainer("plain"), *b = golden_trainer("plain");
	double loss[2];
	two_steps(a, 5, loss);
	two_steps(b, 5, loss);
	vgg_weights *wa = snapshot(a, 1), *wb = snapshot(b, 1);
	size_t n;
	CHECK(wa && wb && max_rel_diff(wa, wb, &n) == 0,
	      "the same seed gives the same weights and momentum, with dropout");
	/* A third trainer restored from a's checkpoint takes the next step as a does. */
	vgg_trainer *c = golden_trainer("plain");
	char copied[256];
	int rc = vgg_trainer_copy_from(c, wa, VGG_COPY_RESUME, copied, sizeof copied, NULL);
	CHECK_STR(rc == VGG_OK ? copied : NULL, "conv1_1 conv2_1 conv2_2 fc3 fc4 fc5",
	          "resume copies every layer with its momentum");
	two_steps(a, 9, loss);
	two_steps(c, 9, loss);
	vgg_weights *wa2 = snapshot(a, 1), *wc2 = snapshot(c, 1);
	CHECK(wa2 && wc2 && max_rel_diff(wa2, wc2, &n) == 0,
	      "steps after a restored checkpoint equal the uninterrupted run's");
	vgg_weights *init = open_data("plain.init.safetensors");
	vgg_trainer *d = golden_trainer("plain");
	vgg_error err;
	rc = vgg_trainer_copy_from(d, init, VGG_COPY_RESUME, copied, sizeof copied, &err);
	CHECK(rc == VGG_ESHAPE && strstr(err.msg, "momentum"),
	      "resuming from a file without momentum fails: %.150s", err.msg);
	vgg_weights_free(init);
	vgg_weights_free(wa);
	vgg_weights_free(wb);
	vgg_weights_free(wa2);
	vgg_weights_free(wc2);
	vgg_trainer_free(a);
	vgg_trainer_free(b);
	vgg_trainer_free(c);
	vgg_trainer_free(d);
}

static void check_freeze(void)
{
	vgg_trainer *t = golden_trainer("bn");
	vgg_error err;
	CHECK(vgg_trainer_freeze(t, "conv1_1", NULL) == VGG_OK &&
	      vgg_trainer_freeze(t, "CONV2_1", NULL) == VGG_OK,
	      "freeze conv1_1 and conv2_1 (names in any case)");
	int rc = vgg_trainer_freeze(t, "pool1", &err);
	CHECK(rc == VGG_ERANGE, "pool1 has nothing to freeze: %.150s", err.msg);
	rc = vgg_trainer_freeze(t, "conv9_9", &err);
	CHECK(rc == VGG_ENOTFOUND, "conv9_9: %.150s", err.msg);
	double loss[2];
	two_steps(t, 1, loss);
	vgg_weights *before = open_data("bn.init.safetensors"), *after = snapshot(t, 0);
	int same = 1, moved = 0;
	for (size_t i = 0; before && after && i < vgg_weights_count(after); i++) {
		const vgg_tensor_info *ta = vgg_weights_tensor(after, i);
		const vgg_tensor_info *tb = vgg_weights_find(before, ta->name);
		int equal = tb && memcmp(ta->data, tb->data, ta->nbytes) == 0;
		int frozen = strncmp(ta->name, "conv1_1.", 8) == 0 || strncmp(ta->name, "conv2_1.", 8) == 0;
		/* Running statistics are the batch's to update, frozen or not. */
		if (frozen && !strstr(ta->name, "running"))
			same &= equal;
		else if (!frozen)
			moved += !equal;
	}
	CHECK(same && moved > 0, "frozen layers keep their parameters; the others move (%d)", moved);
	vgg_weights_free(before);
	vgg_weights_free(after);
	vgg_trainer_free(t);
}

/* What the ready calls saw: each `from`, and the gradients from it on at that moment. */
struct ready_log {
	float *grads;
	size_t count, froms[16];
	int calls;
	float *seen;
};

static void on_ready(void *ctx, size_t from)
{
	struct ready_log *r = ctx;
	if (r->calls < 16)
		r->froms[r->calls] = from;
	r->calls++;
	memcpy(r->seen + from, r->grads + from, (r->count - from) * sizeof *r->seen);
}

/*
 * What a data-parallel run relies on: the gradients of shares of 1 and 3 images, weighted
 * 1/4 and 3/4 and summed, are the 4-image batch's within float rounding; each layer's are
 * announced once done, top layer first, and never change after.
 */
static void check_shares(void)
{
	vgg_trainer *t = golden_trainer("plain");
	if (!t)
		return;
	vgg_trainer_set_dropout(t, 0);
	size_t count, image = 3 * 16 * 16;
	float *g = vgg_trainer_gradient_data(t, &count);
	float *whole = malloc(count * sizeof *whole), *sum = calloc(count, sizeof *sum);
	struct ready_log r = {g, count, {0}, 0, malloc(count * sizeof(float))};
	double loss;
	int correct, ok = whole && sum && r.seen;
	vgg_trainer_on_gradient_ready(t, on_ready, &r);
	ok = ok && !vgg_trainer_gradients(t, batch, labels, 4, 1, &loss, &correct, NULL);
	int decreasing = r.calls == 6 && r.froms[r.calls - 1] == 0;
	for (int i = 1; i < r.calls && i < 16; i++)
		decreasing &= r.froms[i] < r.froms[i - 1];
	CHECK(ok && decreasing, "ready: one call per weighted layer (%d), top first, the last at 0",
	      r.calls);
	CHECK(ok && memcmp(r.seen, g, count * sizeof *g) == 0,
	      "ready: what was announced done did not change afterwards");
	vgg_trainer_on_gradient_ready(t, NULL, NULL);
	if (ok)
		memcpy(whole, g, count * sizeof *g);
	r.calls = 0;
	static const int first[2] = {0, 1}, size[2] = {1, 3};
	for (int s = 0; ok && s < 2; s++) {
		ok = !vgg_trainer_gradients(t, batch + (size_t)first[s] * image, labels + first[s],
		                            size[s], 1, &loss, &correct, NULL);
		for (size_t j = 0; ok && j < count; j++)
			sum[j] += g[j] * (float)size[s] / 4;
	}
	double max = 0, diff = 0;
	for (size_t j = 0; ok && j < count; j++) {
		max = fmax(max, fabs(whole[j]));
		diff = fmax(diff, fabs((double)whole[j] - sum[j]));
	}
	CHECK(ok && r.calls == 0 && max > 0 && diff <= 1e-6 * max,
	      "shares of 1 and 3 images weighted by size give the batch's gradient (%.2g)",
	      max > 0 ? diff / max : diff);
	size_t stats;
	vgg_trainer_stat_data(t, &stats);
	CHECK_EQ_INT(stats, 0, "no batch norm, no running statistics");
	vgg_trainer_free(t);
	t = golden_trainer("bn");
	float *rm = t ? vgg_trainer_stat_data(t, &stats) : NULL;
	vgg_weights *w = t ? snapshot(t, 0) : NULL;
	const vgg_tensor_info *mean = w ? vgg_weights_find(w, "conv1_1.bn.running_mean") : NULL;
	const vgg_tensor_info *var = w ? vgg_weights_find(w, "conv1_1.bn.running_var") : NULL;
	CHECK(mean && var && stats > 2 * mean->numel &&
	      memcmp(rm, mean->data, mean->nbytes) == 0 &&
	      memcmp(rm + mean->numel, var->data, var->nbytes) == 0,
	      "running statistics: conv1_1's means then variances first, %zu in all", stats);
	vgg_weights_free(w);
	vgg_trainer_free(t);
	free(r.seen);
	free(whole);
	free(sum);
}

static void check_errors(void)
{
	vgg_config *cfg;
	vgg_trainer *t = NULL;
	vgg_error err;
	vgg_config_parse("input 9x9x1\nconv3-2\nconv3-2\nmaxpool\n", "<test>", &cfg, NULL);
	int rc = vgg_trainer_new(cfg, &t, &err);
	float x[81];
	int nolabel[1] = {0};
	double loss;
	for (int i = 0; i < 81; i++)
		x[i] = (float)((i * 37) % 11) - 5;
	int correct;
	rc = rc ? rc : vgg_trainer_gradients(t, x, nolabel, 1, 1, &loss, &correct, &err);
	CHECK(rc == VGG_ESHAPE, "a net without an FC layer trains nothing: %.150s", err.msg);
	/* conv1_2's centre unit sees the 5x5 box around the input's centre, and nothing else. */
	const float *dx;
	rc = vgg_trainer_input_gradient(t, x, 1, "conv1_2", &dx, &err);
	int inside = 1, outside = 0;
	for (int y = 0; rc == VGG_OK && y < 9; y++)
		for (int xx = 0; xx < 9; xx++) {
			int in_box = y >= 2 && y <= 6 && xx >= 2 && xx <= 6;
			if (in_box && y == 4 && xx == 4)
				inside = dx[y * 9 + xx] != 0;
			outside += !in_box && dx[y * 9 + xx] != 0;
		}
	CHECK(rc == VGG_OK && inside && outside == 0,
	      "input gradient of conv1_2's centre: non-zero at the centre, zero outside its 5x5 field");
	rc = vgg_trainer_input_gradient(t, x, 1, "conv7_1", &dx, &err);
	CHECK(rc == VGG_ENOTFOUND, "input gradient of a layer that is not there: %.150s", err.msg);
	vgg_config_free(cfg);
	vgg_trainer_free(t);
	t = golden_trainer("plain");
	int bad[4] = {0, 1, 5, 2};
	rc = vgg_trainer_gradients(t, batch, bad, 4, 1, &loss, &correct, &err);
	CHECK(rc == VGG_ERANGE, "label 5 for 5 classes is refused: %.150s", err.msg);
	int top1 = -1, top5 = -1;
	rc = vgg_trainer_evaluate(t, batch, labels, 8, &loss, &top1, &top5, NULL);
	CHECK(rc == VGG_OK && top5 == 8 && top1 >= 0 && top1 <= 8 && loss > 0,
	      "evaluate: 5 classes, so every label is in the top 5 (top-1 %d)", top1);
	vgg_trainer_free(t);
}

int main(void)
{
	if (!load_batch()) {
		CHECK(0, "read tests/data/train/batch.npy and labels.npy");
		return tap_done();
	}
	/* The losses make_train_goldens.py printed. */
	check_golden("plain", (const double[2]){1.6477649211883545, 1.5394706726074219});
	check_golden("bn", (const double[2]){1.7071270942687988, 1.6774765253067017});
	check_seed_and_resume();
	check_freeze();
	check_shares();
	check_errors();
	free(batch);
	return tap_done();
}
