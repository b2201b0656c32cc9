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

/* Mallocs a block of n bytes and leaves its address only inside the
 * memory at where (words 1 and 40: a pymalloc block of 480 bytes that the
 * caller frees next), then drops it. */
__attribute__((noinline)) void
leak_into(void *where, size_t n)
{
	char *volatile p = malloc(n);
	if (p)
		memset(p, 0x5a, n);
	((char *volatile *)where)[1] = p;
	((char *volatile *)where)[40] = p;
	p = NULL;
}
