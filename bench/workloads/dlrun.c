/* SPDX-License-Identifier: MIT */
/*
 * dlrun.c - run a workload built as a shared module (bench/run row 2).
 *
 * usage: dlrun MODULE.so [ARGS...]
 * dlopen()s MODULE after start-up and calls its bench_main(argc, argv)
 * with argv[0] = MODULE.  A tool that treats modules loaded after it
 * started differently from the program's own (e.g. by re-checking the
 * loader's state) shows it here.
 */
#include <dlfcn.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: dlrun MODULE.so [ARGS...]\n");
		return 2;
	}
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlrun: %s\n", dlerror());
		return 1;
	}
	int (*bench_main)(int, char **) =
		(int (*)(int, char **))dlsym(h, "bench_main");
	if (!bench_main) {
		fprintf(stderr, "dlrun: %s has no bench_main\n", argv[1]);
		return 1;
	}
	return bench_main(argc - 1, argv + 1);
}
