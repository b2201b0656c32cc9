/* leaky.c - the demo: a small program with two kinds of problem.
 * make_records() leaks 3 records of 100 bytes; load_cache() keeps a 2 MiB
 * buffer alive until exit (a lingering large allocation). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *cache;

__attribute__((noinline)) static void
make_records(void)
{
	for (int i = 0; i < 3; i++) {
		char *r = malloc(100);
		snprintf(r, 100, "record %d", i);
		if (i == 99)
			free(r); /* never: the records leak */
	}
}

__attribute__((noinline)) static void
load_cache(void)
{
	cache = malloc(2 << 20);
	memset(cache, 'x', 2 << 20);
}

int
main(void)
{
	make_records();
	load_cache();
	char *tmp = strdup("freed properly");
	free(tmp);
	return 0;
}
