/* SPDX-License-Identifier: MIT */
/*
 * live.c - a heap of N live blocks for bench/run rows 3 and 4.
 *
 * usage: live [N blocks] [size] [sites] [exit|wait]
 *   Allocates N blocks of `size` bytes (default 1000000 x 32) from `sites`
 *   allocation sites (default 4, each its own call chain of 8..11 frames)
 *   and keeps every one of them live.
 *   exit: exits at once (a report at exit sees N live blocks).
 *   wait: prints "ready <pid>" on stdout, then blocks reading stdin until
 *         EOF, so the runner can read its RSS and send it signals; then exits.
 *   tick: as wait, and a second thread mallocs and frees 64 bytes in a loop,
 *         noting the longest gap between two of its turns: the pause a
 *         report imposes on a thread of the program.  At EOF it is written
 *         ("max_gap_us N turns T") to the file $LIVE_GAP_FILE.
 * Prints the allocation loop's own ns/alloc on stderr.
 * The array holding the pointers is mmap()ed, not malloc()ed, so the heap
 * holds the N blocks and little else.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static NOINLINE void *
alloc_at(int depth, size_t size)
{
	if (depth > 0) {
		void *p = alloc_at(depth - 1, size);
		__asm__ volatile("" ::: "memory"); /* no tail call */
		return p;
	}
	return malloc(size);
}

static NOINLINE void *
site(int which, size_t size)
{
	/* Distinct chain lengths give distinct stacks. */
	return alloc_at(6 + which, size);
}

static volatile int ticking = 1;
static double max_gap_us;
static long turns;

static double
now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void *
ticker(void *arg)
{
	(void)arg;
	double last = now_us();
	while (ticking) {
		void *p = malloc(64);
		__asm__ volatile("" : : "r"(p) : "memory");
		free(p);
		double t = now_us();
		if (t - last > max_gap_us)
			max_gap_us = t - last;
		last = t;
		turns++;
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	size_t size = argc > 2 ? (size_t)atol(argv[2]) : 32;
	int sites = argc > 3 ? atoi(argv[3]) : 4;
	const char *mode = argc > 4 ? argv[4] : "exit";

	if (n < 0 || sites < 1) {
		fprintf(stderr, "usage: live [N] [size] [sites] [exit|wait]\n");
		return 2;
	}
	size_t bytes = ((size_t)n * sizeof(void *) + 4095) & ~(size_t)4095;
	void **keep = mmap(NULL, bytes ? bytes : 4096, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (keep == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		keep[i] = site((int)(i % sites), size);
		if (!keep[i]) {
			perror("malloc");
			return 1;
		}
		memset(keep[i], (int)i, size < 8 ? size : 8);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double el = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	fprintf(stderr, "blocks=%ld size=%zu sites=%d elapsed=%.3fs ns/alloc=%.1f\n",
		n, size, sites, el, n ? el * 1e9 / (double)n : 0.0);
	pthread_t t;
	bool tick = strcmp(mode, "tick") == 0;
	if (tick)
		pthread_create(&t, NULL, ticker, NULL);
	if (tick || strcmp(mode, "wait") == 0) {
		char buf[64];
		printf("ready %ld\n", (long)getpid());
		fflush(stdout);
		while (read(0, buf, sizeof buf) > 0)
			;
	}
	if (tick) {
		ticking = 0;
		pthread_join(t, NULL);
		const char *path = getenv("LIVE_GAP_FILE");
		FILE *f = path ? fopen(path, "w") : NULL;
		if (f) {
			fprintf(f, "max_gap_us %.0f turns %ld\n", max_gap_us, turns);
			fclose(f);
		}
	}
	return 0;
}
