/* A C extension's bug, called through ctypes by module_use.py: the block
 * is dropped before the function returns. */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void
leak_bytes(size_t n)
{
	char *volatile p = malloc(n);
	if (p)
		memset(p, 0x5a, n);
	p = NULL;
}
