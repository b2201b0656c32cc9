/* SPDX-License-Identifier: MIT */
/*
 * interpose_malloc.c - the malloc family entry points, and nothing else.
 *
 * Fast path: tracking is on and this thread is not inside the shim -> call
 * the real function, then record.  Everything else (bootstrap, reentrancy,
 * not yet initialised) takes the out-of-line slow path, which records
 * nothing but the program's blocks made before tracking starts (early.h).
 *
 * malloc, calloc and realloc below lp_header_limit hand out blocks with a
 * header in front (block_header.h): the real allocator gets the base, 16
 * bytes lower, on every path, tracked or not.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/report_signal.h"
#include "control/startup.h"
#include "core/base.h"
#include "core/bootstrap.h"
#include "core/guard.h"
#include "core/spinlock.h"
#include "core/state.h"
#include "record/block_header.h"
#include "record/early.h"
#include "record/record.h"
/* Allocation entries: LP_WAKE (a report worker to start) is found on
 * the slow path. */
static inline bool
tracking(void)
{
	if (lp_likely(lp_state == LP_TRACKING))
		return !lp_guarded();
	return lp_state == LP_WAKE && lp_tracking_resume();
}

/* Frees never start the worker (see lp_tracking_resume). */
static inline bool
tracking_free(void)
{
	return lp_likely(lp_tracking_on()) && !lp_guarded();
}

/* The real allocator, or the arena while it is not known (or not to be
 * used by this thread). */
static inline bool
use_real(void)
{
	return lp_resolve() && !lp_bootstrap_only;
}

/* --- slow paths --------------------------------------------------------- */

/* Before tracking starts, the program's blocks go to the early table;
 * bootstrap blocks (dlsym's, while we resolve) are not the program's. */
static inline void *
early(void *p, size_t size, void *caller)
{
	if (lp_unlikely(lp_early_open))
		lp_early_alloc(p, size, caller);
	return p;
}

static LP_COLD void *
untracked_aligned(size_t align, size_t size, void *caller)
{
	if (!use_real())
		return lp_bootstrap_alloc(size, align);
	return early(lp_real.memalign(align, size), size, caller);
}

static LP_COLD void *
untracked_malloc(size_t size, void *caller)
{
	lp_malloc_probe = 0;
	if (!use_real())
		return lp_bootstrap_alloc(size, 16);
	return early(lp_real.malloc(size), size, caller);
}

static LP_COLD void *
untracked_calloc(size_t n, size_t size, void *caller)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (!use_real())
		return lp_bootstrap_alloc(total, 16);
	return early(lp_real.calloc(n, size), total, caller);
}

/* A bootstrap block cannot be handed to the real realloc: copy it out. */
static LP_COLD void *
realloc_from_bootstrap(void *p, size_t size)
{
	if (size == 0)
		return NULL; /* like glibc: realloc(p, 0) frees p */
	void *q = malloc(size);
	if (q) {
		size_t old = lp_bootstrap_size(p);
		memcpy(q, p, old < size ? old : size);
	}
	return q;
}

static LP_COLD void *
untracked_realloc(void *p, size_t size, void *caller)
{
	if (lp_is_bootstrap(p))
		return realloc_from_bootstrap(p, size);
	if (!use_real())
		return p ? NULL : lp_bootstrap_alloc(size, 16);
	void *q = lp_real.realloc(p, size);
	if (lp_unlikely(lp_early_open))
		lp_early_realloc(p, q, size, caller);
	return q;
}

static LP_COLD void
untracked_free(void *p)
{
	/* Inside the shim (guard up) a free still leaves the table: glibc
	 * may free a program block there (a dlclosed module's TLS, freed by
	 * __tls_get_addr while we unwind).  Not from inside a shim lock (a
	 * signal handler's free): that would wait on our own lock. */
	if (lp_tracking_on() && !lp_locks_held)
		lp_record_free(p);
	else if (lp_unlikely(lp_early_open))
		lp_early_free(p); /* before tracking: no longer live */
	/* A pointer seen before the real free is known cannot be one of its
	 * blocks... unless it came from an allocator before us: resolve. */
	if (lp_resolve())
		lp_real.free(lp_header_stale_base(p));
}

