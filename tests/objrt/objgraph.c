/* objgraph.c - builds known object graphs through the objrt runtime; the
 * ground truth is by construction: the program records, by address, which
 * objects it made unreachable, grouped, and which of them lie on a cycle.
 *
 * usage: objgraph SCENARIO    (truth goes to $LP_TRUTH as JSON)
 *   self      a list that contains itself
 *   pair      two Nodes referring to each other
 *   ring50    a cycle of 50 Nodes
 *   tail      a 2-cycle holding a chain of 2 objects that are on no cycle
 *   global    a cycle held by a C global: nothing unreachable
 *   cref      a cycle with an extra reference held by C code: nothing
 *   mixed     all of the above at once, with ints inside the garbage
 *   gens      objects surviving collections move through generations
 *   threads   4 threads build garbage and live objects under the lock
 *   signal    garbage before and after a SIGUSR1 report
 *   auto      20 garbage pairs with LEAKPROBE_AUTO: collections run on
 *             their own as generation 0 crosses its threshold
 */
#define LEAKPROBE_WEAK_API
#include <leakprobe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "objrt.h"

/* --- truth ---------------------------------------------------------------- */

#define MAXG 256
#define MAXM 4096
static struct {
	uintptr_t members[MAXM];
	int nmembers;
	int cyc[MAXM];
} groups[MAXG];
static int ngroups;
static FILE *truth;
static char extra[8192];

static int
new_group(void)
{
	return ngroups++;
}

static void
member(int g, PyObject *op, int on_cycle)
{
	int k = groups[g].nmembers++;
	groups[g].members[k] = (uintptr_t)op;
	groups[g].cyc[k] = on_cycle;
}

static void
write_truth(const char *key)
{
	fprintf(truth, "\"%s\": [", key);
	for (int g = 0; g < ngroups; g++) {
		fprintf(truth, "%s{\"members\": [", g ? ", " : "");
		for (int k = 0; k < groups[g].nmembers; k++)
			fprintf(truth, "%s\"%#lx\"", k ? ", " : "", (unsigned long)groups[g].members[k]);
		fprintf(truth, "], \"in_cycle\": [");
		int first = 1;
		for (int k = 0; k < groups[g].nmembers; k++)
			if (groups[g].cyc[k]) {
				fprintf(truth, "%s\"%#lx\"", first ? "" : ", ",
					(unsigned long)groups[g].members[k]);
				first = 0;
			}
		fprintf(truth, "]}");
	}
	fprintf(truth, "]");
}

/* --- graphs ------------------------------------------------------------- */

static void
build_self(void)
{
	PyObject *l = objrt_list_new(2);
	objrt_set(l, 0, l);
	int g = new_group();
	member(g, l, 1);
	Py_DecRef(l);
}

static void
build_pair(void)
{
	PyObject *a = objrt_node_new(), *b = objrt_node_new();
	objrt_set(a, 0, b);
	objrt_set(b, 0, a);
	int g = new_group();
	member(g, a, 1);
	member(g, b, 1);
	Py_DecRef(a);
	Py_DecRef(b);
}

static void
build_ring(int n)
{
	PyObject *first = objrt_node_new(), *prev = first;
	int g = new_group();
	member(g, first, 1);
	for (int i = 1; i < n; i++) {
		PyObject *n2 = objrt_node_new();
		member(g, n2, 1);
		objrt_set(prev, 0, n2);
		Py_DecRef(n2);
		prev = n2;
	}
	objrt_set(prev, 0, first);
	Py_DecRef(first);
}

static void
build_tail(void)
{
	PyObject *a = objrt_node_new(), *b = objrt_node_new();
	PyObject *t = objrt_node_new(), *u = objrt_list_new(3);
	PyObject *num = objrt_int_new(42);
	objrt_set(a, 0, b);
	objrt_set(b, 0, a);
	objrt_set(b, 1, t);
	objrt_set(t, 0, u);
	objrt_set(u, 0, num); /* not a container: never part of a group */
	int g = new_group();
	member(g, a, 1);
	member(g, b, 1);
	member(g, t, 0);
	member(g, u, 0);
	Py_DecRef(a);
	Py_DecRef(b);
	Py_DecRef(t);
	Py_DecRef(u);
	Py_DecRef(num);
}

static PyObject *global_holder;

static void
build_global(void)
{
	/* global -> list -> (x <-> y): reachable, must not be reported */
	PyObject *x = objrt_node_new(), *y = objrt_node_new();
	objrt_set(x, 0, y);
	objrt_set(y, 0, x);
	global_holder = objrt_list_new(1);
	objrt_set(global_holder, 0, x);
	Py_DecRef(x);
	Py_DecRef(y);
}

static PyObject *c_owned;

