/* SPDX-License-Identifier: MIT */
/*
 * trial_deletion.c - see trial_deletion.h.
 *
 * CPython keeps gc_refs in each object's GC head; we may not write
 * objects, so the state lives beside them, indexed by the object's
 * position i in objs:
 *
 *   refs[i]     gc_refs (int32), a dense array: the walks over the set read
 *               it in order, and probes from edges land in 4 bytes/object
 *   reached     a bitmap: REACHABLE
 *   ix          address -> i (object_index.h: slots that follow addresses)
 *   edges       the set's internal edges, resolved once by subtract_refs
 *               (CSR: edge_start[i] .. edge_start[i + 1] in adj): the later
 *               phases follow indices instead of traversing and probing
 *   garbage_pos in group_unreachable, i -> position in the garbage list
 */
#include "detect/trial_deletion.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "detect/object_index.h"
#include "detect/pyabi.h"

#define ROOT_REFS (INT32_MAX / 2) /* immortal or absurdly referenced */

#define BATCH 64          /* objects traversed before their edges are probed */
#define EDGE_PREFETCH 24  /* probes in flight */

#define NOT_IN_SET UINT32_MAX

static double
seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct ctx {
	struct lp_objindex ix;
	uint32_t *edge_start;             /* n + 1 */
	struct lp_vec adj;                /* uint32_t: edge targets, or NOT_IN_SET */
	uint32_t *garbage_pos;            /* by object index */
	int32_t *refs;                    /* gc_refs by object index */
	uint64_t *reached;                /* bitmap of REACHABLE, by object index */
	struct lp_vec stack;              /* uint32_t object indices */
	struct lp_vec batch;              /* uintptr_t referents of a batch */
	uint32_t current;                 /* position of the object traversed */
	bool oom;
};

/* The referents worth a probe: containers.  Like CPython's visit_decref,
 * look at the referent's type first: an int or a str next to its
 * container is in cache, its absent map slot would be a miss. */
static inline bool
may_be_in_set(void *obj)
{
	uintptr_t type = lp_py_type((uintptr_t)obj);
	return type && lp_py_is_gc_type(type);
}

static int
visit_collect(void *obj, void *arg)
{
	struct ctx *c = arg;
	if (!obj || !may_be_in_set(obj))
		return 0;
	uintptr_t *e = lp_vec_push(&c->batch);
	if (e)
		*e = (uintptr_t)obj;
	else
		c->oom = true;
	return 0;
}

/* Look up every referent collected in the batch (prefetching
 * EDGE_PREFETCH ahead where the index is a hash table): each becomes an
 * edge, and its target's gc_refs goes down. */
static inline void
drain_batch(struct ctx *c)
{
	const uintptr_t *b = c->batch.data;
	size_t n = c->batch.len;
	if (!lp_vec_reserve(&c->adj, c->adj.len + n)) {
		c->oom = true;
		c->batch.len = 0;
		return;
	}
	uint32_t *adj = (uint32_t *)c->adj.data + c->adj.len;
	for (size_t k = 0; k < n; k++) {
		if (k + EDGE_PREFETCH < n)
			lp_objindex_prefetch(&c->ix, b[k + EDGE_PREFETCH]);
		int64_t j = lp_objindex_find(&c->ix, b[k]);
		adj[k] = j >= 0 ? (uint32_t)j : NOT_IN_SET;
		if (j >= 0)
			c->refs[j]--;
	}
	c->adj.len += n;
	c->batch.len = 0;
}

static inline void
traverse(uintptr_t obj, lp_visitproc visit, void *arg)
{
	uintptr_t type = lp_py_type(obj);
	lp_traverseproc tp = type ? lp_py_type_traverse(type) : NULL;
	if (tp)
		tp((void *)obj, visit, arg);
}


/* --- update_refs ---------------------------------------------------------
 * After this, every object of the set has a slot whose gc_refs equals its
 * reference count, less the references the caller holds itself. */
#define PREFETCH_AHEAD 32

static bool
update_refs(struct lp_detect *d, struct ctx *c)
{
	if (!lp_objindex_build(&c->ix, d->objs, d->n))
		return false;
	for (uint32_t i = 0; i < d->n; i++) {
		uintptr_t obj = d->objs[i];
		if (!d->refcnts && i + PREFETCH_AHEAD < d->n)
			__builtin_prefetch((void *)d->objs[i + PREFETCH_AHEAD]);
		int64_t refs = d->refcnts ? d->refcnts[i] : lp_py_refcnt(obj);
		if (lp_py_immortal(refs) || refs > ROOT_REFS)
			refs = ROOT_REFS;
		else
			refs -= d->extra_refs ? d->extra_refs[i] : d->extra_all;
		c->refs[i] = (int32_t)refs;
	}
	return true;
}

