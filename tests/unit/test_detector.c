/* test_detector.c - the trial-deletion detector on random object graphs
 * (CPython's object ABI, built here), against a naive oracle: the
 * garbage is what no externally referenced object reaches; groups are the
 * weakly connected parts of the garbage; a member is on a cycle iff it
 * reaches itself.  Every graph twice: objects packed 16-aligned (the object
 * index's dense form) and spread 64 KiB apart (its hash-table form); also
 * objects placed in the shuffled order the allocator leaves. */
#include <stdlib.h>
#include <string.h>

#include "detect/trial_deletion.h"
#include "unit.h"

#define MAXN 400
#define MAXE 4

struct gc_head { uintptr_t next, prev; };
struct obj {
	int64_t refcnt;
	void *type;
	int nref;
	struct obj *ref[MAXE];
};
struct tracked { struct gc_head h; struct obj o; } __attribute__((aligned(16)));

static char gc_type[256], atom_type[256];
/* Layouts: packed, spread, packed but shuffled (node i in slot perm[i]). */
#define SPREAD (64 * 1024)
/* On a 16 KiB boundary: a graph of 128 to 204 objects fits one page of
 * the index's slots, 256 to 400 two. */
static struct tracked packed[MAXN] __attribute__((aligned(16384)));
static char spread[MAXN][SPREAD] __attribute__((aligned(16)));
static int layout, perm[MAXN], dense_runs, packed_dense, shuffled_dense;

static struct tracked *
node(int i)
{
	switch (layout) {
	case 1: return (struct tracked *)spread[i];
	case 2: return &packed[perm[i]];
	default: return &packed[i];
	}
}
#define nodes_o(i) (node(i)->o)
static struct obj atom; /* a non-container every node may refer to */

static int
traverse(void *op, int (*visit)(void *, void *), void *arg)
{
	struct obj *o = op;
	for (int i = 0; i < o->nref; i++)
		visit(o->ref[i], arg);
	visit(&atom, arg);
	return 0;
}

static void
make_type(char *t, const char *name, unsigned long flags, void *trav)
{
	*(const char **)(t + 24) = name;
	*(int64_t *)(t + 32) = sizeof(struct obj);
	*(unsigned long *)(t + 168) = flags;
	*(void **)(t + 184) = trav;
}

static bool adj[MAXN][MAXN];

static bool
reaches(int from, int to, int n, const bool *garbage)
{
	bool seen[MAXN] = { 0 };
	int stack[MAXN], sp = 0;
	for (int j = 0; j < n; j++)
		if (adj[from][j] && garbage[j] && !seen[j])
			seen[j] = true, stack[sp++] = j;
	while (sp) {
		int v = stack[--sp];
		if (v == to)
			return true;
		for (int j = 0; j < n; j++)
			if (adj[v][j] && garbage[j] && !seen[j])
				seen[j] = true, stack[sp++] = j;
	}
	return false;
}

