/* plugin_host.c - dlopen PLUGIN (argv[1]), call plugin_run(6), dlclose it,
 * check it is unmapped, exit.  The leak is the plugin's (grow_cache: 6 x 48
 * bytes, stated by the plugin itself), the report is written after the
 * plugin is gone.  Fact "unmapped": 1 when /proc/self/maps no longer shows
 * the plugin after dlclose. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "truth.h"

struct plugin_truth {
	const char *function;
	unsigned long blocks, bytes;
	int line;
};

static int
mapped(const char *path)
{
	char line[4096];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, path))
			found = 1;
	fclose(f);
	return found;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	char real[4096];
	if (!realpath(argv[1], real))
		return 2;
	void *h = dlopen(real, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 3;
	}
	void (*run)(int, struct plugin_truth *) =
		(void (*)(int, struct plugin_truth *))dlsym(h, "plugin_run");
	if (!run)
		return 4;
	struct plugin_truth t = { 0 };
	run(6, &t);
	char function[64];
	snprintf(function, sizeof(function), "%s", t.function); /* the plugin's string goes away */
	if (dlclose(h) != 0)
		return 5;
	truth_leak_at(function, t.blocks, t.bytes, t.line);
	truth_fact("unmapped", mapped(real) == 0);
	truth_fact_str("plugin", real);
	printf("plugin run and closed\n");
	fflush(stdout);
	truth_write();
	return 0;
}
