/* test_layout.c: shapes, parameter and multiply-add counts, receptive fields, unit boxes. */
#include <stdlib.h>

#include "tap.h"
#include "vgg.h"

static vgg_layout *lay_out(const char *model, int dense, int h, int w)
{
	vgg_config *cfg;
	vgg_layout *lay = NULL;
	vgg_error err;
	if (vgg_config_load(model, &cfg, &err)) {
		printf("# %s: %s\n", model, err.msg);
		return NULL;
	}
	if (vgg_layout_new(cfg, dense, h, w, &lay, &err))
		printf("# %s: %s\n", model, err.msg);
	vgg_config_free(cfg);
	return lay;
}

/* The paper's configurations at 224x224x3 with 1000 classes (issue figures). */
static void test_reference_counts(void)
{
	static const struct {
		const char *model;
		uint64_t params;
		double gmacs;
		const char *rf_layer;
		int rf;
	} cases[] = {
		{"A", 132863336, 7.609, "pool5", 150},
		{"B", 133047848, 11.308, "pool5", 156},
		{"C", 133638952, 11.771, "pool5", 156},
		{"D", 138357544, 15.470, "conv5_3", 196},
		{"vgg16", 138357544, 15.470, "pool5", 212},
		{"E", 143667240, 19.632, "conv5_4", 252},
		{"vgg19", 143667240, 19.632, "pool5", 268},
		{"vgg11_bn", 132868840, 7.609, "pool5", 150},
		{"vgg16_bn", 138365992, 15.470, "pool5", 212},
		{"vgg19_bn", 143678248, 19.632, "pool5", 268},
		{"A-LRN", 132863336, 7.609, "pool5", 150},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		vgg_layout *lay = lay_out(cases[i].model, 0, 0, 0);
		if (!lay) {
			CHECK(0, "%s lays out", cases[i].model);
			continue;
		}
		CHECK_EQ_INT(vgg_layout_total_params(lay), cases[i].params, "%s parameters",
		             cases[i].model);
		double g = (double)vgg_layout_total_macs(lay) / 1e9;
		CHECK(fabs(g - cases[i].gmacs) < 0.0005, "%s multiply-adds %.3f G (got %.4f)",
		      cases[i].model, cases[i].gmacs, g);
		const vgg_layer_info *l = vgg_layout_find(lay, cases[i].rf_layer);
		CHECK(l && l->rf[0] == cases[i].rf && l->rf[1] == cases[i].rf, "%s %s rf %d",
		      cases[i].model, cases[i].rf_layer, cases[i].rf);
		vgg_layout_free(lay);
	}
}

/* VGG-16's per-layer receptive fields (size / jump / centre), FORMATS.md's table. */
static void test_vgg16_receptive_fields(void)
{
	static const struct {
		const char *layer;
		int rf, jump, pad;
		double center;
	} cases[] = {
		{"conv1_1", 3, 1, 1, 0.0}, {"conv1_2", 5, 1, 2, 0.0}, {"pool1", 6, 2, 2, 0.5},
		{"pool2", 16, 4, 6, 1.5}, {"conv3_3", 40, 4, 18, 1.5}, {"pool3", 44, 8, 18, 3.5},
		{"conv4_3", 92, 8, 42, 3.5}, {"pool4", 100, 16, 42, 7.5},
		{"conv5_3", 196, 16, 90, 7.5}, {"pool5", 212, 32, 90, 15.5},
		{"fc6", 404, 32, 90, 111.5}, {"fc8", 404, 32, 90, 111.5}, {"prob", 404, 32, 90, 111.5},
	};
	vgg_layout *lay = lay_out("vgg16", 0, 0, 0);
	for (size_t i = 0; lay && i < sizeof cases / sizeof *cases; i++) {
		const vgg_layer_info *l = vgg_layout_find(lay, cases[i].layer);
		CHECK(l != NULL, "vgg16 has %s", cases[i].layer);
		if (!l)
			continue;
		CHECK(l->rf[0] == cases[i].rf && l->rf[1] == cases[i].rf &&
		      l->jump[0] == cases[i].jump && l->jump[1] == cases[i].jump &&
		      l->eff_pad[0] == cases[i].pad && l->eff_pad[1] == cases[i].pad,
		      "vgg16 %s rf %d jump %d pad %d", cases[i].layer, cases[i].rf, cases[i].jump,
		      cases[i].pad);
		CHECK_EQ_DBL(l->center[0], cases[i].center, "vgg16 %s centre %.1f", cases[i].layer,
		             cases[i].center);
	}
	const vgg_layer_info *fc6 = lay ? vgg_layout_find(lay, "FC6") : NULL;
	CHECK(fc6 && fc6->kernel[0] == 7 && fc6->kernel[1] == 7 && fc6->params == 102764544,
	      "fc6 is a 7x7 window over pool5 with 102,764,544 parameters");
	vgg_layout_free(lay);
}

