/* SPDX-License-Identifier: MIT */
/* record.c - see record.h. */
#include "record/record.h"

#include <errno.h>
#include <string.h>

#include "core/bootstrap.h"
#include "core/guard.h"
#include "core/options.h"
#include "core/state.h"
#include "core/thread_exit.h"
#include "record/alloc_log.h"
#include "record/block_header.h"
#include "record/heap_table.h"
#include "record/stackdepot.h"
#include "unwind/unwind.h"
struct lp_record_stats lp_record_stats;
size_t lp_header_limit;

/* The allocating thread's stack, interned.  Guard up. */
static inline uint32_t
capture(void *caller)
{
	void *ips[LP_MAX_DEPTH + LP_UNWIND_SLACK];
	unsigned depth = 0, first = 0;

	if (lp_opt.depth) {
		depth = lp_unwind_capture(ips, (unsigned)lp_opt.depth, &first);
		if (!depth) {
			/* No unwinder got through (a signal frame, code
			 * without CFI): the allocating call alone is still a
			 * correct stack. */
			ips[0] = caller;
			depth = 1;
			first = 0;
		}
	}
	return lp_stackdepot_put(ips + first, depth);
}

LP_NOINLINE void
lp_record_alloc(void *p, size_t size, void *caller)
{
	int saved = errno;

	lp_guard_enter();
	lp_heap_insert((uintptr_t)p, size, capture(caller));
	lp_guard_leave();
	errno = saved;
}

/* A headered block into the log; into the side table (its header saying
 * so) when no log can be had. */
static inline __attribute__((always_inline)) void
add_headered(void *p, uint32_t size, uint32_t stack)
{
	if (lp_unlikely(!lp_alloc_log_add(p, size, stack))) {
		lp_header_write(p, LP_HEADER_NO_LOG, 0);
		lp_heap_insert((uintptr_t)p, size, stack);
	}
}

LP_NOINLINE void
lp_record_alloc_headered(void *p, size_t size, void *caller)
{
	int saved = errno;

	lp_guard_enter();
	add_headered(p, (uint32_t)size, capture(caller));
	lp_guard_leave();
	if (lp_unlikely(lp_alloc_log_deferred != NULL))
		lp_alloc_log_free_deferred();
	errno = saved;
}

LP_NOINLINE void
lp_record_free(void *p)
{
	/* The shim's own frees (guard already up) are of blocks it never
	 * recorded: not the program's business. */
	bool programs = !lp_guarded();
	lp_guard_enter();
	if (!lp_heap_remove((uintptr_t)p, NULL) && programs) {
		if (lp_thread_exit_entry_next) /* glibc's entry for our exit hook */
			lp_thread_exit_entry_next = false;
		else
			__atomic_fetch_add(&lp_record_stats.untracked_frees, 1,
					   __ATOMIC_RELAXED);
	}
	lp_guard_leave();
}

/* Guard up. */
static inline __attribute__((always_inline)) bool
forget_headered(void *p, struct lp_block *old)
{
	if (lp_header_of(p)->log == LP_HEADER_NO_LOG)
		return lp_heap_remove((uintptr_t)p, old);
	struct lp_alloc_log_entry e;
	if (!lp_alloc_log_forget(p, &e))
		return false;
	if (old)
		*old = (struct lp_block){ e.ptr, e.size, e.stack, 0 };
	return true;
}

LP_NOINLINE void
lp_record_free_headered(void *p)
{
	lp_guard_enter();
	forget_headered(p, NULL);
	lp_guard_leave();
	lp_header_clear(p);
}

LP_NOINLINE bool
lp_record_free_headered_slow(void *p)
{
	if (lp_tracking_on()) {
		/* This thread is inside the shim (a signal handler's free,
		 * or glibc's while we unwind): its log may be half-way
		 * through a change.  The block stays allocated until the
		 * thread next leaves the shim. */
		lp_alloc_log_defer(p);
		return false;
	}
	lp_header_clear(p); /* not tracking: nothing to forget */
	return true;
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

LP_NOINLINE void *
lp_record_realloc_headered(void *p, size_t size, void *caller)
{
	struct lp_block old;

	lp_guard_enter();
	bool had = forget_headered(p, &old);
	lp_guard_leave();
	lp_header_clear(p);
	char *b = lp_real.realloc(lp_header_base(p), size + LP_HEADER_SIZE);
	if (lp_unlikely(!b)) {
		/* The old block lives on, with its old record. */
		int saved = errno;
		lp_guard_enter();
		if (had) {
			add_headered(p, (uint32_t)old.size, old.stack);
			/* Neither an allocation nor a free after all. */
			__atomic_fetch_add(&lp_record_stats.restored, 1, __ATOMIC_RELAXED);
		} else
			lp_header_write(p, LP_HEADER_NO_LOG, 0);
		lp_guard_leave();
		errno = saved;
		return NULL;
	}
	void *q = b + LP_HEADER_SIZE;
	lp_record_alloc_headered(q, size, caller);
	return q;
}

LP_NOINLINE void *
lp_record_realloc_headered_to_side(void *p, size_t size, size_t copy, void *caller)
{
	struct lp_block old;

	lp_guard_enter();
	bool had = forget_headered(p, &old);
	lp_guard_leave();
	void *q = lp_real.malloc(size);
	if (lp_unlikely(!q)) {
		int saved = errno;
		lp_guard_enter();
		if (had) {
			add_headered(p, (uint32_t)old.size, old.stack);
			__atomic_fetch_add(&lp_record_stats.restored, 1, __ATOMIC_RELAXED);
		}
		lp_guard_leave();
		errno = saved;
		return NULL;
	}
	memcpy(q, p, copy);
	lp_header_clear(p);
	lp_real.free(lp_header_base(p));
	lp_record_alloc(q, size, caller);
	return q;
}

bool
lp_record_lookup(uintptr_t ptr, struct lp_block *out)
{
	if (ptr && lp_has_header((void *)ptr) &&
	    lp_header_of((void *)ptr)->log != LP_HEADER_NO_LOG) {
		struct lp_alloc_log_entry e;
		if (!lp_alloc_log_lookup((void *)ptr, &e))
			return false;
		*out = (struct lp_block){ e.ptr, e.size, e.stack, 0 };
		return true;
	}
	return lp_heap_lookup(ptr, out);
}
