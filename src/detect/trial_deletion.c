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

#include "core/warn.h"
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

/* The garbage graph while it is grouped: garbage positions p < nu (in the
 * order of objs), its edges between positions, and the scratch arrays. */
struct garbage {
	uint32_t nu;
	uint32_t *by_pos;      /* p -> object index */
	uint32_t *parent;      /* union-find over p */
	uint32_t *adj_start;   /* CSR starts (nu + 1); then root -> group + 1 */
	uint32_t *cursor;      /* per-group write cursors */
	struct lp_vec edges;   /* uint32_t[2]: (p, q), sorted, each once */
	struct lp_vec tmp;     /* backs by_pos .. cursor */
};

/* Every object not reached, numbered in the order of objs.
 * Post: by_pos[p] = i and c->garbage_pos[i] = p for the nu garbage
 * objects. */
static bool
list_garbage(struct lp_detect *d, struct ctx *c, struct garbage *g)
{
	uint32_t nu = 0;
	for (uint32_t i = 0; i < d->n; i++)
		if (!is_reached(c, i))
			c->garbage_pos[i] = nu++;
	g->nu = nu;
	if (!nu)
		return true;
	/* by_pos (nu), parent (nu), adj_start (nu + 1), cursor (nu + 1) */
	if (!lp_vec_reserve(&g->tmp, (size_t)nu * 4 + 2))
		return false;
	g->by_pos = g->tmp.data;
	g->parent = g->by_pos + nu;
	g->adj_start = g->parent + nu;
	g->cursor = g->adj_start + nu + 1;
	for (uint32_t i = 0, p = 0; i < d->n; i++)
		if (!is_reached(c, i))
			g->by_pos[p++] = i;
	return true;
}

/* The edges from garbage to garbage.  A container may hold the same
 * object twice: one edge is enough.  Post: edges sorted, strictly
 * increasing, both ends < nu. */
static bool
collect_garbage_edges(struct ctx *c, struct garbage *g)
{
	const uint32_t *adj = c->adj.data;
	for (uint32_t p = 0; p < g->nu; p++) {
		uint32_t i = g->by_pos[p];
		for (uint32_t e = c->edge_start[i]; e < c->edge_start[i + 1]; e++) {
			uint32_t j = adj[e];
			if (j == NOT_IN_SET || is_reached(c, j))
				continue;
			uint32_t *pair = lp_vec_push(&g->edges);
			if (!pair)
				return false;
			pair[0] = p;
			pair[1] = c->garbage_pos[j];
		}
	}
	uint32_t(*e)[2] = g->edges.data;
	size_t ne = g->edges.len, w = 0;
	if (ne)
		qsort(e, ne, sizeof(*e), cmp_edge);
	for (size_t k = 0; k < ne; k++)
		if (!w || e[k][0] != e[w - 1][0] || e[k][1] != e[w - 1][1]) {
			e[w][0] = e[k][0];
			e[w][1] = e[k][1];
			w++;
		}
	g->edges.len = w;
	return true;
}

/* Connected groups, edges taken both ways.  Post: the two ends of every
 * edge have the same root; a root is the smallest position of its group. */
static void
join_groups(struct garbage *g)
{
	const uint32_t(*e)[2] = g->edges.data;
	for (uint32_t p = 0; p < g->nu; p++)
		g->parent[p] = p;
	for (size_t k = 0; k < g->edges.len; k++) {
		uint32_t x = find_root(g->parent, e[k][0]), y = find_root(g->parent, e[k][1]);
		if (x != y)
			g->parent[x > y ? x : y] = x < y ? x : y;
	}
}

/* Cycle membership over the whole garbage graph (the edges are sorted by
 * source: CSR directly).  Post: d->in_cycle[p] for each position p. */
static bool
flag_cycles(struct lp_detect *d, struct garbage *g)
{
	uint32_t nu = g->nu;
	const uint32_t(*e)[2] = g->edges.data;
	size_t ne = g->edges.len;
	struct lp_vec adjv = LP_VEC_INIT(uint32_t);

	if (!lp_vec_reserve(&d->in_cycle, nu) || !lp_vec_reserve(&adjv, ne + 1)) {
		lp_vec_free(&adjv);
		return false;
	}
	memset(d->in_cycle.data, 0, nu);
	d->in_cycle.len = nu;
	uint32_t *adj = adjv.data;
	memset(g->adj_start, 0, (size_t)(nu + 1) * sizeof(uint32_t));
	for (size_t k = 0; k < ne; k++) {
		g->adj_start[e[k][0] + 1]++;
		adj[k] = e[k][1];
	}
	for (uint32_t p = 0; p < nu; p++)
		g->adj_start[p + 1] += g->adj_start[p];
	bool ok = mark_cycles(nu, g->adj_start, adj, d->in_cycle.data);
	lp_vec_free(&adjv);
	return ok;
}

/* Members group by group, groups in order of first appearance (a group
 * is known by its root).  Post: d->groups with count, bytes and first;
 * d->unreachable[g.first .. g.first + g.count) the object indices of
 * group g; d->in_cycle in the same order; newpos[p] where position p went.
 * adj_start is reused: root -> group index + 1. */