static void test_shapes(void)
{
	vgg_layout *lay = lay_out("vgg16", 0, 0, 0);
	static const struct {
		const char *layer;
		int c, h, w;
		uint64_t params, macs, memory;
	} cases[] = {
		{"conv1_1", 64, 224, 224, 1792, 86704128, 64 * 224 * 224 * 4},
		{"pool1", 64, 112, 112, 0, 0, 64 * 112 * 112 * 4},
		{"conv5_3", 512, 14, 14, 2359808, 462422016, 512 * 14 * 14 * 4},
		{"fc7", 4096, 1, 1, 16781312, 16777216, 4096 * 4},
		{"prob", 1000, 1, 1, 0, 0, 4000},
	};
	for (size_t i = 0; lay && i < sizeof cases / sizeof *cases; i++) {
		const vgg_layer_info *l = vgg_layout_find(lay, cases[i].layer);
		CHECK(l && l->out_c == cases[i].c && l->out_h == cases[i].h && l->out_w == cases[i].w,
		      "vgg16 %s is %dx%dx%d", cases[i].layer, cases[i].c, cases[i].h, cases[i].w);
		CHECK(l && l->params == cases[i].params && l->macs == cases[i].macs &&
		      l->memory == cases[i].memory, "vgg16 %s counts", cases[i].layer);
	}
	const vgg_layer_info *c11 = lay ? vgg_layout_find(lay, "conv1_1") : NULL;
	CHECK(c11 && c11->relu && !c11->batch_norm && c11->pad == 1 && c11->stride == 1,
	      "conv1_1: ReLU, no BN, pad 1, stride 1");
	const vgg_layer_info *fc7 = lay ? vgg_layout_find(lay, "fc7") : NULL;
	const vgg_layer_info *fc8 = lay ? vgg_layout_find(lay, "fc8") : NULL;
	CHECK(fc7 && fc7->relu && fc8 && !fc8->relu, "ReLU after every FC but the last");
	CHECK(lay && vgg_layout_find(lay, "relu1_1") == NULL, "no such layer: NULL");
	vgg_layout_free(lay);
}

