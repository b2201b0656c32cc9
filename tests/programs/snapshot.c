/* snapshot.c - leaks in two steps with a handshake between them, for the
 * report signal.  Deterministic stdout; exit code 3.
 *
 *   prints "step 1", leaks leak_step1 (4 x 64 bytes), checkpoint "signal",
 *   prints "ready", waits for a line on stdin (the test sends the report
 *   signal meanwhile), leaks leak_step2 (3 x 128 bytes), prints "step 2",
 *   exits.
 * stdin/stdout handshake with read(2)/write(2): no stdio buffers. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "truth.h"

static void *volatile sink;

static void
say(const char *s)
{
	(void)!write(1, s, strlen(s));
}

static int
wait_line(void)
{
	char c;
	for (;;) {
		ssize_t n = read(0, &c, 1);
		if (n <= 0)
			return -1;
		if (c == '\n')
			return 0;
	}
}

__attribute__((noinline)) static void
leak_step1(void)
{
	for (int i = 0; i < 4; i++)
		sink = malloc(64);
	truth_leak("leak_step1", 4, 256);
}

__attribute__((noinline)) static void
leak_step2(void)
{
	for (int i = 0; i < 3; i++)
		sink = malloc(128);
	truth_leak("leak_step2", 3, 384);
}

int
main(void)
{
	say("step 1\n");
	leak_step1();
	truth_checkpoint("signal");
	say("ready\n");
	if (wait_line() != 0)
		return 9;
	leak_step2();
	say("step 2\n");
	truth_write();
	return 3;
}
