/*
 * plot.c: per-epoch series (losses, accuracies) as a line chart in a PNG file.
 *
 * The chart is PLOT_W x PLOT_H pixels: the title, then a legend, then the plot area with
 * epochs along the bottom.  Series on the left axis are drawn solid, those on the right
 * axis dashed, so a line says which scale to read it against without a look at the legend.
 * Each axis runs over round numbers (steps of 1, 2 or 5 times a power of ten) that hold its
 * series' values.  A value that is not a number breaks the line; a point with no neighbour
 * on either side shows as a square, as does every point of a short series.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "draw.h"

#define PLOT_W 800
#define PLOT_H 500
#define MAX_TICKS 24
#define LEGEND_ROWS 6
#define MARK_ALL_UP_TO 40 /* series of this many epochs or fewer get a square at each */

static const struct vgg__colour WHITE = {255, 255, 255}, INK = {40, 40, 40},
                                GRID = {226, 226, 226}, FRAME = {120, 120, 120};
/* Ten colours that stay apart from each other, also for the colour-blind most of them. */
static const struct vgg__colour PALETTE[] = {
	{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189},
	{140, 86, 75}, {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}
};
#define PALETTE_SIZE (sizeof PALETTE / sizeof PALETTE[0])

/* Values beyond this are a diverged run, not something to scale an axis to. */
#define PLOT_MAX 1e100

struct axis {
	double lo, hi, step;
	int ticks;
	double value[MAX_TICKS];
	char label[MAX_TICKS][32];
	int widest;                /* pixels of the widest label */
};

static int plottable(double v)
{
	return isfinite(v) && fabs(v) <= PLOT_MAX;
}

