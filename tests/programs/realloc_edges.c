/* realloc_edges.c - realloc and friends at their edges.  Prints what it
 * sees (pointers as NULL/non-NULL, errno values): the same lines must come
 * out with and without the shim.
 *
 * Leaks (truth.h):
 *   realloc_null       realloc(NULL, 50): 1 x 50 bytes (it is a malloc)
 *   keep_old_alloc     malloc(77) whose realloc to a huge size fails: the
 *                      block stays live, with its size and this stack
 *   realloc_shrink     malloc(1000) shrunk by realloc to 10: 1 x 10 bytes
 *   reallocarray_ok    reallocarray(NULL, 10, 20): 1 x 200 bytes
 *   realloc_crossing   malloc(100) grown past LEAKPROBE_LARGE (2 MiB: the
 *                      block leaves its header for the side table) and
 *                      shrunk back to 50 (a header again): 1 x 50 bytes,
 *                      its bytes kept all the way
 * Not leaks: usable_size (writes a block up to malloc_usable_size, then
 * frees it; a block freed through cfree, glibc's old name for free), realloc_zero (realloc(p, 0) frees p), failing_realloc (the
 * failed realloc allocates nothing), everything that failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "truth.h"

/* The edge cases are deliberate. */
#pragma GCC diagnostic ignored "-Walloc-size-larger-than="
#pragma GCC diagnostic ignored "-Wuse-after-free"

static void *volatile sink;

__attribute__((noinline)) static void
errno_preserved(void)
{
	errno = 4242;
	void *p = malloc(10);
	printf("malloc ok: errno %d\n", errno);
	errno = 4343;
	free(p);
	printf("free: errno %d\n", errno);
	errno = 4444;
	free(NULL);
	printf("free(NULL): errno %d\n", errno);
	errno = 4545;
	p = calloc(3, 7);
	printf("calloc ok: errno %d\n", errno);
	errno = 4646;
	p = realloc(p, 5000);
	printf("realloc grow ok: errno %d\n", errno);
	errno = 4747;
	free(p);
	printf("free after realloc: errno %d\n", errno);
	errno = 0;
	p = malloc(SIZE_MAX);
	printf("malloc(SIZE_MAX): %s errno %d\n", p ? "non-NULL" : "NULL", errno);
	errno = 0;
	p = calloc(SIZE_MAX / 2, 4);
	printf("calloc overflow: %s errno %d\n", p ? "non-NULL" : "NULL", errno);
}

__attribute__((noinline)) static void
realloc_null(void)
{
	sink = realloc(NULL, 50);
	int at = __LINE__ - 1;
	printf("realloc(NULL, 50): %s\n", sink ? "non-NULL" : "NULL");
	truth_leak_at("realloc_null", 1, 50, at);
}

__attribute__((noinline)) static void
realloc_zero(void)
{
	void *p = malloc(30);
	errno = 0;
	void *q = realloc(p, 0); /* glibc: frees p, returns NULL */
	printf("realloc(p, 0): %s\n", q ? "non-NULL" : "NULL");
	free(q);
	truth_leak("realloc_zero", 0, 0);
}

__attribute__((noinline)) static char *
keep_old_alloc(void)
{
	char *p = malloc(77);
	int at = __LINE__ - 1;
	truth_leak_at("keep_old_alloc", 1, 77, at);
	return p;
}

__attribute__((noinline)) static void
failing_realloc(char *p)
{
	memset(p, 'k', 77);
	errno = 0;
	char *q = realloc(p, SIZE_MAX / 2);
	printf("realloc(p, huge): %s errno %d\n", q ? "non-NULL" : "NULL", errno);
	printf("old block intact: %s\n", p[0] == 'k' && p[76] == 'k' ? "yes" : "no");
	sink = p;
	truth_leak("failing_realloc", 0, 0);
}

__attribute__((noinline)) static void
realloc_shrink(void)
{
	char *p = malloc(1000);
	p = realloc(p, 10);
	int at = __LINE__ - 1;
	sink = p;
	printf("usable >= 10: %s\n", malloc_usable_size(p) >= 10 ? "yes" : "no");
	truth_leak_at("realloc_shrink", 1, 10, at);
}

__attribute__((noinline)) static void
reallocarray_cases(void)
{
	errno = 0;
	void *p = reallocarray(NULL, SIZE_MAX / 2, 4);
	printf("reallocarray overflow: %s errno %d%s\n", p ? "non-NULL" : "NULL", errno,
	       errno == ENOMEM ? " (ENOMEM)" : "");
	char *q = malloc(16);
	errno = 0;
	p = reallocarray(q, SIZE_MAX / 4, 8);
	printf("reallocarray overflow keeps the block: %s errno %d\n", p ? "non-NULL" : "NULL", errno);
	free(q);
}

__attribute__((noinline)) static void
reallocarray_ok(void)
{
	sink = reallocarray(NULL, 10, 20);
	int at = __LINE__ - 1;
	printf("reallocarray(NULL, 10, 20): %s\n", sink ? "non-NULL" : "NULL");
	truth_leak_at("reallocarray_ok", 1, 200, at);
}

/* cfree@GLIBC_2.2.5: only a compat symbol now, so bound by version. */
void cfree_compat(void *p);
__asm__(".symver cfree_compat, cfree@GLIBC_2.2.5");

static bool
holds(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

__attribute__((noinline)) static void
realloc_crossing(void)
{
	unsigned char *p = malloc(100);
	memset(p, 0x5a, 100);
	p = realloc(p, 2u << 20);
	bool big = p && holds(p, 100, 0x5a);
	if (p)
		memset(p, 0x3c, 2u << 20);
	p = realloc(p, 50);
	int at = __LINE__ - 1;
	printf("realloc to 2 MiB kept the bytes: %s; back to 50: %s\n", big ? "yes" : "no",
	       p && holds(p, 50, 0x3c) ? "yes" : "no");
	sink = p;
	truth_leak_at("realloc_crossing", 1, 50, at);
}

__attribute__((noinline)) static void
usable_size(void)
{
	unsigned char *p = malloc(100);
	size_t n = malloc_usable_size(p);
	memset(p, 0xa5, n); /* all of it is the program's */
	unsigned char *q = realloc(p, 5000);
	printf("usable >= 100: %s; realloc kept them: %s\n", n >= 100 ? "yes" : "no",
	       q && holds(q, n < 5000 ? n : 5000, 0xa5) ? "yes" : "no");
	free(q);
	/* cfree, glibc's old name for free, as binaries built against old
	 * glibc still call it: the shim's must take the block. */
	cfree_compat(malloc(33));
	truth_leak("usable_size", 0, 0);
}

int
main(void)
{
	errno_preserved();
	realloc_null();
	realloc_zero();
	failing_realloc(keep_old_alloc());
	realloc_shrink();
	reallocarray_cases();
	reallocarray_ok();
	realloc_crossing();
	usable_size();
	fflush(stdout);
	truth_write();
	return 0;
}
