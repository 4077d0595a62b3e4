/*
 * draw.h: an RGB canvas for the pictures the library makes (plot.c's charts, erf.c's heat
 * maps), with lines, rectangles, circles and text in a built-in 5x7 bitmap font.  Every
 * primitive clips to the canvas, so callers may draw partly outside it.
 */
#ifndef VGG_DRAW_H
#define VGG_DRAW_H

#include "internal.h"

struct vgg__colour {
	unsigned char r, g, b;
};

struct vgg__canvas {
	int width, height;
	unsigned char *rgb; /* height rows of width R G B triples, malloc'd */
};

/* The font's cell: glyphs are 5 pixels wide, capitals 7 high; lines of text are spaced
 * VGG__TEXT_LINE and characters VGG__TEXT_ADVANCE apart (times the scale). */
#define VGG__TEXT_ADVANCE 6
#define VGG__TEXT_CAP 7
#define VGG__TEXT_LINE 11

/* A width x height canvas filled with `bg`; VGG_ENOMEM, naming `what`, when it cannot be. */
int vgg__canvas_new(struct vgg__canvas *c, int width, int height, struct vgg__colour bg,
                    const char *what, vgg_error *err);
void vgg__canvas_free(struct vgg__canvas *c);

void vgg__canvas_pixel(struct vgg__canvas *c, int x, int y, struct vgg__colour col);
/* The rectangle from (x0, y0) to (x1, y1), both corners included, filled. */
void vgg__canvas_fill(struct vgg__canvas *c, int x0, int y0, int x1, int y1,
                      struct vgg__colour col);
/* Its outline, `thickness` pixels wide, drawn inwards. */
void vgg__canvas_frame(struct vgg__canvas *c, int x0, int y0, int x1, int y1, int thickness,
                       struct vgg__colour col);

/*
 * A line `thickness` pixels wide.  With dash > 0 it is drawn dash pixels on, dash off;
 * *phase (when not NULL) carries the pattern from one segment of a polyline to the next.
 */
void vgg__canvas_line(struct vgg__canvas *c, double x0, double y0, double x1, double y1,
                      int thickness, struct vgg__colour col, int dash, int *phase);
/* A circle's outline, dashed as for lines. */
void vgg__canvas_circle(struct vgg__canvas *c, double cx, double cy, double r, int thickness,
                        struct vgg__colour col, int dash);

/* Text with its top left corner at (x, y), each font pixel a scale x scale square.  Bytes
 * outside printable ASCII show as '?', one per UTF-8 character. */
void vgg__canvas_text(struct vgg__canvas *c, int x, int y, const char *text, int scale,
                      struct vgg__colour col);
/* The width in pixels that text takes. */
int vgg__text_width(const char *text, int scale);

#endif
