/* out_reports.c - asks for reports while the test races on their path.
 *
 * usage: out_reports N
 *   reads a line from stdin, then writes N reports with leakprobe_report()
 *   (weak: without the shim it does nothing), prints "done N" and reads a
 *   second line from stdin before it exits (the test cleans up meanwhile).
 *
 * Ground truth (truth.h): out_leak() leaks 2 x 96 B before the first
 * report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEAKPROBE_WEAK_API
#include <leakprobe.h>

#include "truth.h"

static void *volatile sink;

__attribute__((noinline)) static void
out_leak(void)
{
	for (int i = 0; i < 2; i++)
		sink = malloc(96);
	truth_leak("out_leak", 2, 192);
}

int
main(int argc, char **argv)
{
	char line[64];
	int n = argc > 1 ? atoi(argv[1]) : 1, written = 0;

	out_leak();
	truth_write();
	if (!fgets(line, sizeof(line), stdin))
		return 3;
	for (int i = 0; i < n; i++) {
		free(malloc(100 + (size_t)i));
		if (leakprobe_report && leakprobe_report("race") == 0)
			written++;
	}
	printf("done %d\n", n);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 3;
	return 0;
}
