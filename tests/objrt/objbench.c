/* objbench.c - the detector's benchmark heap, the shape of W2
 * (bench/workloads/w2_cycles.py): N live lists of one int each, held by
 * one outer list, plus K unreachable 2-cycles of Nodes.  Times
 * leakprobe_collect(2) and prints it.  usage: objbench [N] [K] */
#define LEAKPROBE_WEAK_API
#include <leakprobe.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "objrt.h"

int
main(int argc, char **argv)
{
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