static void
build_cref(void)
{
	/* A 3-cycle, one member of which C code keeps a reference to. */
	PyObject *a = objrt_node_new(), *b = objrt_node_new(), *c = objrt_list_new(1);
	objrt_set(a, 0, b);
	objrt_set(b, 0, c);
	objrt_set(c, 0, a);
	c_owned = b; /* our own reference: not dropped */
	Py_DecRef(a);
	Py_DecRef(c);
}

static void
build_mixed(void)
{
	build_global();
	build_cref();
	for (int i = 0; i < 3; i++)
		build_pair();
	build_self();
	build_tail();
	build_ring(50);
	/* live, untouched objects around the garbage */
	PyObject *keep = objrt_list_new(100);
	for (int i = 0; i < 100; i++) {
		PyObject *n = i % 2 ? objrt_node_new() : objrt_int_new(i);
		objrt_set(keep, i, n);
		Py_DecRef(n);
	}
}

/* --- generations --------------------------------------------------------- */

static void
scenario_gens(void)
{
	/* Five live Nodes; a gen0 pass moves them to gen1; three more Nodes
	 * and a list stay in gen0; a gen1 pass moves everything to gen2;
	 * two more Nodes remain young.  One pair of garbage is made before
	 * the first pass: it is found by it, promoted like the rest. */
	static PyObject *keep[16];
	long found[3];
	int k = 0;

	for (int i = 0; i < 5; i++)
		keep[k++] = objrt_node_new();
	build_pair();
	found[0] = leakprobe_collect ? leakprobe_collect(0) : -1;
	for (int i = 0; i < 3; i++)
		keep[k++] = objrt_node_new();
	keep[k++] = objrt_list_new(1);
	found[1] = leakprobe_collect ? leakprobe_collect(0) : -1;
	found[2] = leakprobe_collect ? leakprobe_collect(1) : -1;
	for (int i = 0; i < 2; i++)
		keep[k++] = objrt_node_new();
	/* Expected at exit: gen0 = 2 Nodes (count 2: allocations since the
	 * last gen0 pass), gen1 = nothing (count 0, reset by the gen1 pass),
	 * gen2 = 5 + 2 (the garbage pair) + 3 Nodes + 1 list (count 1). */
	snprintf(extra, sizeof(extra),
		 ", \"collect\": [%ld, %ld, %ld], \"expect_collect\": [2, 0, 2]"
		 ", \"generations\": ["
		 "{\"gen\": 0, \"count\": 2, \"objects\": 2, \"by_type\": {\"Node\": 2}}, "
		 "{\"gen\": 1, \"count\": 0, \"objects\": 0, \"by_type\": {}}, "
		 "{\"gen\": 2, \"count\": 1, \"objects\": 11, \"by_type\": {\"Node\": 10, \"list\": 1}}]",
		 found[0], found[1], found[2]);
}

/* --- threads -------------------------------------------------------------- */

#define NTHREADS 4
#define PAIRS_PER_THREAD 25

static void *
thread_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < PAIRS_PER_THREAD; i++) {
		objrt_lock();
		build_pair(); /* group bookkeeping under the lock too */
		PyObject *keep = objrt_node_new(); /* a live one, leaked on purpose */
		(void)keep;
		objrt_unlock();
		sched_yield();
	}
	return NULL;
}

static void
scenario_threads(void)
{
	pthread_t t[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, thread_main, NULL);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
}

/* --- signal --------------------------------------------------------------- */

static void
scenario_signal(void)
{
	build_pair();
	build_ring(5);
	write_truth("at_signal");
	fprintf(truth, ", ");
	fflush(truth);
	raise(SIGUSR1);
	/* Allocate objects (safe points) until the report has been taken:
	 * the worker waits for one for up to a second. */
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		PyObject *n = objrt_node_new();
		Py_DecRef(n);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 300);
	build_self();
}

int
main(int argc, char **argv)
{
	const char *sc = argc > 1 ? argv[1] : "mixed";
	const char *path = getenv("LP_TRUTH");
	truth = fopen(path ? path : "/dev/null", "w");
	if (!truth)
		return 2;
	fprintf(truth, "{");

	if (!strcmp(sc, "self"))
		build_self();
	else if (!strcmp(sc, "pair"))
		build_pair();
	else if (!strcmp(sc, "ring50"))
		build_ring(50);
	else if (!strcmp(sc, "tail"))
		build_tail();
	else if (!strcmp(sc, "global"))
		build_global();
	else if (!strcmp(sc, "cref"))
		build_cref();
	else if (!strcmp(sc, "mixed"))
		build_mixed();
	else if (!strcmp(sc, "gens"))
		scenario_gens();
	else if (!strcmp(sc, "threads"))
		scenario_threads();
	else if (!strcmp(sc, "signal"))
		scenario_signal();
	else if (!strcmp(sc, "auto"))
		for (int i = 0; i < 20; i++)
			build_pair();
	else {
		fprintf(stderr, "unknown scenario %s\n", sc);
		return 2;
	}
	write_truth("groups");
	fprintf(truth, "%s}\n", extra);
	fclose(truth);
	return 0;
}
