/*
 * test_tensor_set.c: the converter readers' set of named tensors (tensor_set.c): names
 * found after any number of additions, a repeated name refused, and a hostile count of
 * tensors (as a forged .pth or .caffemodel declares) added in time proportional to it.
 */
#include <stdlib.h>
#include <time.h>

#include "tap.h"
#include "vgg.h"

/* Each name checked against all before it was a quadratic cost: 200000 tensors took six
 * minutes.  A hash table makes it a fraction of a second; 10 s leaves room for valgrind. */
#define MANY 200000

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_basics(void)
{
	vgg_tensor_set *set = vgg_tensor_set_new();
	vgg_error err;
	int64_t shape[2] = {2, 3};
	float *a = calloc(6, sizeof *a), *b = calloc(6, sizeof *b);
	CHECK(set && a && b, "a set is made");
	CHECK(vgg_tensor_set_find(set, "x") == NULL, "an empty set finds nothing");
	CHECK_EQ_INT(vgg_tensor_set_add(set, "fc.weight", 2, shape, a, &err), VGG_OK, "adds");
	int rc = vgg_tensor_set_add(set, "fc.weight", 2, shape, b, &err);
	CHECK_EQ_INT(rc, VGG_EPARSE, "a name given twice is refused");
	CHECK_STR(err.msg, "tensor 'fc.weight' is given twice", "with a message naming it");
	const vgg_set_tensor *t = vgg_tensor_set_find(set, "fc.weight");
	CHECK(t && t->data == a && t->numel == 6 && t == vgg_tensor_set_at(set, 0),
	      "the first one stays");
	CHECK(vgg_tensor_set_find(set, "fc.weigh") == NULL &&
	      vgg_tensor_set_find(set, "fc.weightt") == NULL && vgg_tensor_set_find(set, "") == NULL,
	      "names that only start or end alike are not found");
	CHECK_EQ_INT(vgg_tensor_set_count(set), 1, "one tensor");
	vgg_tensor_set_free(set);
}

static void test_many(void)
{
	vgg_tensor_set *set = vgg_tensor_set_new();
	static const float value = 1.0f;
	vgg_error err;
	int64_t one = 1;
	char name[32];
	int ok = set != NULL;
	double start = seconds();
	for (int i = 0; ok && i < MANY; i++) {
		snprintf(name, sizeof name, "layer%d.weight", i);
		ok = vgg_tensor_set_borrow(set, name, 1, &one, &value, &err) == VGG_OK;
	}
	CHECK(ok, "%d tensors are added", MANY);
	for (int i = 0; ok && i < MANY; i++) {
		snprintf(name, sizeof name, "layer%d.weight", i);
		const vgg_set_tensor *t = vgg_tensor_set_find(set, name);
		ok = t == vgg_tensor_set_at(set, (size_t)i) && strcmp(t->name, name) == 0;
	}
	CHECK(ok, "each is found by its name");
	snprintf(name, sizeof name, "layer%d.weight", MANY / 2);
	CHECK_EQ_INT(vgg_tensor_set_borrow(set, name, 1, &one, &value, &err), VGG_EPARSE,
	             "one given again is refused");
	double took = seconds() - start;
	CHECK(took < 10, "in %.2f s, not the minutes a quadratic search takes", took);
	CHECK_EQ_INT(vgg_tensor_set_count(set), MANY, "the set holds %d", MANY);
	vgg_tensor_set_free(set);
}

int main(void)
{
	test_basics();
	test_many();
	return tap_done();
}
