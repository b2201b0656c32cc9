/* early_ctor.c - a library whose constructor allocates before the shim's
 * does (the program links it: ld.so runs its initialiser before that of a
 * preloaded library, as it does libstdc++'s).  cxx_early states the leaks.
 *
 * In the constructor:
 *   early_keep      5 x malloc(1000), kept
 *   early_temp      10 x malloc(333), freed there
 *   early_grow      malloc(100) then realloc to 5000, kept (the site is
 *                   the realloc's caller)
 *   early_zeroed    calloc(7, 100), kept
 *   early_aligned   posix_memalign(64, 4096) and aligned_alloc(256, 512),
 *                   kept
 *   early_handed    4 x malloc(2000), freed by the program's main
 *   early_many      $EARLY_MANY x malloc(16), kept (to fill the table)
 * Plain C, no stdio: nothing else allocates here. */
#include <stdlib.h>

void *early_handed_blocks[4];
unsigned long early_many_blocks;
static void *volatile sink;

__attribute__((noinline)) static void
early_keep(void)
{
	for (int i = 0; i < 5; i++)
		sink = malloc(1000);
}

__attribute__((noinline)) static void
early_temp(void)
{
	void *p[10];
	for (int i = 0; i < 10; i++)
		p[i] = malloc(333);
	for (int i = 0; i < 10; i++)
		free(p[i]);
}

__attribute__((noinline)) static void
early_grow(void)
{
	void *p = malloc(100);
	sink = realloc(p, 5000);
}

__attribute__((noinline)) static void
early_zeroed(void)
{
	sink = calloc(7, 100);
}

__attribute__((noinline)) static void
early_aligned(void)
{
	void *p;
	if (posix_memalign(&p, 64, 4096) == 0)
		sink = p;
	sink = aligned_alloc(256, 512);
}

__attribute__((noinline)) static void
early_handed(void)
{
	for (int i = 0; i < 4; i++)
		early_handed_blocks[i] = malloc(2000);
}

__attribute__((noinline)) static void
early_many(void)
{
	const char *v = getenv("EARLY_MANY");
	unsigned long n = v ? strtoul(v, NULL, 10) : 0;
	for (unsigned long i = 0; i < n; i++)
		sink = malloc(16);
	early_many_blocks = n;
}

__attribute__((constructor)) static void
early_ctor(void)
{
	early_keep();
	early_temp();
	early_grow();
	early_zeroed();
	early_aligned();
	early_handed();
	early_many();
}
