/* builtin.c: the built-in configs and label lists, embedded from share/vgg/ at build time. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *vgg__builtin_text(const char *file_name)
{
	for (const struct vgg__builtin *b = vgg__builtins; b->name; b++)
		if (strcmp(b->name, file_name) == 0)
			return b->text;
	return NULL;
}

const char *vgg_label_list(const char *name)
{
	char file[80];
	if (strchr(name, '/') || strlen(name) > 60)
		return NULL;
	snprintf(file, sizeof file, "labels/%s", name);
	return vgg__builtin_text(file);
}
