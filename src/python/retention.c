/* SPDX-License-Identifier: MIT */
/*
 * retention.c - which Python object owns a lingering large native
 * block, and the chain of references from a module that keeps it alive.
 *
 * An object is examined for the blocks it holds: its own block, the
 * separately allocated arrays of exact lists, dicts and sets, and (through
 * tp_traverse) the non-container objects it holds: bytes, str and int are
 * their own block, a bytearray's buffer is ob_bytes.
 *
 * search_from_modules: a breadth-first search from every module at once
 *   over the tp_traverse edges between tracked objects, examining each
 *   object as it is reached.  The first holder found for a block is one
 *   nearest to a module, and the search's parent links are its chain.  It
 *   stops as soon as every large block has an owner: in a service that
 *   keeps its big buffers a few references from a module, after a small
 *   part of the heap.
 * examine_the_rest: blocks still without an owner are looked for among the
 *   objects no module reaches: an owner held only by garbage has no chain
 *   (its unreachable group is named instead), nor one held from C code or
 *   a frame.
 * Offsets read (stable 3.8-3.13): list ob_item @24, dict ma_keys @32 and
 * ma_values @40, set table @40, bytearray ob_bytes @32.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/addrmap.h"
#include "core/bootstrap.h"
#include "detect/pyabi.h"
#include "python/capi.h"
#include "python/cpython.h"
#include "python/section.h"

struct finder {
	struct lp_py_section *s;
	uintptr_t via;            /* untracked container being examined */
	int depth;
	struct lp_addrmap large;  /* block address -> index in the large blocks */
	struct lp_py_owner *owners;
	uint32_t current;         /* objs index of the object traversed */
	size_t remaining;
	uint32_t *parent;         /* search: objs index -> who reached it */
	struct lp_vec queue;      /* search: uint32_t objs indices */
	bool searching;
};

#define UNSEEN UINT32_MAX

static void
claim(struct finder *f, uintptr_t block, uintptr_t owner)
{
	struct lp_addrmap_slot *sl = block ? lp_addrmap_find(&f->large, block) : NULL;
	if (!sl || f->owners[sl->value].owner)
		return;
	f->owners[sl->value].owner = owner;
	f->owners[sl->value].holder = f->current;
	f->owners[sl->value].via = owner == f->via ? 0 : f->via;
	f->remaining--;
}

static uintptr_t
field(uintptr_t obj, unsigned off)
{
	return *(const uintptr_t *)(obj + off);
}

static void examine(struct finder *f, uintptr_t o);

static int
visit_owned(void *obj, void *arg)
{
	struct finder *f = arg;
	uintptr_t o = (uintptr_t)obj, t;
	if (!f->remaining)
		return 1; /* every block owned: stop this traversal */
	if (!o)
		return 0;
	t = lp_py_type(o);
	if (lp_py_is_gc_type(t)) {
		if (f->searching && f->depth == 0) {
			int64_t i = lp_detect_index_of(&f->s->det, o);
			if (i >= 0 && f->parent[i] == UNSEEN) {
				uint32_t *slot = lp_vec_push(&f->queue);
				if (slot) {
					f->parent[i] = f->current;
					*slot = (uint32_t)i;
				}
			}
		}
		/* Tracked containers are examined on their own.  CPython
		 * untracks exact dicts and tuples that hold only atomic
		 * values: those are examined from here.  No other untracked
		 * object is ever traversed (a static type's tp_traverse
		 * aborts: CPython only traverses what it tracks). */
		if (f->depth == 0 && !lp_py_gc_tracked(o) &&
		    (t == (uintptr_t)lp_py.Dict_Type || t == (uintptr_t)lp_py.Tuple_Type)) {
			f->depth++;
			f->via = o;
			examine(f, o);
			f->via = 0;
			f->depth--;
		}
		return 0;
	}
	if (t == (uintptr_t)lp_py.ByteArray_Type)
		claim(f, field(o, 32), o);
	else
		claim(f, o, o); /* bytes, str, int...: the object is the block */
	return 0;
}

static void
examine(struct finder *f, uintptr_t o)
{
	uintptr_t t = lp_py_type(o);
	unsigned long flags = lp_py_type_flags(t);
	if (!f->remaining)
		return;
	claim(f, o - LP_PY_GC_HEAD_SIZE, o);
	if (lp_cpython_minor() >= 11 && (flags & ((1ul << 4) | (1ul << 3))))
		claim(f, o - LP_PY_GC_HEAD_SIZE - 16, o);
	if (t == (uintptr_t)lp_py.List_Type)
		claim(f, field(o, 24), o);
	else if (t == (uintptr_t)lp_py.Dict_Type) {
		claim(f, field(o, 32), o);
		claim(f, field(o, 40), o);
	} else if (t == (uintptr_t)lp_py.Set_Type)
		claim(f, field(o, 40), o);
	lp_traverseproc tp = lp_py_type_traverse(t);
	if (tp)
		tp((void *)o, visit_owned, f);
}

