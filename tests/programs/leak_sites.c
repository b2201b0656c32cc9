/* leak_sites.c - leaks at three known sites, frees everything else.
 * Ground truth: truth.h.  Also the valgrind cross-check program. */
#include <stdlib.h>
#include <string.h>

#include "truth.h"

static void *volatile sink;

__attribute__((noinline)) static void
leak_small(int n)
{
	int at = 0;
	for (int i = 0; i < n; i++) {
		sink = malloc(24); at = __LINE__;
	}
	truth_leak_at("leak_small", n, 24ul * n, at);
}

__attribute__((noinline)) static void
leak_calloc(int n)
{
	int at = 0;
	for (int i = 0; i < n; i++) {
		sink = calloc(10, 33); at = __LINE__;
	}
	truth_leak_at("leak_calloc", n, 330ul * n, at);
}

__attribute__((noinline)) static void
leak_realloc(void)
{
	char *p = malloc(10);
	p = realloc(p, 5000); /* the live block is the realloc's */
	int at = __LINE__ - 1;
	memset(p, 1, 5000);
	sink = p;
	truth_leak_at("leak_realloc", 1, 5000, at);
}

__attribute__((noinline)) static void
churn(void)
{
	for (int i = 0; i < 1000; i++) {
		void *p = malloc((size_t)i + 1);
		free(p);
	}
}

int
main(void)
{
	leak_small(7);
	leak_calloc(5);
	leak_realloc();
	churn();
	truth_write();
	return 0;
}