/* --- headered blocks ---------------------------------------------------- */

static LP_COLD void *
malloc_side(size_t size, void *caller)
{
	void *p = lp_real.malloc(size);
	if (p)
		lp_record_alloc(p, size, caller);
	return p;
}

static inline void *
tracked_malloc(size_t size, void *caller)
{
	if (lp_unlikely(size >= lp_header_limit))
		return malloc_side(size, caller);
	char *b = lp_real.malloc(size + LP_HEADER_SIZE);
	if (lp_unlikely(b == NULL))
		return NULL;
	lp_record_alloc_headered(b + LP_HEADER_SIZE, size, caller);
	return b + LP_HEADER_SIZE;
}

static size_t
headered_usable(void *p)
{
	if (lp_likely(lp_real.malloc_usable_size != NULL))
		return lp_real.malloc_usable_size(lp_header_base(p)) - LP_HEADER_SIZE;
	struct lp_block b; /* an allocator without it: what was asked for */
	return lp_record_lookup((uintptr_t)p, &b) ? (size_t)b.size : 0;
}

/* Into a block of another kind (headerless, or the side table): copy and
 * free, as a moving realloc would. */
static void *
realloc_by_copy(void *p, size_t size, void *q)
{
	if (q) {
		size_t old = headered_usable(p);
		memcpy(q, p, old < size ? old : size);
		free(p);
	}
	return q;
}

static LP_COLD void *
realloc_headered_slow(void *p, size_t size, void *caller)
{
	if (size == 0) {
		free(p); /* like glibc: realloc(p, 0) frees p */
		return NULL;
	}
	if (!tracking())
		return realloc_by_copy(p, size, lp_real.malloc(size));
	/* A large block lives headerless, in the side table.  The old
	 * record goes first, as in any realloc: the peak never counts both
	 * blocks. */
	size_t old = headered_usable(p);
	return lp_record_realloc_headered_to_side(p, size, old < size ? old : size,
						  caller);
}

static inline void *
realloc_headered(void *p, size_t size, void *caller)
{
	if (lp_unlikely(!tracking() || size >= lp_header_limit || size == 0))
		return realloc_headered_slow(p, size, caller);
	return lp_record_realloc_headered(p, size, caller);
}

/* --- entry points ------------------------------------------------------- */

LP_EXPORT void *
malloc(size_t size)
{
	if (!tracking())
		return untracked_malloc(size, __builtin_return_address(0));
	return tracked_malloc(size, __builtin_return_address(0));
}

LP_EXPORT void
free(void *p)
{
	if (lp_unlikely(p == NULL || lp_is_bootstrap(p)))
		return;
	if (lp_likely(lp_has_header(p))) {
		if (lp_likely(tracking_free()))
			lp_record_free_headered(p);
		else if (!lp_record_free_headered_slow(p))
			return;
		lp_real.free(lp_header_base(p));
		return;
	}
	if (!tracking_free())
		return untracked_free(p);
	/* Before the real free: the address may be reused at once. */
	lp_record_free(p);
	lp_real.free(lp_header_stale_base(p));
}

LP_EXPORT void *
calloc(size_t n, size_t size)
{
	size_t total;
	if (!tracking())
		return untracked_calloc(n, size, __builtin_return_address(0));
	if (lp_unlikely(__builtin_mul_overflow(n, size, &total))) {
		errno = ENOMEM;
		return NULL;
	}
	void *caller = __builtin_return_address(0);
	if (lp_unlikely(total >= lp_header_limit)) {
		void *p = lp_real.calloc(n, size);
		if (p)
			lp_record_alloc(p, total, caller);
		return p;
	}
	char *b = lp_real.calloc(1, total + LP_HEADER_SIZE);
	if (lp_unlikely(b == NULL))
		return NULL;
	lp_record_alloc_headered(b + LP_HEADER_SIZE, total, caller);
	return b + LP_HEADER_SIZE;
}

