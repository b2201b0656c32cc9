/* SPDX-License-Identifier: MIT */
/*
 * stack_bounds.c - see stack_bounds.h.
 *
 * The walk follows the stack the code runs on.  This thread's own stack
 * is learnt once (pthread_getattr_np, or the main thread's mapping, which
 * may grow).  A stack pointer outside it (a coroutine's stack from
 * makecontext or boost.context, a sigaltstack) is looked up in
 * /proc/self/maps (PROCMAP_QUERY where the kernel has it, else the text,
 * read with read(2) into a buffer on the stack), and the read-write
 * mapping holding it is kept in a small per-thread cache: the walk is
 * bounded by that mapping (for a stack from malloc, the heap's).  A
 * thread switching between more stacks than it caches looks at most one
 * up every LEARN_EVERY walks (after the first LEARN_FREE lookups); the
 * other walks give up.
 *
 * A cached mapping is the one /proc/self/maps showed when it was learnt;
 * it is learnt again when a stack pointer falls outside every cached one.
 * A mapping that shrinks after it was learnt leaves a bound above its new
 * end: loads up there need a walk that leaves the running stack's own
 * frames (its outermost frame not ending the chain), which makecontext's
 * stacks (ended at __start_context), a null return address and thread
 * stacks never do.
 *
 * The rest of the unwinder: fast_unwind.c (the walk, its rule cache and
 * memo), cfi.c (rules from .eh_frame).
 */
#ifndef _GNU_SOURCE /* the build passes it */
#define _GNU_SOURCE
#endif
#include "unwind/stack_bounds.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/mapping_at.h"
#include "core/syscall.h"
#include "unwind/fast_unwind.h"

/* A thread that keeps switching between more stacks than it caches would
 * read /proc/self/maps at every switch: after LEARN_FREE lookups, one per
 * LEARN_EVERY walks off its own stack; the others give up. */
#define LEARN_FREE 64
#define LEARN_EVERY 64

extern void *__libc_stack_end;

void
lp_fast_unwind_read_maps_as_text(void)
{
	lp_mapping_at_use_text();
}

/* Learn the bounds of this thread's stack.  Postcondition: lo == hi
 * when nothing could be learnt. */
static void
learn_stack(struct lp_stack_bounds *ts)
{
	ts->lo = ts->hi = ts->floor = 0;
	if (gettid() == getpid()) {
		/* The main thread: the mapping holding the initial stack
		 * pointer; it may grow down to the rlimit (capped). */
		struct lp_mapping m;
		struct rlimit rl;
		if (!lp_mapping_at((uintptr_t)__libc_stack_end, &m))
			return;
		uint64_t room = UINT64_C(1) << 30;
		if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur < room)
			room = rl.rlim_cur;
		ts->lo = m.lo;
		ts->hi = m.hi;
		ts->floor = m.hi - m.lo > room ? m.lo : m.hi - room;
		return;
	}
	/* Any other thread: its whole stack block is mapped.  This
	 * allocates (the caller's guard keeps it out of the trace), once
	 * per thread. */
	pthread_attr_t attr;
	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return;
	void *addr;
	size_t size;
	if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
		ts->lo = ts->floor = (uintptr_t)addr;
		ts->hi = (uintptr_t)addr + size;
	}
	pthread_attr_destroy(&attr);
}

/* Remember m, a stack other than the thread's.  Postcondition: no other
 * entry overlaps it (one that does describes a mapping since replaced). */
static void
remember_other_stack(struct lp_stack_bounds *ts, const struct lp_mapping *m)
{
	for (int i = 0; i < LP_OTHER_STACKS; i++)
		if (ts->other[i].lo < m->hi && m->lo < ts->other[i].hi)
			ts->other[i] = (struct lp_stack_mapping){ 0, 0 };
	ts->other[ts->other_next++ % LP_OTHER_STACKS] =
		(struct lp_stack_mapping){ m->lo, m->hi };
}

/* The slow part of lp_stack_bounds_locate: learn the thread's stack,
 * follow the main stack's growth, or look sp's mapping up. */
static uintptr_t
learn_bounds(struct lp_stack_bounds *ts, uintptr_t sp)
{
	int saved_errno = errno, cancel_state;
	uintptr_t top = 0;
	struct lp_mapping m;

	/* open and read are cancellation points: not inside malloc. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	if (!ts->stack_known) {
		learn_stack(ts);
		ts->stack_known = true;
	}
	if (sp < ts->lo && sp >= ts->floor && lp_mapping_at((uintptr_t)__libc_stack_end, &m) &&
	    m.hi == ts->hi && m.lo < ts->lo)
		ts->lo = m.lo;
	if (sp >= ts->lo && sp < ts->hi) {
		top = ts->hi;
	} else if (ts->lookups < LEARN_FREE + ts->other_walks / LEARN_EVERY) {
		ts->lookups++;
		if (lp_mapping_at(sp, &m) && m.rw) {
			remember_other_stack(ts, &m);
			top = m.hi;
		}
	}
	pthread_setcancelstate(cancel_state, NULL);
	errno = saved_errno;
	return top;
}

uintptr_t
lp_stack_bounds_locate(struct lp_stack_bounds *ts, uintptr_t sp)
{
	ts->other_walks++;
	for (int i = 0; i < LP_OTHER_STACKS; i++)
		if (sp >= ts->other[i].lo && sp < ts->other[i].hi)
			return ts->other[i].hi;
	return learn_bounds(ts, sp);
}
