/* memalign.c - the aligned allocators.  Each live block is checked for
 * its alignment by the program; what it prints must be the same with and
 * without the shim.
 *
 * Leaks (truth.h), one block each:
 *   leak_posix_memalign  posix_memalign(&p, 64, 100)    100 bytes
 *   leak_aligned_alloc   aligned_alloc(256, 512)        512 bytes
 *   leak_memalign        memalign(4096, 1000)           1000 bytes
 *   leak_valloc          valloc(3000)                   3000 bytes
 *   leak_pvalloc         pvalloc(5000): pvalloc rounds the size up to a
 *                        multiple of the page size (man pvalloc), so the
 *                        block is 8192 bytes on 4 KiB pages (the program
 *                        computes it from sysconf)
 * Then bad alignments for posix_memalign (EINVAL, *out untouched) and
 * allocations that are freed. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "truth.h"

static void *volatile sink;

static const char *
aligned(void *p, size_t a)
{
	return p && (uintptr_t)p % a == 0 ? "aligned" : "NOT ALIGNED";
}

__attribute__((noinline)) static void
leak_posix_memalign(void)
{
	void *p = NULL;
	int rc = posix_memalign(&p, 64, 100);
	int at = __LINE__ - 1;
	printf("posix_memalign(64, 100): rc %d, %s\n", rc, aligned(p, 64));
	sink = p;
	truth_leak_at("leak_posix_memalign", 1, 100, at);
}

__attribute__((noinline)) static void
leak_aligned_alloc(void)
{
	void *p = aligned_alloc(256, 512);
	int at = __LINE__ - 1;
	printf("aligned_alloc(256, 512): %s\n", aligned(p, 256));
	sink = p;
	truth_leak_at("leak_aligned_alloc", 1, 512, at);
}

__attribute__((noinline)) static void
leak_memalign(void)
{
	void *p = memalign(4096, 1000);
	int at = __LINE__ - 1;
	printf("memalign(4096, 1000): %s\n", aligned(p, 4096));
	sink = p;
	truth_leak_at("leak_memalign", 1, 1000, at);
}

__attribute__((noinline)) static void
leak_valloc(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p = valloc(3000);
	int at = __LINE__ - 1;
	printf("valloc(3000): %s\n", aligned(p, page));
	sink = p;
	truth_leak_at("leak_valloc", 1, 3000, at);
}

__attribute__((noinline)) static void
leak_pvalloc(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p = pvalloc(5000);
	int at = __LINE__ - 1;
	printf("pvalloc(5000): %s, usable >= rounded size: %s\n", aligned(p, page),
	       malloc_usable_size(p) >= (5000 + page - 1) / page * page ? "yes" : "no");
	sink = p;
	truth_leak_at("leak_pvalloc", 1, (5000 + page - 1) / page * page, at);
}

__attribute__((noinline)) static void
bad_alignments(void)
{
	static const size_t bad[] = { 0, 1, 2, 4, 12, 24, 48, 100, 4097 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *sentinel = (void *)0x1234, *p = sentinel;
		errno = 777;
		int rc = posix_memalign(&p, bad[i], 64);
		printf("posix_memalign(%zu, 64): rc %d%s, out %s, errno %d\n", bad[i], rc,
		       rc == EINVAL ? " (EINVAL)" : "", p == sentinel ? "untouched" : "CHANGED", errno);
		if (p != sentinel)
			free(p);
	}
	void *p = (void *)0x1234;
	int rc = posix_memalign(&p, 64, SIZE_MAX - 4096);
	printf("posix_memalign(64, huge): rc %d%s, out %s\n", rc, rc == ENOMEM ? " (ENOMEM)" : "",
	       p == (void *)0x1234 ? "untouched" : "changed");
}

__attribute__((noinline)) static void
freed_ones(void)
{
	for (size_t a = 16; a <= (1u << 20); a <<= 2) {
		void *p = NULL;
		int rc = posix_memalign(&p, a, a / 2 + 1);
		void *q = aligned_alloc(a, a * 2);
		void *r = memalign(a, 3);
		printf("align %zu: %s %s %s\n", a, rc == 0 ? aligned(p, a) : "failed",
		       aligned(q, a), aligned(r, a));
		free(p);
		free(q);
		free(r);
	}
	free(valloc(10));
	free(pvalloc(10));
}

int
main(void)
{
	/* stdout's buffer is allocated here, not under a leak_* function */
	printf("memalign: start\n");
	leak_posix_memalign();
	leak_aligned_alloc();
	leak_memalign();
	leak_valloc();
	leak_pvalloc();
	bad_alignments();
	freed_ones();
	fflush(stdout);
	truth_write();
	return 0;
}