/* A step of 1, 2 or 5 times a power of ten near `raw`. */
static double nice_step(double raw)
{
	double mag = pow(10, floor(log10(raw)));
	double f = raw / mag;
	return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

static void format_tick(double v, double step, char *buf, size_t size)
{
	if (fabs(v) < step * 1e-6)
		v = 0;
	if (fabs(v) >= 1e6 || step < 1e-6) {
		snprintf(buf, size, "%.3g", v);
		return;
	}
	int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
	snprintf(buf, size, "%.*f", decimals, v);
}

/* An axis over [min, max] (min > max: no values) in round steps, about five of them. */
static void value_axis(double min, double max, struct axis *a)
{
	if (min > max) {
		min = 0;
		max = 1;
	} else if (max - min < 1e-12 * fmax(1, fabs(max))) {
		/* A flat line in the middle; round zero, or next to it, a unit either side. */
		double pad = fabs(min) * 0.1;
		if (!(pad >= 1e-100))
			pad = 0.5;
		min -= pad;
		max += pad;
	}
	a->step = nice_step((max - min) / 5);
	a->lo = floor(min / a->step) * a->step;
	a->hi = ceil(max / a->step) * a->step;
	a->ticks = 0;
	a->widest = 0;
	for (int i = 0; i < MAX_TICKS; i++) {
		double v = a->lo + i * a->step;
		if (v > a->hi + a->step * 1e-6)
			break;
		a->value[i] = v;
		format_tick(v, a->step, a->label[i], sizeof a->label[i]);
		int w = vgg__text_width(a->label[i], 1);
		if (w > a->widest)
			a->widest = w;
		a->ticks++;
	}
}

/* Epochs 1..n with half an epoch (or 3%) either side, and ticks at whole multiples. */
static void epoch_axis(int n, struct axis *a)
{
	double pad = fmax(0.5, 0.03 * (n - 1));
	a->lo = 1 - pad;
	a->hi = n + pad;
	a->step = n <= 1 ? 1 : fmax(1, nice_step((n - 1) / 8.0));
	a->ticks = 0;
	double first = a->step > 1 ? a->step : 1;
	for (double v = first; v <= n && a->ticks < MAX_TICKS; v += a->step) {
		a->value[a->ticks] = v;
		snprintf(a->label[a->ticks], sizeof a->label[a->ticks], "%.0f", v);
		a->ticks++;
	}
}

struct frame {
	int x0, y0, x1, y1; /* the plot area, corners included */
	struct axis x, left, right;
	int has_left, has_right;
};

static double px(const struct frame *f, double epoch)
{
	return f->x0 + (epoch - f->x.lo) / (f->x.hi - f->x.lo) * (f->x1 - f->x0);
}

static double py(const struct axis *a, const struct frame *f, double v)
{
	/* A margin of 3% keeps points at the ends of the range off the frame. */
	double margin = 0.03 * (a->hi - a->lo);
	return f->y1 - (v - a->lo + margin) / (a->hi - a->lo + 2 * margin) * (f->y1 - f->y0);
}

/* The left axis is labelled unless only the right one has series (a chart of no series
 * still gets a scale). */
static int left_labelled(const struct frame *f)
{
	return f->has_left || !f->has_right;
}

static void draw_axes(struct vgg__canvas *c, const struct frame *f)
{
	const struct axis *grid = left_labelled(f) ? &f->left : &f->right;
	for (int i = 0; i < grid->ticks; i++) {
		int y = (int)lround(py(grid, f, grid->value[i]));
		vgg__canvas_fill(c, f->x0, y, f->x1, y, GRID);
	}
	for (int i = 0; i < f->x.ticks; i++) {
		int x = (int)lround(px(f, f->x.value[i]));
		vgg__canvas_fill(c, x, f->y0, x, f->y1, GRID);
		vgg__canvas_fill(c, x, f->y1, x, f->y1 + 4, FRAME);
		int w = vgg__text_width(f->x.label[i], 1);
		vgg__canvas_text(c, x - w / 2, f->y1 + 8, f->x.label[i], 1, INK);
	}
	vgg__canvas_frame(c, f->x0, f->y0, f->x1, f->y1, 1, FRAME);
	const struct axis *sides[2] = {&f->left, &f->right};
	const int shown[2] = {left_labelled(f), f->has_right};
	for (int s = 0; s < 2; s++) {
		if (!shown[s])
			continue;
		const struct axis *a = sides[s];
		for (int i = 0; i < a->ticks; i++) {
			int y = (int)lround(py(a, f, a->value[i]));
			int w = vgg__text_width(a->label[i], 1);
			if (s == 0) {
				vgg__canvas_fill(c, f->x0 - 4, y, f->x0, y, FRAME);
				vgg__canvas_text(c, f->x0 - 8 - w, y - 3, a->label[i], 1, INK);
			} else {
				vgg__canvas_fill(c, f->x1, y, f->x1 + 4, y, FRAME);
				vgg__canvas_text(c, f->x1 + 8, y - 3, a->label[i], 1, INK);
			}
		}
	}
	const char *xname = "epoch";
	vgg__canvas_text(c, (f->x0 + f->x1 - vgg__text_width(xname, 1)) / 2, f->y1 + 24, xname, 1,
	                 INK);
}

static void mark(struct vgg__canvas *c, double x, double y, struct vgg__colour col)
{
	int cx = (int)lround(x), cy = (int)lround(y);
	vgg__canvas_fill(c, cx - 2, cy - 2, cx + 2, cy + 2, col);
}

static void draw_series(struct vgg__canvas *c, const struct frame *f, const vgg_plot_series *s,
                        struct vgg__colour col)
{
	const struct axis *a = s->right_axis ? &f->right : &f->left;
	int dash = s->right_axis ? 6 : 0, phase = 0;
	for (int i = 0; i < s->count; i++) {
		double v = s->values[i];
		if (!plottable(v))
			continue;
		double x = px(f, i + 1), y = py(a, f, v);
		int before = i > 0 && plottable(s->values[i - 1]);
		int after = i + 1 < s->count && plottable(s->values[i + 1]);
		if (after)
			vgg__canvas_line(c, x, y, px(f, i + 2), py(a, f, s->values[i + 1]), 2, col, dash,
			                 &phase);
		else
			phase = 0;
		if (s->count <= MARK_ALL_UP_TO || (!before && !after))
			mark(c, x, y, col);
	}
}

/* The legend's entries in rows centred under the title, from y down; returns the y below.
 * Past LEGEND_ROWS rows the rest are counted, not named, so the plot keeps its room. */
static int draw_legend(struct vgg__canvas *c, const vgg_plot_series *s, int n, int y)
{
	const int sample = 28, gap = 20, room = PLOT_W - 40;
	int i = 0;
	for (int row = 0; i < n; row++) {
		if (row == LEGEND_ROWS) {
			char more[48];
			snprintf(more, sizeof more, "and %d more", n - i);
			vgg__canvas_text(c, (PLOT_W - vgg__text_width(more, 1)) / 2, y, more, 1, INK);
			return y + 14;
		}
		int width = 0, end = i;
		while (end < n) {
			int w = sample + 6 + vgg__text_width(s[end].name ? s[end].name : "", 1);
			if (end > i && width + gap + w > room)
				break;
			width += (end > i ? gap : 0) + w;
			end++;
		}
		int x = (PLOT_W - width) / 2;
		for (; i < end; i++) {
			struct vgg__colour col = PALETTE[i % PALETTE_SIZE];
			int phase = 0;
			vgg__canvas_line(c, x, y + 3, x + sample - 1, y + 3, 2, col,
			                 s[i].right_axis ? 6 : 0, &phase);
			x += sample + 6;
			const char *name = s[i].name ? s[i].name : "";
			vgg__canvas_text(c, x, y, name, 1, INK);
			x += vgg__text_width(name, 1) + gap;
		}
		y += 14;
	}
	return y;
}

int vgg_plot_write(const char *path, const char *title, const vgg_plot_series *series, int n,
                   vgg_error *err)
{
	if (n < 0 || (n > 0 && !series))
		return vgg__fail(err, VGG_ERANGE, "cannot plot '%s': %d series", path, n);
	struct frame f = {0};
	double min[2] = {INFINITY, INFINITY}, max[2] = {-INFINITY, -INFINITY};
	int epochs = 1;
	for (int i = 0; i < n; i++) {
		const vgg_plot_series *s = &series[i];
		if (s->count < 0 || (s->count > 0 && !s->values))
			return vgg__fail(err, VGG_ERANGE, "cannot plot '%s': series '%s' has %d values",
			                 path, s->name ? s->name : "", s->count);
		int side = s->right_axis != 0;
		if (side)
			f.has_right = 1;
		else
			f.has_left = 1;
		if (s->count > epochs)
			epochs = s->count;
		for (int j = 0; j < s->count; j++) {
			if (!plottable(s->values[j]))
				continue;
			min[side] = fmin(min[side], s->values[j]);
			max[side] = fmax(max[side], s->values[j]);
		}
	}
	value_axis(min[0], max[0], &f.left);
	value_axis(min[1], max[1], &f.right);
	epoch_axis(epochs, &f.x);

	struct vgg__canvas c;
	int rc = vgg__canvas_new(&c, PLOT_W, PLOT_H, WHITE, "chart", err);
	if (rc)
		return rc;
	int y = 14;
	if (title && *title) {
		vgg__canvas_text(&c, (PLOT_W - vgg__text_width(title, 2)) / 2, y, title, 2, INK);
		y += 2 * VGG__TEXT_LINE + 8;
	}
	y = draw_legend(&c, series, n, y);
	f.x0 = 20 + (left_labelled(&f) ? f.left.widest + 8 : 0);
	f.x1 = PLOT_W - 1 - 20 - (f.has_right ? f.right.widest + 8 : 0);
	f.y0 = y + 8;
	f.y1 = PLOT_H - 1 - 40;
	draw_axes(&c, &f);
	for (int i = 0; i < n; i++)
		draw_series(&c, &f, &series[i], PALETTE[i % PALETTE_SIZE]);
	rc = vgg_png_write(path, c.width, c.height, 3, c.rgb, err);
	vgg__canvas_free(&c);
	return rc;
}
