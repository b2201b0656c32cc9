/* SPDX-License-Identifier: MIT */
/* record.c - see record.h. */
#include "record.h"

#include <errno.h>

#include "guard.h"
#include "heap_table.h"
#include "options.h"
#include "stackdepot.h"
#include "unwind.h"

struct lp_record_stats lp_record_stats;

LP_NOINLINE void
lp_record_alloc(void *p, size_t size, void *caller)
{
	void *ips[LP_MAX_DEPTH + LP_UNWIND_SLACK];
	int saved = errno;
	unsigned depth = 0;

	lp_guard_enter();
	if (lp_opt.depth) {
		depth = lp_unwind_capture(ips, (unsigned)lp_opt.depth);
		if (!depth) {
			/* No unwinder got through (a signal frame, code
			 * without CFI): the allocating call alone is still a
			 * correct stack. */
			ips[0] = caller;
			depth = 1;
		}
	}
	lp_heap_insert((uintptr_t)p, size, lp_depot_put(ips, depth));
	lp_guard_leave();
	errno = saved;
}

LP_NOINLINE void
lp_record_free(void *p)
{
	/* The shim's own frees (guard already up) are of blocks it never
	 * recorded: not the program's business. */
	bool programs = !lp_guarded();
	lp_guard_enter();
	if (!lp_heap_remove((uintptr_t)p, NULL) && programs)
		__atomic_fetch_add(&lp_record_stats.untracked_frees, 1,
				   __ATOMIC_RELAXED);
	lp_guard_leave();
}

LP_NOINLINE void *
lp_record_realloc(void *p, size_t size, void *caller)
{
	struct lp_block old;
	bool had = false;

	if (p) {
		lp_guard_enter();
		had = lp_heap_remove((uintptr_t)p, &old);
		lp_guard_leave();
	}
	void *q = lp_real.realloc(p, size);
	if (q) {
		lp_record_alloc(q, size, caller);
	} else if (had && size != 0) {
		/* A failed realloc leaves the old block alive.  (size 0:
		 * glibc freed it and returned NULL.) */
		int saved = errno;
		lp_guard_enter();
		lp_heap_restore(&old);
		lp_guard_leave();
		errno = saved;
	}
	return q;
}