/* Odd sizes, 1x1 and 5x5 kernels, hand-computed. */
static void test_hand_checked(void)
{
	/* 37x37: conv5 (pad 2) keeps 37; pool 18; conv3 keeps 18; pool 9; conv1 keeps 9. */
	vgg_layout *lay = lay_out("input 37x37x2 conv5-8 maxpool conv3-16 BN maxpool conv1-4 "
	                          "FC-6 FC-3", 0, 0, 0);
	const vgg_layer_info *l;
	CHECK(lay != NULL, "odd-size net lays out");
	if (!lay)
		return;
	l = vgg_layout_find(lay, "conv1_1");
	/* r 5, j 1, P 2: centre (5-1)/2 - 2 = 0 */
	CHECK(l->out_h == 37 && l->rf[0] == 5 && l->jump[0] == 1 && l->eff_pad[0] == 2 &&
	      l->center[0] == 0.0 && l->params == 2 * 25 * 8 + 8, "conv5 on 37x37");
	l = vgg_layout_find(lay, "pool1");
	/* r 5+1 = 6, j 2, P 2: centre 2.5 - 2 = 0.5; floor(37/2) = 18 */
	CHECK(l->out_h == 18 && l->rf[0] == 6 && l->jump[0] == 2 && l->eff_pad[0] == 2 &&
	      l->center[0] == 0.5, "pool1 floors 37 to 18");
	l = vgg_layout_find(lay, "conv2_1");
	/* r 6+2*2 = 10, j 2, P 2+1*2 = 4: centre 4.5 - 4 = 0.5; BN adds 2*16 */
	CHECK(l->out_h == 18 && l->rf[0] == 10 && l->eff_pad[0] == 4 && l->center[0] == 0.5 &&
	      l->batch_norm && l->params == 8 * 9 * 16 + 16 + 32, "conv3+BN on 18x18");
	l = vgg_layout_find(lay, "pool2");
	/* r 10+2 = 12, j 4, P 4: centre 5.5 - 4 = 1.5; 18 -> 9 */
	CHECK(l->out_h == 9 && l->rf[0] == 12 && l->jump[0] == 4 && l->center[0] == 1.5,
	      "pool2 on 18x18");
	l = vgg_layout_find(lay, "conv3_1");
	CHECK(l->out_h == 9 && l->rf[0] == 12 && l->pad == 0 && l->params == 16 * 4 + 4 &&
	      l->macs == 16 * 4 * 81, "1x1 conv changes nothing spatial");
	l = vgg_layout_find(lay, "fc3");
	/* a 9x9 window: r 12 + 8*4 = 44, centre 21.5 - 4 = 17.5 */
	CHECK(l && l->kernel[0] == 9 && l->out_h == 1 && l->rf[0] == 44 && l->center[0] == 17.5 &&
	      l->params == 4 * 81 * 6 + 6 && l->relu, "fc3 covers pool2's 9x9");
	l = vgg_layout_find(lay, "fc4");
	CHECK(l && l->kernel[0] == 1 && l->params == 6 * 3 + 3 && !l->relu, "fc4, the last");
	vgg_layout_free(lay);

	/* A non-square input: fc's window and receptive field differ per axis. */
	lay = lay_out("input 64x96 conv3-4 maxpool FC-2", 0, 0, 0);
	l = lay ? vgg_layout_find(lay, "fc2") : NULL;
	CHECK(l && l->kernel[0] == 32 && l->kernel[1] == 48 && l->rf[0] == 4 + 31 * 2 &&
	      l->rf[1] == 4 + 47 * 2, "non-square input gives a 32x48 FC window");
	vgg_layout_free(lay);
}

static void test_dense(void)
{
	/* (Q/32 - 6)^2 class maps, FORMATS.md. */
	static const int sizes[][2] = {{224, 1}, {256, 2}, {384, 6}, {512, 10}};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		vgg_layout *lay = lay_out("vgg16", 1, sizes[i][0], sizes[i][0]);
		const vgg_layer_info *fc8 = lay ? vgg_layout_find(lay, "fc8") : NULL;
		const vgg_layer_info *fc6 = lay ? vgg_layout_find(lay, "fc6") : NULL;
		CHECK(fc8 && fc8->out_h == sizes[i][1] && fc8->out_w == sizes[i][1] &&
		      fc6->params == 102764544 && fc6->kernel[0] == 7,
		      "dense vgg16 at %d gives a %dx%d class map", sizes[i][0], sizes[i][1],
		      sizes[i][1]);
		vgg_layout_free(lay);
	}
	vgg_layout *lay = lay_out("vgg16", 1, 256, 320);
	const vgg_layer_info *fc6 = lay ? vgg_layout_find(lay, "fc6") : NULL;
	CHECK(fc6 && fc6->out_h == 2 && fc6->out_w == 4 &&
	      fc6->macs == (uint64_t)512 * 49 * 4096 * 8, "dense at 256x320: 2x4 map, 8x the MACs");
	vgg_layout_free(lay);

	vgg_config *cfg;
	vgg_error err;
	vgg_config_builtin("vgg16", &cfg, &err);
	CHECK_EQ_INT(vgg_layout_new(cfg, 1, 192, 192, &lay, &err), VGG_ESHAPE,
	             "dense at 192 is too small for fc6");
	CHECK_STR(err.msg, "input too small for dense evaluation: fc6's 7x7 window gets a 6x6 input",
	          "and says why");
	vgg_config_set_input(cfg, 3, 16, 16, NULL);
	CHECK_EQ_INT(vgg_layout_new(cfg, 0, 0, 0, &lay, &err), VGG_ESHAPE, "16x16 is too small");
	CHECK_STR(err.msg, "input too small: pool5 gets a 1x1 input", "and says where");
	vgg_config_set_input(cfg, 3, 32, 32, NULL);
	CHECK_EQ_INT(vgg_layout_new(cfg, 0, 0, 0, &lay, &err), VGG_OK, "32x32 lays out");
	fc6 = lay ? vgg_layout_find(lay, "fc6") : NULL;
	CHECK(fc6 && fc6->params == 512 * 4096 + 4096, "at 32x32 fc6 is 512 -> 4096");
	vgg_layout_free(lay);
	vgg_config_free(cfg);
	vgg_layout_free(NULL);
}

