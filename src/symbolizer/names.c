/* SPDX-License-Identifier: MIT */
/*
 * names.c - the names people know.  The demangler is libstdc++'s, linked
 * into this program (statically where the archive exists), so a C program
 * under the shim never loads libstdc++ for it and the shim needs none.
 */
#include <stdlib.h>
#include <string.h>

#include "symbolizer.h"

char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

char *
sym_demangle(const char *name)
{
	if (!name || !name[0])
		return NULL;
	/* "memcpy@@GLIBC_2.14": the version is not part of the name. */
	const char *at = strchr(name, '@');
	char *plain = at ? strndup(name, (size_t)(at - name)) : strdup(name);
	if (!plain || plain[0] != '_' || plain[1] != 'Z')
		return plain;
	int status = -1;
	char *d = __cxa_demangle(plain, NULL, NULL, &status);
	if (status != 0 || !d) {
		free(d);
		return plain;
	}
	free(plain);
	return d;
}