/* --- subtract_refs -------------------------------------------------------
 * After this, gc_refs > 0 iff something outside the set refers to the
 * object (a negative count means the runtime's refcount was too small:
 * it is clamped to 0 and counted as an anomaly), and the set's edges are
 * known by index.  Referents are collected a batch at a time and probed
 * with prefetching: the probes are the cache misses, and independent. */

static bool
subtract_refs(struct lp_detect *d, struct ctx *c)
{
	for (uint32_t i = 0; i < d->n; i++) {
		if (i + PREFETCH_AHEAD < d->n)
			__builtin_prefetch((void *)d->objs[i + PREFETCH_AHEAD]);
		/* Referents drained so far plus those waiting in the batch,
		 * in traversal order. */
		c->edge_start[i] = (uint32_t)(c->adj.len + c->batch.len);
		traverse(d->objs[i], visit_collect, c);
		if (c->batch.len >= BATCH * 4 || i + 1 == d->n)
			drain_batch(c);
		if (c->oom || c->adj.len + c->batch.len >= UINT32_MAX)
			return false;
	}
	c->edge_start[d->n] = (uint32_t)c->adj.len;
	/* Negative counts are clamped by move_unreachable, which reads every
	 * slot anyway. */
	return true;
}

/* --- move_unreachable ----------------------------------------------------
 * After this, REACHABLE is set exactly on the objects reachable from one
 * whose gc_refs stayed > 0 (and the reached bitmap agrees); every other
 * object of the set is garbage that only other garbage refers to.
 *
 * As CPython does, the set is walked in order: an object found reachable
 * further on is only marked, and followed when the walk gets there; one
 * found behind the walk goes on a worklist.  Edges are the ones
 * subtract_refs resolved: no traversal, no probe. */
static inline bool
is_reached(const struct ctx *c, uint32_t j)
{
	return c->reached[j >> 6] & (1ull << (j & 63));
}

static inline void
set_reached(struct ctx *c, uint32_t j)
{
	c->reached[j >> 6] |= 1ull << (j & 63);
}

static void
mark(struct ctx *c, uint32_t j)
{
	if (is_reached(c, j))
		return;
	set_reached(c, j);
	if (j < c->current) {
		/* Behind the walk: follow it from the worklist. */
		uint32_t *top = lp_vec_push(&c->stack);
		if (top)
			*top = j;
		else
			c->oom = true;
	}
}

static inline void
mark_edges(struct ctx *c, uint32_t i)
{
	const uint32_t *adj = c->adj.data;
	for (uint32_t e = c->edge_start[i]; e < c->edge_start[i + 1]; e++)
		if (adj[e] != NOT_IN_SET)
			mark(c, adj[e]);
}

static bool
move_unreachable(struct lp_detect *d, struct ctx *c)
{
	for (uint32_t i = 0; i < d->n; i++) {
		int32_t refs = c->refs[i];
		if (lp_unlikely(refs < 0)) {
			c->refs[i] = 0;
			d->clamped++;
		} else if (refs > 0) {
			set_reached(c, i);
		}
		if (!is_reached(c, i))
			continue;
		/* Objects up to i are walked; one reached further on is
		 * followed when the walk gets there. */
		c->current = i + 1;
		mark_edges(c, i);
		while (c->stack.len && !c->oom)
			mark_edges(c, LP_VEC_AT(&c->stack, uint32_t, --c->stack.len));
		if (c->oom)
			return false;
	}
	return true;
}

/* --- group_unreachable ---------------------------------------------------
 * After this, the unreachable objects are listed group by group (a group
 * is a connected part of the garbage graph, edges taken both ways), each
 * group's edges are recorded with group-local indices, and in_cycle marks
 * the members that lie on a cycle (a strongly connected part of two or
 * more objects, or a self-reference) rather than only hanging off one. */