static void test_overflow(void)
{
	vgg_config *cfg;
	vgg_layout *lay;
	vgg_error err;
	vgg_config_parse("input 65536x65536x65536 conv31-1048576 conv31-1048576", NULL, &cfg, &err);
	CHECK_EQ_INT(vgg_layout_new(cfg, 0, 0, 0, &lay, &err), VGG_ERANGE,
	             "counts beyond 64 bits are refused");
	vgg_config_free(cfg);
}

static void test_units(void)
{
	vgg_layout *lay = lay_out("vgg16", 0, 0, 0);
	vgg_box box, clip;
	vgg_error err;
	const vgg_layer_info *pool5 = vgg_layout_find(lay, "pool5");
	CHECK_EQ_INT(vgg_rf_unit_box(pool5, 3, 4, &box, &err), VGG_OK, "pool5 unit 3,4");
	CHECK(box.y0 == 6 && box.y1 == 217 && box.x0 == 38 && box.x1 == 249,
	      "pool5 unit 3,4 sees rows 6..217, columns 38..249");
	clip = vgg_rf_clip(box, 224, 224);
	CHECK(clip.y0 == 6 && clip.y1 == 217 && clip.x0 == 38 && clip.x1 == 223,
	      "clipped to columns 38..223");
	CHECK_EQ_INT(vgg_rf_unit_box(pool5, 0, 0, &box, &err), VGG_OK, "pool5 unit 0,0");
	CHECK(box.y0 == -90 && box.y1 == 121, "unit 0 starts 90 pixels into the padding");
	CHECK_EQ_INT(vgg_rf_unit_box(pool5, 7, 0, &box, &err), VGG_ERANGE, "row 7 is outside");
	CHECK_STR(err.msg, "unit 7,0 is outside pool5's 7x7 output", "and says so");
	CHECK_EQ_INT(vgg_rf_unit_box(pool5, 0, -1, &box, &err), VGG_ERANGE, "negative column");
	const vgg_layer_info *c11 = vgg_layout_find(lay, "conv1_1");
	vgg_rf_unit_box(c11, 223, 223, &box, &err);
	clip = vgg_rf_clip(box, 224, 224);
	CHECK(box.y0 == 222 && box.y1 == 224 && clip.y1 == 223, "last conv1_1 unit: 222..224");
	vgg_layout_free(lay);
}

static void test_equiv(void)
{
	int n = 0;
	vgg_error err;
	CHECK(vgg_rf_equiv_3x3(7, &n, &err) == VGG_OK && n == 3, "7x7 = three 3x3");
	CHECK(vgg_rf_equiv_3x3(5, &n, &err) == VGG_OK && n == 2, "5x5 = two 3x3");
	CHECK(vgg_rf_equiv_3x3(3, &n, &err) == VGG_OK && n == 1, "3x3 = one 3x3");
	CHECK_EQ_INT(vgg_rf_equiv_3x3(4, &n, &err), VGG_ERANGE, "4 is not reachable");
	CHECK_EQ_INT(vgg_rf_equiv_3x3(1, &n, &err), VGG_ERANGE, "1 is not reachable");
	/* Checked against a real stack: three 3x3 convs reach 7. */
	vgg_layout *lay = lay_out("conv3-1 conv3-1 conv3-1", 0, 0, 0);
	CHECK(lay && vgg_layout_layer(lay, 2)->rf[0] == 7, "a stack of three has rf 7");
	vgg_layout_free(lay);
}