static void
one_graph(unsigned seed, int n)
{
	int external[MAXN];
	uintptr_t objs[MAXN];
	srand(seed);
	memset(adj, 0, sizeof(adj));
	for (int i = 0; i < n; i++)
		perm[i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j = rand() % (i + 1), t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (int i = 0; i < n; i++) {
		struct obj *o = &node(i)->o;
		node(i)->h.next = 1; /* tracked */
		o->type = gc_type;
		o->nref = rand() % (MAXE + 1);
		external[i] = rand() % 10 == 0 ? 1 + rand() % 3 : 0;
		o->refcnt = external[i];
		objs[i] = (uintptr_t)o;
	}
	for (int i = 0; i < n; i++)
		for (int k = 0; k < nodes_o(i).nref; k++) {
			int j = rand() % 7 == 0 ? i : rand() % n;
			nodes_o(i).ref[k] = &nodes_o(j);
			nodes_o(j).refcnt++;
			adj[i][j] = true;
		}

	/* the oracle */
	bool reach[MAXN] = { 0 }, garbage[MAXN];
	int queue[MAXN], qh = 0, qt = 0;
	for (int i = 0; i < n; i++)
		if (external[i])
			reach[i] = true, queue[qt++] = i;
	while (qh < qt) {
		int v = queue[qh++];
		for (int j = 0; j < n; j++)
			if (adj[v][j] && !reach[j])
				reach[j] = true, queue[qt++] = j;
	}
	for (int i = 0; i < n; i++)
		garbage[i] = !reach[i];

	struct lp_detect d = { .objs = objs, .n = (uint32_t)n };
	CHECK(lp_detect_run(&d));
	/* Spread objects never get the dense form; packed ones do once
	 * there are enough of them (counted: see main). */
	if (layout == 1)
		CHECK(!d.index.dense);
	/* The pages of slots are counted whatever the order: a shuffled
	 * packed set is as dense as a sorted one. */
	if (layout == 2)
		shuffled_dense += d.index.dense;
	else if (layout == 0)
		packed_dense += d.index.dense;
	dense_runs += d.index.dense;
	for (int i = 0; i < n; i++)
		CHECK(lp_detect_index_of(&d, objs[i]) == i);
	CHECK(lp_detect_index_of(&d, (uintptr_t)&atom) == -1);
	int found = 0;
	bool reported[MAXN] = { 0 };
	int group_of[MAXN];
	for (size_t g = 0; g < d.groups.len; g++) {
		struct lp_detect_group *gr = &LP_VEC_AT(&d.groups, struct lp_detect_group, g);
		for (uint32_t k = 0; k < gr->count; k++) {
			uint32_t pos = gr->first + k;
			int i = (int)LP_VEC_AT(&d.unreachable, uint32_t, pos);
			bool cyc = LP_VEC_AT(&d.in_cycle, uint8_t, pos);
			reported[i] = true;
			group_of[i] = (int)g;
			found++;
			CHECK(cyc == reaches(i, i, n, garbage));
		}
		/* edges: exactly the garbage edges inside the group */
		int want_edges = 0;
		for (uint32_t a = 0; a < gr->count; a++)
			for (uint32_t b = 0; b < gr->count; b++)
				want_edges += adj[LP_VEC_AT(&d.unreachable, uint32_t, gr->first + a)]
						  [LP_VEC_AT(&d.unreachable, uint32_t, gr->first + b)];
		CHECK((int)gr->nedges == want_edges);
	}
	for (int i = 0; i < n; i++)
		CHECK(reported[i] == garbage[i]);
	/* groups are connected and separate: garbage neighbours share one */
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			if (adj[i][j] && garbage[i] && garbage[j])
				CHECK(group_of[i] == group_of[j]);
	CHECK(d.clamped == 0);
	lp_detect_free(&d);
}

int
main(void)
{
	make_type(gc_type, "mod.Node", 1ul << 14, (void *)traverse);
	make_type(atom_type, "int", 0, NULL);
	atom.type = atom_type;
	atom.refcnt = 1000;
	for (layout = 0; layout < 3; layout++)
		for (unsigned seed = 1; seed <= 300; seed++)
			one_graph(seed, 1 + (int)(seed % MAXN));
	printf("dense object index in %d of 900 runs\n", dense_runs);
	CHECK(dense_runs > 100); /* the dense form was exercised */
	printf("dense: %d packed runs, %d shuffled runs\n", packed_dense, shuffled_dense);
	CHECK(shuffled_dense == packed_dense);
	layout = 0;

	/* A refcount that is too small is clamped and counted. */
	uintptr_t one[1];
	nodes_o(0).type = gc_type;
	nodes_o(0).nref = 1;
	nodes_o(0).ref[0] = &nodes_o(0);
	nodes_o(0).refcnt = 0; /* refers to itself, but counts nothing */
	one[0] = (uintptr_t)&nodes_o(0);
	struct lp_detect d = { .objs = one, .n = 1 };
	CHECK(lp_detect_run(&d));
	CHECK(d.clamped == 1);
	CHECK(d.unreachable.len == 1);
	lp_detect_free(&d);
	UNIT_DONE();
}
