/* error.c: status codes and the messages that travel with them. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

const char *vgg_strerror(int code)
{
	switch (code) {
	case VGG_OK: return "success";
	case VGG_ENOMEM: return "out of memory";
	case VGG_EIO: return "input/output error";
	case VGG_EPARSE: return "malformed notation";
	case VGG_ESHAPE: return "network does not fit the input size";
	case VGG_ERANGE: return "value out of range";
	case VGG_ENOTFOUND: return "not found";
	}
	return "unknown error";
}

int vgg__fail(vgg_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

int vgg__fail_file(vgg_error *err, int code, const char *file, const char *context,
                   const char *fmt, ...)
{
	if (err) {
		int n = snprintf(err->msg, sizeof err->msg, "'%s': %s", file, context);
		if (n >= 0 && (size_t)n < sizeof err->msg) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
			va_end(ap);
		}
		err->code = code;
	}
	return code;
}
