/* unwind_shapes.c - allocations from stacks an unwinder can get wrong:
 *   leak_in_handler   1 x 72 bytes, in a SIGUSR2 handler run by raise()
 *                     (a signal frame between it and main)
 *   leak_in_callback  1 x 88 bytes, from a qsort comparator (libc frames,
 *                     built without frame pointers, between it and main)
 *   leak_deep_chain   1 x 56 bytes, 40 frames down a recursion
 *   leak_in_atexit    1 x 24 bytes, from an atexit handler (live at the
 *                     exit report, which runs after it)
 * The test compares the stacks with LEAKPROBE_UNWIND=0 (cached CFI) and
 * LEAKPROBE_UNWIND=1 (libunwind), and checks that each reaches main. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "truth.h"

static void *volatile sink;

__attribute__((noinline)) static void
leak_in_handler(int sig)
{
	(void)sig;
	sink = malloc(72); /* not async-signal-safe in general; raise() runs it synchronously */
}

__attribute__((noinline)) static void
leak_in_callback_alloc(void)
{
	sink = malloc(88);
}

static int called;

static int
leak_in_callback(const void *a, const void *b)
{
	if (!called++)
		leak_in_callback_alloc();
	return *(const int *)a - *(const int *)b;
}

__attribute__((noinline)) static void
leak_deep_chain(int depth)
{
	if (depth > 0) {
		leak_deep_chain(depth - 1);
		return;
	}
	sink = malloc(56);
}

__attribute__((noinline)) static void
leak_in_atexit(void)
{
	sink = malloc(24);
}

int
main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = leak_in_handler;
	sigaction(SIGUSR2, &sa, NULL);
	raise(SIGUSR2);
	truth_leak("leak_in_handler", 1, 72);

	int v[64];
	for (int i = 0; i < 64; i++)
		v[i] = (i * 37) % 64;
	qsort(v, 64, sizeof(int), leak_in_callback);
	truth_leak("leak_in_callback_alloc", 1, 88);

	leak_deep_chain(39);
	truth_leak("leak_deep_chain", 1, 56);

	atexit(leak_in_atexit);
	truth_leak("leak_in_atexit", 1, 24);
	truth_write();
	return 0;
}
