/*
 * schedule.c: the learning rate over a run.  The paper's rule divides it by 10 when the
 * validation accuracy stops improving; users on small data expect a step or cosine
 * schedule and a linear warm-up too.
 */
#include <math.h>

#include "internal.h"

void vgg_schedule_init(vgg_schedule *s, enum vgg_schedule_kind kind, float lr, int epochs)
{
	*s = (vgg_schedule){.kind = kind, .lr = lr, .epochs = epochs, .patience = 3,
	                    .max_drops = 3, .step = 0, .warmup = 0, .best = -1};
}

float vgg_schedule_lr(const vgg_schedule *s, int epoch, double progress)
{
	double t = epoch + progress;
	double lr = s->lr;
	switch (s->kind) {
	case VGG_SCHEDULE_PLATEAU:
		lr *= pow(0.1, s->drops);
		break;
	case VGG_SCHEDULE_STEP: {
		int drops = s->step > 0 ? epoch / s->step : 0;
		lr *= pow(0.1, drops < s->max_drops ? drops : s->max_drops);
		break;
	}
	case VGG_SCHEDULE_COSINE: {
		/* A run that is all warm-up never reaches the cosine's descent. */
		double span = s->epochs - s->warmup;
		double done = span > 0 ? (t - s->warmup) / span : 0;
		lr *= 0.5 * (1 + cos(M_PI * (done < 0 ? 0 : done > 1 ? 1 : done)));
		break;
	}
	}
	if (t < s->warmup)
		lr *= t / s->warmup;
	return (float)lr;
}

int vgg_schedule_epoch_end(vgg_schedule *s, double accuracy)
{
	if (accuracy > s->best) {
		s->best = accuracy;
		s->stale = 0;
		return 0;
	}
	s->stale++;
	if (s->kind != VGG_SCHEDULE_PLATEAU || s->stale < s->patience || s->drops >= s->max_drops)
		return 0;
	s->drops++;
	s->stale = 0;
	return 1;
}