static bool
lay_out_groups(struct lp_detect *d, struct garbage *g, uint32_t *newpos)
{
	uint32_t nu = g->nu;
	uint32_t *group_of_root = g->adj_start;
	struct lp_vec newcyc = LP_VEC_INIT(uint8_t);

	if (!lp_vec_reserve(&d->unreachable, nu) || !lp_vec_reserve(&newcyc, nu))
		goto fail;
	memset(group_of_root, 0, (size_t)nu * sizeof(uint32_t));
	for (uint32_t p = 0; p < nu; p++) {
		uint32_t r = find_root(g->parent, p);
		if (!group_of_root[r]) {
			if (!lp_vec_push(&d->groups))
				goto fail;
			group_of_root[r] = (uint32_t)d->groups.len;
		}
		struct lp_detect_group *gr =
			&LP_VEC_AT(&d->groups, struct lp_detect_group, group_of_root[r] - 1);
		gr->count++;
		if (d->sizes)
			gr->bytes += d->sizes[g->by_pos[p]];
	}
	uint32_t next = 0;
	for (size_t k = 0; k < d->groups.len; k++) {
		struct lp_detect_group *gr = &LP_VEC_AT(&d->groups, struct lp_detect_group, k);
		gr->first = next;
		g->cursor[k] = next;
		next += gr->count;
	}
	uint32_t *out_members = d->unreachable.data;
	uint8_t *cyc = d->in_cycle.data, *nc = newcyc.data;
	for (uint32_t p = 0; p < nu; p++) {
		uint32_t gi = group_of_root[find_root(g->parent, p)] - 1;
		uint32_t at = g->cursor[gi]++;
		out_members[at] = g->by_pos[p];
		nc[at] = cyc[p];
		newpos[p] = at;
	}
	memcpy(cyc, nc, nu);
	d->unreachable.len = nu;
	lp_vec_free(&newcyc);
	return true;
fail:
	lp_vec_free(&newcyc);
	return false;
}

/* Each group's edges, with group-local indices.  Post: d->edges holds
 * group g's edges at [g.first_edge, g.first_edge + g.nedges), both ends
 * < g.count. */
static bool
record_group_edges(struct lp_detect *d, struct garbage *g, const uint32_t *newpos)
{
	const uint32_t *group_of_root = g->adj_start;
	const uint32_t(*e)[2] = g->edges.data;
	size_t ne = g->edges.len;

	for (size_t k = 0; k < d->groups.len; k++)
		LP_VEC_AT(&d->groups, struct lp_detect_group, k).nedges = 0;
	for (size_t k = 0; k < ne; k++) {
		uint32_t gi = group_of_root[find_root(g->parent, e[k][0])] - 1;
		LP_VEC_AT(&d->groups, struct lp_detect_group, gi).nedges++;
	}
	uint32_t estart = 0;
	for (size_t k = 0; k < d->groups.len; k++) {
		struct lp_detect_group *gr = &LP_VEC_AT(&d->groups, struct lp_detect_group, k);
		gr->first_edge = estart;
		g->cursor[k] = estart;
		estart += gr->nedges;
	}
	if (!lp_vec_reserve(&d->edges, ne ? ne : 1))
		return false;
	uint32_t(*oe)[2] = d->edges.data;
	for (size_t k = 0; k < ne; k++) {
		uint32_t gi = group_of_root[find_root(g->parent, e[k][0])] - 1;
		uint32_t first = LP_VEC_AT(&d->groups, struct lp_detect_group, gi).first;
		uint32_t at = g->cursor[gi]++;
		oe[at][0] = newpos[e[k][0]] - first;
		oe[at][1] = newpos[e[k][1]] - first;
	}
	d->edges.len = ne;
	return true;
}

#ifdef LP_DEBUG
/* -Ddebug_checks=true: the postconditions of group_unreachable, checked
 * against the reachability the earlier phases left. */
static void
validate_groups(const struct lp_detect *d, const struct ctx *c)
{
	uint32_t total = 0, edges = 0;
	for (size_t k = 0; k < d->groups.len; k++) {
		const struct lp_detect_group *gr =
			&LP_VEC_AT(&d->groups, struct lp_detect_group, k);
		lp_assert(gr->count > 0 && gr->first == total && gr->first_edge == edges);
		const uint32_t(*pe)[2] = d->edges.data;
		for (uint32_t x = gr->first_edge; x < gr->first_edge + gr->nedges; x++)
			lp_assert(pe[x][0] < gr->count && pe[x][1] < gr->count);
		total += gr->count;
		edges += gr->nedges;
	}
	lp_assert(total == d->unreachable.len && total == d->in_cycle.len &&
		  edges == d->edges.len);
	uint32_t unreached = 0;
	for (uint32_t i = 0; i < d->n; i++)
		unreached += !is_reached(c, i);
	lp_assert(unreached == total);
	for (size_t k = 0; k < total; k++)
		lp_assert(!is_reached(c, LP_VEC_AT(&d->unreachable, uint32_t, k)));
}
#else
static inline void
validate_groups(const struct lp_detect *d, const struct ctx *c)
{
}
#endif

/* The unreachable objects as groups: list, connect, flag cycles, lay out,
 * then each group's edges. */
static bool
group_unreachable(struct lp_detect *d, struct ctx *c)
{
	struct garbage g = { .edges = LP_VEC_INIT(uint32_t[2]), .tmp = LP_VEC_INIT(uint32_t) };
	struct lp_vec newpos = LP_VEC_INIT(uint32_t);
	bool ok = list_garbage(d, c, &g);

	if (ok && g.nu) {
		ok = collect_garbage_edges(c, &g);
		if (ok)
			join_groups(&g);
		ok = ok && flag_cycles(d, &g) && lp_vec_reserve(&newpos, g.nu) &&
		     lay_out_groups(d, &g, newpos.data) && record_group_edges(d, &g, newpos.data);
	}
	if (ok)
		validate_groups(d, c);
	lp_vec_free(&newpos);
	lp_vec_free(&g.edges);
	lp_vec_free(&g.tmp);
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
