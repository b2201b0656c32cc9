/* SPDX-License-Identifier: MIT */
/* registry.c - see registry.h: records made, tracked, untracked and deleted
 * as the interposed API reports them.  Called with the guard held. */
#include "objects/registry.h"

#include "core/clock.h"
#include "core/options.h"
#include "detect/pyabi.h"
#include "objects/generations.h"
#include "record/heap_table.h"
#include "record/record.h"
#include "record/stackdepot.h"
#include "unwind/unwind.h"

lp_spinlock lp_registry_lock;
struct lp_vec lp_registry_records = LP_VEC_INIT(struct lp_obj);
struct lp_addrmap lp_registry_index;
uint64_t lp_registry_live;
static uint32_t free_head; /* freed records, linked through next */
static bool in_use;        /* a record was ever made: read unlocked */

void
lp_objects_lock(void)
{
	lp_spin_lock(&lp_registry_lock);
}

void
lp_objects_unlock(void)
{
	lp_spin_unlock(&lp_registry_lock);
}

bool
lp_objects_in_use(void)
{
	return __atomic_load_n(&in_use, __ATOMIC_RELAXED);
}

static uint32_t
capture_stack(void)
{
	void *ips[LP_MAX_DEPTH + LP_UNWIND_SLACK];
	unsigned first = 0;
	unsigned depth = lp_opt.depth ? lp_unwind_capture(ips, (unsigned)lp_opt.depth, &first) : 0;
	return lp_stackdepot_put(ips + first, depth);
}

/* The record for obj, created if needed (stack from the native block that
 * holds the object when we did not see it created). */
static uint32_t
record_for_locked(uintptr_t obj, bool create)
{
	struct lp_addrmap_slot *s = lp_addrmap_find(&lp_registry_index, obj);
	if (s)
		return s->value;
	if (!create)
		return 0;
	uint32_t i;
	if (free_head) {
		i = free_head;
		free_head = lp_registry_at(i)->next;
	} else {
		if (!lp_registry_records.len && !lp_vec_push(&lp_registry_records))
			return 0;
		if (!lp_vec_push(&lp_registry_records))
			return 0;
		i = (uint32_t)lp_registry_records.len - 1;
	}
	if (!lp_addrmap_put(&lp_registry_index, obj, i)) {
		lp_registry_at(i)->next = free_head;
		free_head = i;
		return 0;
	}
	struct lp_obj *o = lp_registry_at(i);
	memset(o, 0, sizeof(*o));
	o->addr = obj;
	o->gen = LP_GEN_UNTRACKED;
	lp_registry_live++;
	__atomic_store_n(&in_use, true, __ATOMIC_RELAXED);
	return i;
}

static void
fill_type_locked(struct lp_obj *o, uintptr_t type, uint64_t size)
{
	o->type = type;
	o->size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
	if (lp_py_is_gc_type(type))
		o->flags |= LP_OBJ_GC;
}

void
lp_objects_created(uintptr_t obj, uintptr_t type, uint64_t size)
{
	uint32_t stack = capture_stack();
	uint64_t now = lp_now_ns();

	lp_spin_lock(&lp_registry_lock);
	uint32_t i = record_for_locked(obj, true);
	if (i) {
		struct lp_obj *o = lp_registry_at(i);
		fill_type_locked(o, type, size);
		o->stack = stack;
		o->birth_ns = now;
		if (o->flags & LP_OBJ_GC)
			lp_generations.count[0]++;
	}
	lp_spin_unlock(&lp_registry_lock);
}

void
lp_objects_tracked(uintptr_t obj)
{
	struct lp_block b = { 0 };
	bool fresh;

	lp_spin_lock(&lp_registry_lock);
	fresh = !lp_addrmap_find(&lp_registry_index, obj);
	lp_spin_unlock(&lp_registry_lock);
	/* Not seen created (a free list, an inline allocation): the native
	 * block holding the object tells where it was allocated. */
	if (fresh)
		lp_record_lookup(obj - LP_PY_GC_HEAD_SIZE, &b);

	lp_spin_lock(&lp_registry_lock);
	uint32_t i = record_for_locked(obj, true);
	if (i) {
		struct lp_obj *o = lp_registry_at(i);
		if (!o->type) {
			uintptr_t type = lp_py_type(obj);
			fill_type_locked(o, type, type ? (uint64_t)lp_py_type_basicsize(type) : 0);
			o->stack = b.stack;
			o->birth_ns = b.ptr ? lp_now_ns() : 0;
		}
		o->flags |= LP_OBJ_GC;
		if (o->gen == LP_GEN_UNTRACKED)
			lp_generation_append_locked(i, 0);
	}
	lp_spin_unlock(&lp_registry_lock);
}

void
lp_objects_untracked(uintptr_t obj)
{
	lp_spin_lock(&lp_registry_lock);
	uint32_t i = record_for_locked(obj, false);
	if (i)
		lp_generation_unlink_locked(i);
	lp_spin_unlock(&lp_registry_lock);
}

void
lp_objects_deleted(uintptr_t obj, bool gc_del)
{
	lp_spin_lock(&lp_registry_lock);
	uint32_t i = record_for_locked(obj, false);
	if (i) {
		lp_generation_unlink_locked(i);
		lp_addrmap_remove(&lp_registry_index, obj);
		lp_registry_at(i)->addr = 0;
		lp_registry_at(i)->next = free_head;
		free_head = i;
		lp_registry_live--;
	}
	/* CPython: PyObject_GC_Del lowers count0 (never below 0). */
	if (gc_del && lp_generations.count[0] > 0)
		lp_generations.count[0]--;
	lp_spin_unlock(&lp_registry_lock);
}