/* The chain of parent links from a module down to holder, root first. */
static void
chain_of(const uint32_t *parent, uint32_t holder, struct lp_vec *path)
{
	size_t n = 0;
	for (uint32_t v = holder;; v = parent[v]) {
		n++;
		if (parent[v] == v)
			break;
	}
	if (!lp_vec_reserve(path, n))
		return;
	path->len = n;
	uint32_t v = holder;
	for (size_t k = n; k-- > 0; v = parent[v])
		LP_VEC_AT(path, uint32_t, k) = v;
}

/* After this, every block an object reachable from a module holds has its
 * owner, holder and chain, or the search stopped with every block owned. */
static void
search_from_modules(struct finder *f)
{
	const uintptr_t *objs = f->s->objs.data;
	uint32_t n = (uint32_t)f->s->objs.len;

	const struct lp_vec *mods = &f->s->modules;
	bool noted = !f->s->modules_incomplete;
	for (uint32_t k = 0; k < (noted ? (uint32_t)mods->len : n); k++) {
		uint32_t i = noted ? LP_VEC_AT(mods, uint32_t, k) : k;
		if (!noted && lp_py_type(objs[i]) != (uintptr_t)lp_py.Module_Type)
			continue;
		uint32_t *slot = lp_vec_push(&f->queue);
		if (!slot)
			return;
		f->parent[i] = i;
		*slot = i;
	}
	f->searching = true;
	for (size_t q = 0; q < f->queue.len && f->remaining; q++) {
		f->current = LP_VEC_AT(&f->queue, uint32_t, q);
		examine(f, objs[f->current]);
	}
	f->searching = false;
}

static int32_t
group_of(struct lp_py_section *s, uint32_t idx)
{
	for (size_t gi = 0; gi < s->det.groups.len; gi++) {
		const struct lp_detect_group *g = &LP_VEC_AT(&s->det.groups, struct lp_detect_group, gi);
		for (uint32_t k = 0; k < g->count; k++)
			if (LP_VEC_AT(&s->det.unreachable, uint32_t, g->first + k) == idx)
				return (int32_t)gi;
	}
	return -1;
}

/* Blocks still without an owner, among the objects no module reaches.
 * Post: every block held by a tracked object has an owner; those found
 * here have no chain, and name the unreachable group of their holder
 * when it is garbage (else it is held from C code or a frame). */
static void
examine_the_rest(struct finder *f)
{
	struct lp_py_section *s = f->s;
	uint32_t n = (uint32_t)s->objs.len;

	for (uint32_t i = 0; i < n && f->remaining; i++) {
		if (f->parent[i] != UNSEEN)
			continue;
		f->current = i;
		examine(f, LP_VEC_AT(&s->objs, uintptr_t, i));
	}
	for (size_t i = 0; i < s->nowners; i++) {
		struct lp_py_owner *ow = &f->owners[i];
		if (ow->owner && !ow->path.len)
			ow->group = group_of(s, ow->holder);
	}
}

void
lp_cpython_find_owners(struct lp_py_section *s, const struct lp_block *large, size_t nlarge)
{
	struct finder f = { .s = s, .queue = LP_VEC_INIT(uint32_t) };
	struct lp_vec parent_v = LP_VEC_INIT(uint32_t);
	uint32_t n = (uint32_t)s->objs.len;

	f.owners = lp_real.calloc(nlarge, sizeof(*f.owners));
	if (!f.owners || !lp_addrmap_reserve(&f.large, (uint32_t)nlarge) ||
	    !lp_vec_reserve(&parent_v, (size_t)n + 1)) {
		lp_real.free(f.owners);
		lp_addrmap_free(&f.large);
		return;
	}
	s->owners = f.owners;
	s->nowners = nlarge;
	for (size_t i = 0; i < nlarge; i++) {
		lp_addrmap_put(&f.large, large[i].ptr, (uint32_t)i);
		f.owners[i].path = (struct lp_vec)LP_VEC_INIT(uint32_t);
		f.owners[i].group = -1;
	}
	f.remaining = nlarge;
	f.parent = parent_v.data;
	memset(f.parent, 0xff, (size_t)n * sizeof(uint32_t));

	search_from_modules(&f);
	for (size_t i = 0; i < nlarge; i++)
		if (f.owners[i].owner)
			chain_of(f.parent, f.owners[i].holder, &f.owners[i].path);

	examine_the_rest(&f);
	lp_addrmap_free(&f.large);
	lp_vec_free(&parent_v);
	lp_vec_free(&f.queue);
}

void
lp_cpython_free_owners(struct lp_py_section *s)
{
	if (!s->owners)
		return;
	for (size_t i = 0; i < s->nowners; i++)
		lp_vec_free(&s->owners[i].path);
	lp_real.free(s->owners);
	s->owners = NULL;
}
