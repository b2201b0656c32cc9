/* SPDX-License-Identifier: MIT */
/*
 * stack_bounds.h - the stacks one thread's walks run on, and where each
 * ends: the bound every stack load of the walk (fast_unwind.c) stays
 * under.
 *
 * The thread's own stack is learnt once; a stack pointer outside it (a
 * coroutine's stack, a sigaltstack) is looked up in /proc/self/maps and
 * the read-write mapping holding it is kept.  The walk compares sp with
 * the thread's own [lo, hi) inline and calls lp_stack_bounds_locate only
 * when sp lies outside it.  Private to the cached unwinder.
 */
#pragma once

#include "core/base.h"

/* A read-write mapping that held a stack pointer outside the thread's
 * own stack: [lo, hi); lo == hi when unused. */
struct lp_stack_mapping {
	uintptr_t lo, hi;
};

#define LP_OTHER_STACKS 16

/* One thread's stacks: its own, [lo, hi) mapped (the main thread's stack
 * grows: below lo, down to floor, it may have grown since we looked);
 * the other stacks it ran on (filled in turn).  All zero: nothing known
 * yet (a thread's first walk locates its stack). */
struct lp_stack_bounds {
	uintptr_t lo, hi, floor;
	bool stack_known;
	unsigned other_next;
	uint64_t other_walks, lookups; /* walks off its own stack, mappings looked up */
	struct lp_stack_mapping other[LP_OTHER_STACKS];
};

/* sp lies outside the thread's own stack as known in b: learn it, follow
 * the main stack's growth, or find the other stack sp is on.  Returns the
 * top of the read-write mapping holding sp, 0 if there is none or it
 * cannot be known now.  b belongs to the calling thread, which keeps its
 * own signal handlers from calling this while b is being rewritten. */
uintptr_t lp_stack_bounds_locate(struct lp_stack_bounds *b, uintptr_t sp) LP_HIDDEN;
