/* SPDX-License-Identifier: MIT */
/*
 * interpose_malloc.c - the malloc family entry points, and nothing else.
 *
 * Fast path: tracking is on and this thread is not inside the shim -> call
 * the real function, then record.  Everything else (bootstrap, reentrancy,
 * not yet initialised) takes the out-of-line slow path, which never
 * records.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootstrap.h"
#include "guard.h"
#include "lp.h"
#include "record.h"
#include "spinlock.h"

/* Set by control.c around a call through the process's own binding of
 * malloc: cleared here if that binding is ours. */
__thread int lp_malloc_probe __attribute__((tls_model("initial-exec")));

static inline bool
tracking(void)
{
	return lp_likely(lp_state == LP_TRACKING) && !lp_guarded();
}

/* --- slow paths --------------------------------------------------------- */

static LP_COLD void *
untracked_aligned(size_t align, size_t size)
{
	if (!lp_resolve())
		return lp_bootstrap_alloc(size, align);
	return lp_real.memalign(align, size);
}

static LP_COLD void *
untracked_malloc(size_t size)
{
	lp_malloc_probe = 0;
	if (!lp_resolve())
		return lp_bootstrap_alloc(size, 16);
	return lp_real.malloc(size);
}

static LP_COLD void *
untracked_calloc(size_t n, size_t size)
{
	size_t total;
	if (!lp_resolve()) {
		if (__builtin_mul_overflow(n, size, &total)) {
			errno = ENOMEM;
			return NULL;
		}
		return lp_bootstrap_alloc(total, 16);
	}
	return lp_real.calloc(n, size);
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
untracked_realloc(void *p, size_t size)
{
	if (lp_is_bootstrap(p))
		return realloc_from_bootstrap(p, size);
	if (!lp_resolve())
		return p ? NULL : lp_bootstrap_alloc(size, 16);
	return lp_real.realloc(p, size);
}

static LP_COLD void
untracked_free(void *p)
{
	/* Inside the shim (guard up) a free still leaves the table: glibc
	 * may free a program block there (a dlclosed module's TLS, freed by
	 * __tls_get_addr while we unwind).  Not from inside a shim lock (a
	 * signal handler's free): that would wait on our own lock. */
	if (lp_state == LP_TRACKING && !lp_locks_held)
		lp_record_free(p);
	/* A pointer seen before the real free is known cannot be one of its
	 * blocks... unless it came from an allocator before us: resolve. */
	if (lp_resolve())
		lp_real.free(p);
}

/* --- entry points ------------------------------------------------------- */

LP_EXPORT void *
malloc(size_t size)
{
	if (!tracking())
		return untracked_malloc(size);
	void *p = lp_real.malloc(size);
	if (lp_likely(p != NULL))
		lp_record_alloc(p, size, __builtin_return_address(0));
	return p;
}

LP_EXPORT void
free(void *p)
{
	if (lp_unlikely(p == NULL || lp_is_bootstrap(p)))
		return;
	if (!tracking())
		return untracked_free(p);
	/* Before the real free: the address may be reused at once. */
	lp_record_free(p);
	lp_real.free(p);
}

LP_EXPORT void *
calloc(size_t n, size_t size)
{
	if (!tracking())
		return untracked_calloc(n, size);
	void *p = lp_real.calloc(n, size);
	if (lp_likely(p != NULL))
		lp_record_alloc(p, n * size, __builtin_return_address(0));
	return p;
}

LP_EXPORT void *
realloc(void *p, size_t size)
{
	if (!tracking() || lp_is_bootstrap(p))
		return untracked_realloc(p, size);
	return lp_record_realloc(p, size, __builtin_return_address(0));
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
		return lp_real.posix_memalign(out, align, size);
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
		return lp_resolve() ? lp_real.aligned_alloc(align, size)
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
		return untracked_aligned(align, size);
	void *p = lp_real.memalign(align, size);
	if (p)
		lp_record_alloc(p, size, __builtin_return_address(0));
	return p;
}

LP_EXPORT void *
valloc(size_t size)
{
	if (!tracking())
		return lp_resolve() ? lp_real.valloc(size)
				    : lp_bootstrap_alloc(size, 4096);
	void *p = lp_real.valloc(size);
	if (p)
		lp_record_alloc(p, size, __builtin_return_address(0));
	return p;
}

LP_EXPORT void *
pvalloc(size_t size)
{
	if (!tracking())
		return lp_resolve() ? lp_real.pvalloc(size)
				    : lp_bootstrap_alloc(size, 4096);
	void *p = lp_real.pvalloc(size);
	if (p) {
		/* pvalloc allocates whole pages: that is the block's size. */
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		lp_record_alloc(p, size ? (size + page - 1) & ~(page - 1) : page,
				__builtin_return_address(0));
	}
	return p;
}

LP_EXPORT size_t
malloc_usable_size(void *p)
{
	if (p && lp_is_bootstrap(p))
		return lp_bootstrap_size(p);
	if (!lp_resolve() || !lp_real.malloc_usable_size)
		return 0;
	return lp_real.malloc_usable_size(p);
}
