/* large_age.c - holds a 3 MiB block for a known time, measured by the
 * program itself.
 *
 * argv[1]: how long to wait, in milliseconds (default 1200).
 * Leaks (truth.h): hold_big, 1 block of 3 MiB (3145728 bytes).
 * Facts: big_size; waited_s = monotonic time from the return of malloc to
 * just before exit (after the truth file is written: the report at exit
 * comes later still, so the block's age there is at least this). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "truth.h"

static void *volatile sink;

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static double
hold_big(void)
{
	sink = malloc(3u << 20);
	double t = now();
	memset(sink, 1, 3u << 20);
	truth_leak("hold_big", 1, 3u << 20);
	return t;
}

int
main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 1200;
	double born = hold_big();
	while (now() - born < (double)ms / 1000) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	truth_fact("big_size", 3u << 20);
	truth_fact("wait_ms", (double)ms);
	/* Written twice: the second time with the age after the first write. */
	truth_fact("waited_s", now() - born);
	truth_write();
	truth_fact("waited_s", now() - born);
	truth_write();
	return 0;
}
