/*
 * test_schedule.c: the learning rate over a run: the paper's plateau rule, steps, the
 * cosine and the warm-up before any of them, at the points where each is known exactly.
 */
#include "tap.h"
#include "vgg.h"

static int near(double got, double want)
{
	return fabs(got - want) <= 1e-6 * (fabs(want) > 1 ? fabs(want) : 1);
}

int main(void)
{
	vgg_schedule s;

	vgg_schedule_init(&s, VGG_SCHEDULE_COSINE, 0.1f, 10);
	CHECK(near(vgg_schedule_lr(&s, 0, 0), 0.1), "cosine: the base rate at the start");
	CHECK(near(vgg_schedule_lr(&s, 5, 0), 0.05), "cosine: half the rate half-way");
	CHECK(near(vgg_schedule_lr(&s, 9, 1), 0), "cosine: 0 at the end");

	s.warmup = 2;
	CHECK(near(vgg_schedule_lr(&s, 0, 0.5), 0.025),
	      "warm-up: a quarter of the rate a quarter of the way up");
	CHECK(near(vgg_schedule_lr(&s, 2, 0), 0.1), "warm-up over: the base rate");
	CHECK(near(vgg_schedule_lr(&s, 6, 0), 0.05),
	      "cosine after warm-up: half-way through the 8 epochs after it");

	/* This once gave 0 throughout: the cosine's span was empty, so it was taken as done. */
	vgg_schedule_init(&s, VGG_SCHEDULE_COSINE, 0.1f, 1);
	s.warmup = 1;
	CHECK(near(vgg_schedule_lr(&s, 0, 0.5), 0.05), "a run that is all warm-up climbs (%g)",
	      vgg_schedule_lr(&s, 0, 0.5));
	s.warmup = 3;
	CHECK(near(vgg_schedule_lr(&s, 0, 0.75), 0.025), "warm-up longer than the run: still climbing");

	vgg_schedule_init(&s, VGG_SCHEDULE_STEP, 0.1f, 20);
	s.step = 4;
	CHECK(near(vgg_schedule_lr(&s, 3, 0.99), 0.1), "step: the base rate before the first step");
	CHECK(near(vgg_schedule_lr(&s, 4, 0), 0.01), "step: a tenth after it");
	CHECK(near(vgg_schedule_lr(&s, 19, 0), 1e-4), "step: at most max_drops (3) divisions");

	vgg_schedule_init(&s, VGG_SCHEDULE_PLATEAU, 0.1f, 20);
	s.patience = 2;
	int drops = 0;
	const double acc[] = {0.5, 0.6, 0.6, 0.59, 0.7, 0.7, 0.7, 0.7};
	for (int e = 0; e < 8; e++)
		drops += vgg_schedule_epoch_end(&s, acc[e]);
	CHECK_EQ_INT(drops, 2, "plateau: a drop after each 2 epochs without improvement");
	CHECK(near(vgg_schedule_lr(&s, 8, 0), 0.001), "plateau: two drops, a hundredth of the rate");
	return tap_done();
}
