/* idx.h: what idx.c gives dataset.c: MNIST's IDX files read whole. */
#ifndef VGG_IDX_H
#define VGG_IDX_H

#include "internal.h"

struct vgg__idx {
	size_t count;
	int height, width, channels;  /* channels 1 (gray) or 3 (RGB) */
	unsigned char *pixels;        /* count images of height x width x channels, malloc'd */
	unsigned char *labels;        /* count labels, malloc'd */
};

/* Whether the file (gzip'd or not) starts as IDX files do, with two zero bytes, which no
 * list of paths does. */
int vgg__idx_sniff(const char *path, int *is_idx, vgg_error *err);
/* Whether a file name is that of an IDX images file (holds "images" and "idx3"). */
int vgg__idx_images_name(const char *name);
/* Reads an images file and the labels file beside it; on failure *out holds nothing. */
int vgg__idx_read(const char *images, struct vgg__idx *out, vgg_error *err);
void vgg__idx_free(struct vgg__idx *idx);
/* One IDX file of images (images != 0: 3 or 4 dimensions) or labels (1) from an open
 * descriptor, which it closes: its dims (1 past the file's own) and *data (malloc'd).
 * The fuzzer's way in, as it has bytes and no files. */
int vgg__idx_read_fd(int fd, const char *name, int images, uint32_t dims[4],
                     unsigned char **data, vgg_error *err);

#endif