static uint32_t
find_root(uint32_t *parent, uint32_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

static int
cmp_edge(const void *a, const void *b)
{
	const uint32_t *x = a, *y = b;
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* Tarjan's strongly connected components, iteratively, over the garbage
 * graph in CSR form (adj_start/adj over positions). */
struct frame {
	uint32_t v, next_edge;
};

static bool
mark_cycles(uint32_t nu, const uint32_t *adj_start, const uint32_t *adj,
	    uint8_t *in_cycle)
{
	struct lp_vec work = LP_VEC_INIT(struct frame);
	struct lp_vec scc = LP_VEC_INIT(uint32_t);
	struct lp_vec aux = LP_VEC_INIT(uint32_t[3]); /* index, lowlink, on-stack */
	uint32_t counter = 1;
	bool ok = lp_vec_reserve(&aux, nu) && lp_vec_reserve(&scc, nu);

	if (!ok)
		goto out;
	uint32_t(*a)[3] = aux.data;
	memset(a, 0, (size_t)nu * sizeof(*a));
	for (uint32_t root = 0; root < nu && ok; root++) {
		if (a[root][0])
			continue;
		struct frame *w = lp_vec_push(&work);
		if (!w) {
			ok = false;
			break;
		}
		w->v = root;
		w->next_edge = adj_start[root];
		a[root][0] = a[root][1] = counter++;
		a[root][2] = 1;
		LP_VEC_AT(&scc, uint32_t, scc.len++) = root;
		while (work.len) {
			struct frame *top = &LP_VEC_AT(&work, struct frame, work.len - 1);
			uint32_t v = top->v;
			if (top->next_edge < adj_start[v + 1]) {
				uint32_t u = adj[top->next_edge++];
				if (u == v) {
					in_cycle[v] = 1;
				} else if (!a[u][0]) {
					struct frame *n = lp_vec_push(&work);
					if (!n) {
						ok = false;
						break;
					}
					n->v = u;
					n->next_edge = adj_start[u];
					a[u][0] = a[u][1] = counter++;
					a[u][2] = 1;
					LP_VEC_AT(&scc, uint32_t, scc.len++) = u;
				} else if (a[u][2] && a[u][0] < a[v][1]) {
					a[v][1] = a[u][0];
				}
				continue;
			}
			work.len--;
			if (work.len) {
				uint32_t parent = LP_VEC_AT(&work, struct frame, work.len - 1).v;
				if (a[v][1] < a[parent][1])
					a[parent][1] = a[v][1];
			}
			if (a[v][1] != a[v][0])
				continue;
			/* v is the root of a component: pop it. */
			size_t start = scc.len;
			while (LP_VEC_AT(&scc, uint32_t, start - 1) != v)
				start--;
			start--;
			bool cyclic = scc.len - start > 1;
			for (size_t k = start; k < scc.len; k++) {
				uint32_t x = LP_VEC_AT(&scc, uint32_t, k);
				a[x][2] = 0;
				if (cyclic)
					in_cycle[x] = 1;
			}
			scc.len = start;
		}
	}
out:
	lp_vec_free(&work);
	lp_vec_free(&scc);
	lp_vec_free(&aux);
	return ok;
}

static bool
group_unreachable(struct lp_detect *d, struct ctx *c)
{
	struct lp_vec raw_edges = LP_VEC_INIT(uint32_t[2]);
	struct lp_vec tmp = LP_VEC_INIT(uint32_t);
	bool ok = false;
	uint32_t nu = 0;

	/* Positions in the garbage list, in the order of objs. */
	for (uint32_t i = 0; i < d->n; i++)
		if (!is_reached(c, i))
			c->garbage_pos[i] = nu++;
	if (!nu)
		return true;
	/* tmp: garbage index by position (nu), union-find parents (nu),
	 * then CSR starts (nu + 1) and per-group write cursors. */
	if (!lp_vec_reserve(&tmp, (size_t)nu * 4 + 2))
		goto out;
	uint32_t *by_pos = tmp.data, *parent = by_pos + nu;
	uint32_t *adj_start = parent + nu, *cursor = adj_start + nu + 1;
	for (uint32_t i = 0, p = 0; i < d->n; i++)
		if (!is_reached(c, i))
			by_pos[p++] = i;

	{
		const uint32_t *adj = c->adj.data;
		for (uint32_t p = 0; p < nu; p++) {
			uint32_t i = by_pos[p];
			for (uint32_t e = c->edge_start[i]; e < c->edge_start[i + 1]; e++) {
				uint32_t j = adj[e];
				if (j == NOT_IN_SET || is_reached(c, j))
					continue;
				uint32_t *pair = lp_vec_push(&raw_edges);
				if (!pair)
					goto out;
				pair[0] = p;
				pair[1] = c->garbage_pos[j];
			}
		}
	}
	/* A container may hold the same object twice: one edge is enough. */
	uint32_t(*e)[2] = raw_edges.data;
	size_t ne = raw_edges.len;
	if (ne)
		qsort(e, ne, sizeof(*e), cmp_edge);
	size_t w = 0;
	for (size_t k = 0; k < ne; k++)
		if (!w || e[k][0] != e[w - 1][0] || e[k][1] != e[w - 1][1]) {
			e[w][0] = e[k][0];
			e[w][1] = e[k][1];
			w++;
		}
	ne = raw_edges.len = w;

	/* Connected groups (edges taken both ways). */
	for (uint32_t p = 0; p < nu; p++)
		parent[p] = p;
	for (size_t k = 0; k < ne; k++) {
		uint32_t x = find_root(parent, e[k][0]), y = find_root(parent, e[k][1]);
		if (x != y)
			parent[x > y ? x : y] = x < y ? x : y;
	}

	/* Cycle membership over the whole garbage graph (edges sorted by
	 * source: CSR directly). */
	if (!lp_vec_reserve(&d->in_cycle, nu))
		goto out;
	uint8_t *cyc = d->in_cycle.data;
	memset(cyc, 0, nu);
	d->in_cycle.len = nu;
	{
		struct lp_vec adjv = LP_VEC_INIT(uint32_t);
		if (!lp_vec_reserve(&adjv, ne + 1))
			goto out;
		uint32_t *adj = adjv.data;
		memset(adj_start, 0, (size_t)(nu + 1) * sizeof(uint32_t));
		for (size_t k = 0; k < ne; k++) {
			adj_start[e[k][0] + 1]++;
			adj[k] = e[k][1];
		}
		for (uint32_t p = 0; p < nu; p++)
			adj_start[p + 1] += adj_start[p];
		bool cyc_ok = mark_cycles(nu, adj_start, adj, cyc);
		lp_vec_free(&adjv);
		if (!cyc_ok)
			goto out;
	}

	/* Lay the members out group by group, in order of first appearance;
	 * a group is identified by its root's position. */
	if (!lp_vec_reserve(&d->unreachable, nu))
		goto out;
	uint32_t *out_members = d->unreachable.data;
	uint32_t *group_of_root = adj_start; /* reuse: root -> group index + 1 */
	memset(group_of_root, 0, (size_t)nu * sizeof(uint32_t));
	for (uint32_t p = 0; p < nu; p++) {
		uint32_t r = find_root(parent, p);
		if (!group_of_root[r]) {
			struct lp_detect_group *g = lp_vec_push(&d->groups);
			if (!g)
				goto out;
			group_of_root[r] = (uint32_t)d->groups.len;
		}
		struct lp_detect_group *g =
			&LP_VEC_AT(&d->groups, struct lp_detect_group, group_of_root[r] - 1);
		g->count++;
		if (d->sizes)
			g->bytes += d->sizes[by_pos[p]];
	}
	uint32_t next = 0;
	for (size_t k = 0; k < d->groups.len; k++) {
		struct lp_detect_group *g = &LP_VEC_AT(&d->groups, struct lp_detect_group, k);
		g->first = next;
		cursor[k] = next;
		next += g->count;
	}
	/* new position of each old position, and the in_cycle flags with it */
	struct lp_vec newpos = LP_VEC_INIT(uint32_t);
	struct lp_vec newcyc = LP_VEC_INIT(uint8_t);
	if (!lp_vec_reserve(&newpos, nu) || !lp_vec_reserve(&newcyc, nu)) {
		lp_vec_free(&newpos);
		lp_vec_free(&newcyc);
		goto out;
	}
	uint32_t *np = newpos.data;
	uint8_t *nc = newcyc.data;
	for (uint32_t p = 0; p < nu; p++) {
		uint32_t gi = group_of_root[find_root(parent, p)] - 1;
		uint32_t at = cursor[gi]++;
		out_members[at] = by_pos[p];
		nc[at] = cyc[p];
		np[p] = at;
	}
	memcpy(cyc, nc, nu);
	d->unreachable.len = nu;
	/* Edges per group, group-local indices. */
	for (size_t k = 0; k < d->groups.len; k++)
		LP_VEC_AT(&d->groups, struct lp_detect_group, k).nedges = 0;
	for (size_t k = 0; k < ne; k++) {
		uint32_t gi = group_of_root[find_root(parent, e[k][0])] - 1;
		LP_VEC_AT(&d->groups, struct lp_detect_group, gi).nedges++;
	}
	uint32_t estart = 0;
	for (size_t k = 0; k < d->groups.len; k++) {
		struct lp_detect_group *g = &LP_VEC_AT(&d->groups, struct lp_detect_group, k);
		g->first_edge = estart;
		cursor[k] = estart;
		estart += g->nedges;
	}
	if (!lp_vec_reserve(&d->edges, ne ? ne : 1)) {
		lp_vec_free(&newpos);
		lp_vec_free(&newcyc);
		goto out;
	}
	uint32_t(*oe)[2] = d->edges.data;
	for (size_t k = 0; k < ne; k++) {
		uint32_t gi = group_of_root[find_root(parent, e[k][0])] - 1;
		uint32_t first = LP_VEC_AT(&d->groups, struct lp_detect_group, gi).first;
		uint32_t at = cursor[gi]++;
		oe[at][0] = np[e[k][0]] - first;
		oe[at][1] = np[e[k][1]] - first;
	}
	d->edges.len = ne;
	lp_vec_free(&newpos);
	lp_vec_free(&newcyc);
	ok = true;
out:
	lp_vec_free(&raw_edges);
	lp_vec_free(&tmp);
	return ok;
}


static void
free_results(struct lp_detect *d)
{
	lp_vec_free(&d->unreachable);
	lp_vec_free(&d->in_cycle);
	lp_vec_free(&d->edges);
	lp_vec_free(&d->groups);
}

/* Working memory kept between runs (see trial_deletion.h). */
static pthread_mutex_t workspace_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lp_objindex ws_index;
static struct lp_vec ws_garbage_pos = LP_VEC_INIT(uint32_t);
static struct lp_vec ws_edge_start = LP_VEC_INIT(uint32_t);
static struct lp_vec ws_adj = LP_VEC_INIT(uint32_t);
static struct lp_vec ws_refs = LP_VEC_INIT(int32_t);
static struct lp_vec ws_stack = LP_VEC_INIT(uint32_t);
static struct lp_vec ws_batch = LP_VEC_INIT(uintptr_t);
static struct lp_vec ws_reached = LP_VEC_INIT(uint64_t);

bool
lp_detect_run(struct lp_detect *d)
{
	struct ctx c = { 0 };
	double t0 = seconds_now();
	bool ok = false;

	pthread_mutex_lock(&workspace_lock);
	/* The index goes out with the results (d->index) and comes back at
	 * lp_detect_free; a run meanwhile builds a fresh one. */
	c.ix = ws_index;
	ws_index = (struct lp_objindex){ 0 };
	c.stack = ws_stack;
	c.stack.len = 0;
	c.batch = ws_batch;
	c.batch.len = 0;
	c.adj = ws_adj;
	c.adj.len = 0;
	size_t words = (size_t)d->n / 64 + 1;
	if (!lp_vec_reserve(&ws_reached, words) || !lp_vec_reserve(&ws_refs, (size_t)d->n + 1) ||
	    !lp_vec_reserve(&ws_garbage_pos, (size_t)d->n + 1) ||
	    !lp_vec_reserve(&ws_edge_start, (size_t)d->n + 1))
		goto out;
	c.garbage_pos = ws_garbage_pos.data;
	c.edge_start = ws_edge_start.data;
	c.reached = ws_reached.data;
	c.refs = ws_refs.data;
	memset(c.reached, 0, words * sizeof(uint64_t));

	d->unreachable = (struct lp_vec)LP_VEC_INIT(uint32_t);
	d->in_cycle = (struct lp_vec)LP_VEC_INIT(uint8_t);
	d->edges = (struct lp_vec)LP_VEC_INIT(uint32_t[2]);
	d->groups = (struct lp_vec)LP_VEC_INIT(struct lp_detect_group);
	d->clamped = 0;
	if (!update_refs(d, &c))
		goto out;
	if (!subtract_refs(d, &c))
		goto out;
	if (!move_unreachable(d, &c))
		goto out;
	ok = group_unreachable(d, &c);
out:
	if (!ok) {
		free_results(d);
		d->groups.len = d->unreachable.len = 0;
	}
	ws_stack = c.stack;
	ws_batch = c.batch;
	ws_adj = c.adj;
	if (ok) {
		d->index = c.ix;
	} else {
		lp_objindex_clear(&c.ix);
		ws_index = c.ix;
	}
	pthread_mutex_unlock(&workspace_lock);
	d->seconds = seconds_now() - t0;
	return ok;
}

void
lp_detect_free(struct lp_detect *d)
{
	if (d->index.keys) {
		/* While d->objs, which the index names, is still valid. */
		lp_objindex_clear(&d->index);
		pthread_mutex_lock(&workspace_lock);
		if (!ws_index.space && !ws_index.map.slots)
			ws_index = d->index;
		else
			lp_objindex_free(&d->index);
		pthread_mutex_unlock(&workspace_lock);
		d->index = (struct lp_objindex){ 0 };
	}
	free_results(d);
}
