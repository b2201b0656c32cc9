/* truth.h - ground truth for the test programs.
 *
 * A test program states what it leaks on purpose, by the name of the
 * function that calls malloc (for C++, the demangled name); the Python test
 * compares the report with it.  The statement goes to the file named by
 * $LP_TRUTH (JSON), written with stdio before exit, so the report at exit
 * sees these bytes freed.
 *
 * Beyond the leaks, a program may state:
 *  - the source line of the allocation call (truth_leak_at),
 *  - checkpoints: a copy of the leaks stated so far, taken at a moment a
 *    report is expected (signal, leakprobe_report()),
 *  - facts: numbers or strings the test needs (a measured delay, the
 *    LD_PRELOAD a child saw, ...).
 * A second process of the same program (a forked child, a helper) writes
 * its own statement with truth_write_tag("child") to $LP_TRUTH.child.
 *
 * Valid C and C++; no allocation until truth_write(). */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRUTH_MAX 64
#define TRUTH_FN static __attribute__((unused))
#define TRUTH_MAX_CHECKPOINTS 8
#define TRUTH_MAX_FACTS 160

struct truth_entry {
	const char *function;
	unsigned long blocks, bytes;
	int line; /* 0: not stated */
};

struct truth_checkpoint {
	const char *name;
	int count;
	struct truth_entry entries[TRUTH_MAX];
};

struct truth_fact {
	const char *name;
	int is_string;
	double number;
	char string[512];
};

static struct truth_entry truth_entries[TRUTH_MAX];
static int truth_count;
static struct truth_checkpoint truth_checkpoints[TRUTH_MAX_CHECKPOINTS];
static int truth_ncheckpoints;
static struct truth_fact truth_facts[TRUTH_MAX_FACTS];
static int truth_nfacts;

TRUTH_FN void
truth_leak_at(const char *function, unsigned long blocks, unsigned long bytes, int line)
{
	for (int i = 0; i < truth_count; i++) {
		if (strcmp(truth_entries[i].function, function) == 0) {
			truth_entries[i].blocks += blocks;
			truth_entries[i].bytes += bytes;
			if (!truth_entries[i].line)
				truth_entries[i].line = line;
			return;
		}
	}
	if (truth_count == TRUTH_MAX)
		abort();
	truth_entries[truth_count].function = function;
	truth_entries[truth_count].blocks = blocks;
	truth_entries[truth_count].bytes = bytes;
	truth_entries[truth_count].line = line;
	truth_count++;
}

TRUTH_FN void
truth_leak(const char *function, unsigned long blocks, unsigned long bytes)
{
	truth_leak_at(function, blocks, bytes, 0);
}

/* The leaks stated so far, kept under `name`. */
TRUTH_FN void
truth_checkpoint(const char *name)
{
	struct truth_checkpoint *c = &truth_checkpoints[truth_ncheckpoints++];
	c->name = name;
	c->count = truth_count;
	memcpy(c->entries, truth_entries, sizeof(truth_entries));
}

TRUTH_FN struct truth_fact *
truth_fact_slot(const char *name)
{
	for (int i = 0; i < truth_nfacts; i++)
		if (strcmp(truth_facts[i].name, name) == 0)
			return &truth_facts[i];
	if (truth_nfacts == TRUTH_MAX_FACTS)
		abort();
	truth_facts[truth_nfacts].name = name;
	return &truth_facts[truth_nfacts++];
}

TRUTH_FN void
truth_fact(const char *name, double value)
{
	struct truth_fact *f = truth_fact_slot(name);
	f->is_string = 0;
	f->number = value;
}

TRUTH_FN void
truth_fact_str(const char *name, const char *value)
{
	struct truth_fact *f = truth_fact_slot(name);
	f->is_string = 1;
	snprintf(f->string, sizeof(f->string), "%s", value ? value : "");
}

TRUTH_FN void
truth_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

TRUTH_FN void
truth_json_entries(FILE *f, const struct truth_entry *e, int n)
{
	fprintf(f, "[");
	for (int i = 0; i < n; i++) {
		fprintf(f, "%s{\"function\": ", i ? ", " : "");
		truth_json_string(f, e[i].function);
		fprintf(f, ", \"blocks\": %lu, \"bytes\": %lu", e[i].blocks, e[i].bytes);
		if (e[i].line)
			fprintf(f, ", \"line\": %d", e[i].line);
		fprintf(f, "}");
	}
	fprintf(f, "]");
}

/* Write the statement to $LP_TRUTH, or to $LP_TRUTH.<tag> when tag is set. */
TRUTH_FN void
truth_write_tag(const char *tag)
{
	const char *path = getenv("LP_TRUTH");
	char buf[4096];
	if (!path)
		return;
	if (tag) {
		snprintf(buf, sizeof(buf), "%s.%s", path, tag);
		path = buf;
	}
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "{\"leaks\": ");
	truth_json_entries(f, truth_entries, truth_count);
	fprintf(f, ",\n \"checkpoints\": {");
	for (int i = 0; i < truth_ncheckpoints; i++) {
		fprintf(f, "%s", i ? ", " : "");
		truth_json_string(f, truth_checkpoints[i].name);
		fprintf(f, ": ");
		truth_json_entries(f, truth_checkpoints[i].entries, truth_checkpoints[i].count);
	}
	fprintf(f, "},\n \"facts\": {");
	for (int i = 0; i < truth_nfacts; i++) {
		fprintf(f, "%s", i ? ", " : "");
		truth_json_string(f, truth_facts[i].name);
		fprintf(f, ": ");
		if (truth_facts[i].is_string)
			truth_json_string(f, truth_facts[i].string);
		else
			fprintf(f, "%.9g", truth_facts[i].number);
	}
	fprintf(f, "}}\n");
	fclose(f);
}

TRUTH_FN void
truth_write(void)
{
	truth_write_tag(NULL);
}
