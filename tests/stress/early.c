/* early.c - libearly.so, linked by bad_free.c.  Its constructor runs
 * before the shim's (ld.so initialises later-loaded libraries first), so
 * these blocks come from before the shim was ready: it keeps them in its
 * start-up table and tracks them once it starts (src/early.c). */
#include <stdlib.h>

__attribute__((visibility("default"))) void *early_blocks[8];

__attribute__((constructor, noinline)) void
early_init(void)
{
	for (int i = 0; i < 8; i++)
		early_blocks[i] = malloc(40 + (size_t)i);
}
