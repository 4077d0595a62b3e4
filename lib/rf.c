/* rf.c: receptive-field questions about single units and stacked 3x3 convolutions. */
#include "internal.h"

int vgg_rf_unit_box(const vgg_layer_info *layer, int64_t y, int64_t x, vgg_box *box,
                    vgg_error *err)
{
	if (y < 0 || x < 0 || y >= layer->out_h || x >= layer->out_w)
		return vgg__fail(err, VGG_ERANGE,
		                 "unit %lld,%lld is outside %s's %dx%d output", (long long)y,
		                 (long long)x, layer->name, layer->out_h, layer->out_w);
	box->y0 = y * layer->jump[0] - layer->eff_pad[0];
	box->y1 = box->y0 + layer->rf[0] - 1;
	box->x0 = x * layer->jump[1] - layer->eff_pad[1];
	box->x1 = box->x0 + layer->rf[1] - 1;
	return VGG_OK;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

vgg_box vgg_rf_clip(vgg_box box, int height, int width)
{
	vgg_box c = {
		clamp(box.y0, 0, height - 1), clamp(box.y1, 0, height - 1),
		clamp(box.x0, 0, width - 1), clamp(box.x1, 0, width - 1)
	};
	return c;
}

int vgg_rf_equiv_3x3(int k, int *convs, vgg_error *err)
{
	/* Each stride-1 3x3 conv widens the field by 2, so only odd sizes from 3 are reached. */
	if (k < 3 || k % 2 == 0 || k > 1000001)
		return vgg__fail(err, VGG_ERANGE,
		                 "%d: a stack of 3x3 convs reaches only odd sizes from 3 up", k);
	*convs = (k - 1) / 2;
	return VGG_OK;
}