LP_EXPORT void *
realloc(void *p, size_t size)
{
	void *caller = __builtin_return_address(0);
	if (p && !lp_is_bootstrap(p) && lp_has_header(p))
		return realloc_headered(p, size, caller);
	if (!tracking() || lp_is_bootstrap(p))
		return untracked_realloc(p, size, caller);
	if (!p)
		return tracked_malloc(size, caller);
	return lp_record_realloc(p, size, caller);
}

LP_EXPORT void *
reallocarray(void *p, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, total);
}

LP_EXPORT int
posix_memalign(void **out, size_t align, size_t size)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	if (!tracking()) {
		if (!lp_resolve()) {
			void *p = lp_bootstrap_alloc(size, align);
			if (!p)
				return ENOMEM;
			*out = p;
			return 0;
		}
		int rc = lp_real.posix_memalign(out, align, size);
		if (rc == 0)
			early(*out, size, __builtin_return_address(0));
		return rc;
	}
	int rc = lp_real.posix_memalign(out, align, size);
	if (rc == 0)
		lp_record_alloc(*out, size, __builtin_return_address(0));
	return rc;
}

LP_EXPORT void *
aligned_alloc(size_t align, size_t size)
{
	if (!tracking())
		return lp_resolve() ? early(lp_real.aligned_alloc(align, size), size,
					    __builtin_return_address(0))
				    : lp_bootstrap_alloc(size, align);
	void *p = lp_real.aligned_alloc(align, size);
	if (p)
		lp_record_alloc(p, size, __builtin_return_address(0));
	return p;
}

LP_EXPORT void *
memalign(size_t align, size_t size)
{
	if (!tracking())
		return untracked_aligned(align, size, __builtin_return_address(0));
	void *p = lp_real.memalign(align, size);
	if (p)
		lp_record_alloc(p, size, __builtin_return_address(0));
	return p;
}

LP_EXPORT void *
valloc(size_t size)
{
	if (!tracking())
		return lp_resolve() ? early(lp_real.valloc(size), size,
					    __builtin_return_address(0))
				    : lp_bootstrap_alloc(size, 4096);
	void *p = lp_real.valloc(size);
	if (p)
		lp_record_alloc(p, size, __builtin_return_address(0));
	return p;
}

/* pvalloc allocates whole pages: that is the block's size. */
static size_t
whole_pages(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	return size ? (size + page - 1) & ~(page - 1) : page;
}

LP_EXPORT void *
pvalloc(size_t size)
{
	if (!tracking())
		return lp_resolve() ? early(lp_real.pvalloc(size), whole_pages(size),
					    __builtin_return_address(0))
				    : lp_bootstrap_alloc(size, 4096);
	void *p = lp_real.pvalloc(size);
	if (p)
		lp_record_alloc(p, whole_pages(size), __builtin_return_address(0));
	return p;
}

LP_EXPORT size_t
malloc_usable_size(void *p)
{
	if (p && lp_is_bootstrap(p))
		return lp_bootstrap_size(p);
	if (p && lp_has_header(p))
		return headered_usable(p);
	if (!lp_resolve() || !lp_real.malloc_usable_size)
		return 0;
	return lp_real.malloc_usable_size(p);
}

/* Other names for free: each must strip the header too. */
LP_EXPORT void
cfree(void *p)
{
	free(p);
}

LP_EXPORT void
free_sized(void *p, size_t size)
{
	(void)size;
	free(p);
}

LP_EXPORT void
free_aligned_sized(void *p, size_t align, size_t size)
{
	(void)align;
	(void)size;
	free(p);
}
