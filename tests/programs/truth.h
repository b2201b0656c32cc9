/* truth.h - ground truth for the test programs.
 *
 * A test program states what it leaks on purpose, by the name of the
 * function that calls malloc; the Python test compares the report with it.
 * The statement goes to the file named by $LP_TRUTH (JSON), written with
 * stdio before exit, so the report at exit sees these bytes freed. */
#pragma once

#include <stdio.h>
#include <stdlib.h>

struct truth_entry {
	const char *function;
	unsigned long blocks, bytes;
};

static struct truth_entry truth_entries[64];
static int truth_count;

static void
truth_leak(const char *function, unsigned long blocks, unsigned long bytes)
{
	for (int i = 0; i < truth_count; i++) {
		if (truth_entries[i].function == function) {
			truth_entries[i].blocks += blocks;
			truth_entries[i].bytes += bytes;
			return;
		}
	}
	truth_entries[truth_count++] = (struct truth_entry){ function, blocks, bytes };
}

static void
truth_write(void)
{
	const char *path = getenv("LP_TRUTH");
	if (!path)
		return;
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "{\"leaks\": [");
	for (int i = 0; i < truth_count; i++)
		fprintf(f, "%s{\"function\": \"%s\", \"blocks\": %lu, \"bytes\": %lu}",
			i ? ", " : "", truth_entries[i].function,
			truth_entries[i].blocks, truth_entries[i].bytes);
	fprintf(f, "]}\n");
	fclose(f);
}
