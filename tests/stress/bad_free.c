/* bad_free.c - frees the shim did not see coming.
 *
 * usage: bad_free MODE
 *   keep          baseline: frees nothing unusual
 *   early         frees 7 blocks allocated before the shim was ready (by
 *                 libearly.so's constructor: the shim keeps them from
 *                 start-up on, so these frees are of tracked blocks),
 *                 reallocs the 8th (the new block is realloc_early()'s)
 *   null          free(NULL) 1000 times
 *   fake          frees a fake chunk in static storage whose header glibc
 *                 2.36 accepts (tcache or fastbin, both checked): glibc
 *                 takes it silently, so must the shim
 *   double        double free of a 200-byte block: glibc aborts
 *                 ("double free detected in tcache 2")
 *   double_big    double free of a 100000-byte heap block: glibc aborts
 *                 ("double free or corruption (!prev)")
 *   invalid       free(p + 16) inside a zeroed block: glibc aborts
 *                 ("free(): invalid size")
 * The abort modes are deterministic in glibc 2.36; the test compares the
 * exit status and glibc's message with and without the shim.
 *
 * Ground truth (truth.h): bad_leak() leaks 2 x 50 B in every mode;
 * realloc_early() 1 x 5000 B in mode early; libearly.so's early_init()
 * 8 blocks of 40..47 B in every other mode, none in mode early.  stdout:
 * "done" when the program survives. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "truth.h"

extern void *early_blocks[8];
static void *volatile sink;

__attribute__((noinline)) static void
bad_leak(void)
{
	for (int i = 0; i < 2; i++)
		sink = malloc(50);
	truth_leak("bad_leak", 2, 100);
}

__attribute__((noinline)) static void
realloc_early(void)
{
	char *p = realloc(early_blocks[7], 5000);
	memset(p + 40, 1, 5000 - 40);
	sink = p;
	truth_leak("realloc_early", 1, 5000);
}

/* A fake chunk: header (prev_size, size=0x50: in use bits clear, main
 * arena), 0x40 bytes of user data, then the next chunk's header with a
 * sane size (glibc's fastbin path checks it). */
static struct {
	size_t prev_size, size;
	char data[0x40];
	size_t next_prev_size, next_size;
	char next_data[0x40];
} fake __attribute__((aligned(16))) = { 0, 0x50, { 0 }, 0, 0x50, { 0 } };

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "keep";
	bad_leak();
	if (strcmp(mode, "early"))
		truth_leak("early_init", 8, 8 * 40 + 28);
	else
		truth_leak("early_init", 0, 0);
	truth_write(); /* before any abort */
	fflush(stdout);

	if (!strcmp(mode, "early")) {
		for (int i = 0; i < 7; i++)
			free(early_blocks[i]);
		realloc_early();
		truth_write();
	} else if (!strcmp(mode, "null")) {
		for (int i = 0; i < 1000; i++)
			free(NULL);
	} else if (!strcmp(mode, "fake")) {
		free(fake.data);
	} else if (!strcmp(mode, "double")) {
		char *p = malloc(200);
		free(p);
		free(p);
	} else if (!strcmp(mode, "double_big")) {
		char *keep = malloc(100000);
		char *p = malloc(100000);
		char *guard = malloc(100);
		free(p);
		free(p);
		sink = keep;
		sink = guard;
	} else if (!strcmp(mode, "invalid")) {
		char *p = calloc(1, 64);
		free(p + 16);
	} else if (strcmp(mode, "keep") != 0) {
		return 2;
	}
	printf("done\n");
	return 0;
}
