/*
 * output.c: files written whole or not at all.  Output goes to a temporary file beside the
 * target, which is renamed over it only once every byte is on disk; a failure or a kill
 * before then leaves whatever was at the target untouched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

struct vgg_output {
	FILE *f;
	char *path, *tmp;
};

int vgg_output_open(const char *path, vgg_output **out, FILE **f, vgg_error *err)
{
	*out = NULL;
	vgg_output *o = calloc(1, sizeof *o);
	size_t len = strlen(path);
	if (!o || !(o->path = strdup(path)) || !(o->tmp = malloc(len + 16))) {
		vgg_output_abort(o);
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	}
	memcpy(o->tmp, path, len);
	memcpy(o->tmp + len, ".tmp.XXXXXX", 12);
	int fd = mkstemp(o->tmp);
	if (fd < 0) {
		int e = errno;
		free(o->tmp);
		o->tmp = NULL;
		vgg_output_abort(o);
		return vgg__fail(err, VGG_EIO, "cannot write '%s': %s", path, strerror(e));
	}
	/* mkstemp makes the file 0600; a finished output gets the usual 0666 less the umask. */
	mode_t mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0 || !(o->f = fdopen(fd, "wb"))) {
		int e = errno;
		close(fd);
		vgg_output_abort(o);
		return vgg__fail(err, VGG_EIO, "cannot write '%s': %s", path, strerror(e));
	}
	*out = o;
	*f = o->f;
	return VGG_OK;
}

int vgg_output_commit(vgg_output *o, vgg_error *err)
{
	/* A write that failed earlier (a full disk) left a gap that a later flush can hide:
	 * the stream's error flag still tells. */
	int ok = fflush(o->f) == 0 && !ferror(o->f) && fsync(fileno(o->f)) == 0;
	int e = errno;
	ok = fclose(o->f) == 0 && ok;
	o->f = NULL;
	if (ok && rename(o->tmp, o->path) != 0) {
		ok = 0;
		e = errno;
	}
	if (!ok) {
		char path[256];
		snprintf(path, sizeof path, "%s", o->path);
		vgg_output_abort(o);
		return vgg__fail(err, VGG_EIO, "cannot write '%s': %s", path, strerror(e ? e : EIO));
	}
	free(o->tmp);
	free(o->path);
	free(o);
	return VGG_OK;
}

void vgg_output_abort(vgg_output *o)
{
	if (!o)
		return;
	if (o->f)
		fclose(o->f);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	free(o);
}