/* The GAP head: 14,714,688 conv parameters and 513,000 for FC-1000 in vgg16_gap. */
static void test_gap(void)
{
	vgg_layout *lay = lay_out("vgg16_gap", 0, 0, 0);
	uint64_t conv = 0, fc = 0;
	for (size_t i = 0; lay && i < vgg_layout_count(lay); i++) {
		const vgg_layer_info *l = vgg_layout_layer(lay, i);
		conv += l->kind == VGG_LAYER_CONV ? l->params : 0;
		fc += l->kind == VGG_LAYER_FC ? l->params : 0;
	}
	CHECK(lay && conv == 14714688 && fc == 513000 &&
	      vgg_layout_total_params(lay) == 15227688, "vgg16_gap: 14,714,688 + 513,000 parameters");
	CHECK_EQ_INT(lay ? vgg_layout_total_macs(lay) : 0, 15470264320ULL - 123633664 + 512000,
	             "vgg16_gap: vgg16's multiply-adds less the three FC layers', plus 512,000");
	const vgg_layer_info *avg = lay ? vgg_layout_find(lay, "avgpool") : NULL;
	CHECK(avg && avg->kind == VGG_LAYER_AVGPOOL && avg->out_c == 512 && avg->out_h == 1 &&
	      avg->out_w == 1 && avg->kernel[0] == 7 && avg->params == 0 && avg->rf[0] == 404 &&
	      avg->jump[0] == 32 && avg->memory == 2048 && !avg->relu,
	      "avgpool: 512x1x1 from pool5's 7x7, rf 212 + 6*32, no parameters, no ReLU");
	const vgg_layer_info *fc6 = lay ? vgg_layout_find(lay, "fc6") : NULL;
	CHECK(fc6 && fc6->kernel[0] == 1 && fc6->in_c == 512 && fc6->out_c == 1000 && !fc6->relu,
	      "fc6 is the classes over avgpool's 512 values, without a ReLU");
	vgg_layout_free(lay);
	lay = lay_out("vgg16_bn_gap", 0, 0, 0);
	CHECK_EQ_INT(lay ? vgg_layout_total_params(lay) : 0, 15227688 + 2 * 4224,
	             "vgg16_bn_gap adds a scale and a shift per conv channel");
	vgg_layout_free(lay);
	/* Dense evaluation: the pool takes the whole map, so the classes stay 1x1. */
	lay = lay_out("vgg16_gap", 1, 384, 320);
	avg = lay ? vgg_layout_find(lay, "avgpool") : NULL;
	fc6 = lay ? vgg_layout_find(lay, "fc6") : NULL;
	CHECK(avg && avg->kernel[0] == 12 && avg->kernel[1] == 10 && fc6 && fc6->out_h == 1 &&
	      fc6->out_w == 1 && fc6->kernel[0] == 1 && fc6->params == 513000,
	      "dense vgg16_gap at 384x320: avgpool over 12x10, fc6 1x1");
	vgg_layout_free(lay);
	lay = lay_out("input 32x32 conv3-4 maxpool avgpool FC-3", 1, 33, 65);
	avg = lay ? vgg_layout_find(lay, "avgpool") : NULL;
	CHECK(avg && avg->kernel[0] == 16 && avg->kernel[1] == 32 && avg->out_h == 1,
	      "an odd dense size: the pool takes what pool1 leaves, 16x32");
	vgg_layout_free(lay);
}

int main(void)
{
	test_reference_counts();
	test_vgg16_receptive_fields();
	test_shapes();
	test_hand_checked();
	test_dense();
	test_gap();
	test_overflow();
	test_units();
	test_equiv();
	return tap_done();
}
