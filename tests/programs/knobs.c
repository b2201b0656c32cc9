/* knobs.c - a program for option and output tests: deterministic stdout,
 * exit code 7, and leaks that make every option visible.
 *
 * Leaks (truth.h):
 *   leak_deep     25 blocks of 40 bytes, each from its own stack: block d
 *                 is allocated d+1 frames deep in recursion (25 sites, so
 *                 LEAKPROBE_TOP=20 cuts the text report); fact deep_sites
 *   leak_big      1 block of 1 MiB (exactly the default LEAKPROBE_LARGE)
 *   leak_almost   1 block of 1 MiB - 1 (just under it)
 * Facts: pid, preload_has_shim (1 when LD_PRELOAD still names
 * libleakprobe after start-up).
 *
 * argv[1] == "wait": print "ready" and wait for a line on stdin before
 * exiting (a handshake for tests that act while it runs). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "truth.h"

#define DEEP 25

static void *volatile sink;

__attribute__((noinline)) static void
leak_deep(int depth)
{
	if (depth > 0) {
		leak_deep(depth - 1);
		return;
	}
	sink = malloc(40);
}

__attribute__((noinline)) static void
leak_big(void)
{
	sink = malloc(1u << 20);
	truth_leak("leak_big", 1, 1u << 20);
}

__attribute__((noinline)) static void
leak_almost(void)
{
	sink = malloc((1u << 20) - 1);
	truth_leak("leak_almost", 1, (1u << 20) - 1);
}

static void
say(const char *s)
{
	(void)!write(1, s, strlen(s));
}

int
main(int argc, char **argv)
{
	say("knobs: start\n");
	for (int d = 0; d < DEEP; d++)
		leak_deep(d);
	truth_leak("leak_deep", DEEP, 40 * DEEP);
	truth_fact("deep_sites", DEEP);
	leak_big();
	leak_almost();
	const char *pre = getenv("LD_PRELOAD");
	truth_fact("preload_has_shim", pre && strstr(pre, "libleakprobe") != NULL);
	truth_fact("pid", getpid());
	if (argc > 1 && strcmp(argv[1], "wait") == 0) {
		char c = 0;
		say("ready\n");
		while (c != '\n')
			if (read(0, &c, 1) <= 0)
				break;
	}
	say("knobs: done\n");
	truth_write();
	return 7;
}
