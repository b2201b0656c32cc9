/* objbench.c - the detector's benchmark heap, the shape of W2
 * (bench/workloads/w2_cycles.py): N live lists of one int each, held by
 * one outer list, plus K unreachable 2-cycles of Nodes.  Times
 * leakprobe_collect(2) and prints it.  usage: objbench [N] [K]
 *
 * objbench refs N: N Py_IncRef/Py_DecRef pairs on one object through the
 * runtime's exported API (the calls the shim interposes); prints the time
 * per pair, with or without the shim. */
#define LEAKPROBE_WEAK_API
#include <leakprobe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "objrt.h"

static double
now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int
refs(long n)
{
	PyObject *o = objrt_list_new(1);
	double t0 = now_ns();
	for (long i = 0; i < n; i++) {
		Py_IncRef(o);
		Py_DecRef(o);
	}
	double t1 = now_ns();
	printf("refs=%ld ns/pair=%.2f refcount=%ld\n", n, (t1 - t0) / (double)n,
	       (long)o->ob_refcnt);
	Py_DecRef(o);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "refs"))
		return refs(atol(argv[2]));
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	long k = argc > 2 ? atol(argv[2]) : 10000;
	PyObject *live = objrt_list_new(n);

	for (long i = 0; i < n; i++) {
		PyObject *l = objrt_list_new(1), *v = objrt_int_new(i);
		objrt_set(l, 0, v);
		objrt_set(live, i, l);
		Py_DecRef(v);
		Py_DecRef(l);
	}
	for (long i = 0; i < k; i++) {
		PyObject *a = objrt_node_new(), *b = objrt_node_new();
		objrt_set(a, 0, b);
		objrt_set(b, 0, a);
		Py_DecRef(a);
		Py_DecRef(b);
	}
	if (!leakprobe_collect) {
		printf("not under leakprobe\n");
		return 0;
	}
	int reps = getenv("OBJBENCH_REPS") ? atoi(getenv("OBJBENCH_REPS")) : 1;
	for (int r = 0; r < reps; r++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		long found = leakprobe_collect(2);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
		printf("leakprobe_collect(2) found %ld unreachable in %.1f ms over %ld live containers\n",
		       found, ms, n + 1);
	}
	return 0;
}
