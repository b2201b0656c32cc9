/* inline_leak.c - leaks from functions that the compiler inlines, at every
 * -O level (always_inline), two deep, and from one it does not.  Built by
 * tests/integration/test_symbolizer_oracle.py itself with gcc and clang,
 * -O0 -g and -O2 -g; the frames of each report are compared with
 * addr2line -i -f -C and valgrind.
 *
 * Leaks (truth.h): fill_cache 3 x 100 bytes (inlined into load_cache,
 * inlined into warm_up), plain_leak 1 x 48 bytes (not inlined). */
#include <stdlib.h>

#include "truth.h"

void *volatile sink[16];
static volatile int slot;

static inline __attribute__((always_inline)) void
fill_cache(size_t size)
{
	sink[slot++] = malloc(size);
}

static inline __attribute__((always_inline)) void
load_cache(int k)
{
	for (int i = 0; i < k; i++)
		fill_cache(100);
}

__attribute__((noinline)) void
warm_up(int k)
{
	load_cache(k);
}

__attribute__((noinline)) static void
plain_leak(void)
{
	sink[slot++] = malloc(48);
}

int
main(void)
{
	warm_up(3);
	plain_leak();
	truth_leak("fill_cache", 3, 300);
	truth_leak("plain_leak", 1, 48);
	truth_write();
	return 0;
}
