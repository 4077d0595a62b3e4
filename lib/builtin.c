/* builtin.c: the built-in configs and label lists, embedded from share/vgg/ at build time. */
#include <string.h>

#include "internal.h"

const char *vgg__builtin_text(const char *file_name)
{
	for (const struct vgg__builtin *b = vgg__builtins; b->name; b++)
		if (strcmp(b->name, file_name) == 0)
			return b->text;
	return NULL;
}
