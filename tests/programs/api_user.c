/* api_user.c - calls leakprobe_report("after warm-up") between two leaks.
 * Built with -DLEAKPROBE_WEAK_API: runs with and without the shim.
 *
 * Leaks (truth.h): leak_warmup 3 x 40 bytes (before the call: checkpoint
 * "api"), leak_later 2 x 80 bytes (after).  Prints whether the API is
 * present and what it returned.  argv[1], if given, replaces the label. */
#include <stdio.h>
#include <stdlib.h>

#include <leakprobe.h>

#include "truth.h"

static void *volatile sink;

__attribute__((noinline)) static void
leak_warmup(void)
{
	for (int i = 0; i < 3; i++)
		sink = malloc(40);
	truth_leak("leak_warmup", 3, 120);
}

__attribute__((noinline)) static void
leak_later(void)
{
	for (int i = 0; i < 2; i++)
		sink = malloc(80);
	truth_leak("leak_later", 2, 160);
}

int
main(int argc, char **argv)
{
	const char *label = argc > 1 ? argv[1] : "after warm-up";
	leak_warmup();
	truth_checkpoint("api");
	if (leakprobe_report) {
		int rc = leakprobe_report(label);
		printf("api present, rc %d\n", rc);
	} else {
		printf("api absent\n");
	}
	fflush(stdout);
	leak_later();
	truth_write();
	return 0;
}
