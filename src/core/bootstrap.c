/* SPDX-License-Identifier: MIT */
/* bootstrap.c - see bootstrap.h. */
#include "core/bootstrap.h"

#include <dlfcn.h>
#include <errno.h>

#include "core/guard.h"
#include "core/state.h"
#include "core/warn.h"

#define ARENA_SIZE (256 * 1024)

char lp_bootstrap_arena[ARENA_SIZE] __attribute__((aligned(4096)));
const size_t lp_bootstrap_arena_size = ARENA_SIZE;
static size_t arena_used;
__thread int lp_bootstrap_only __attribute__((tls_model("initial-exec")));

/* Each block is preceded by a 16-byte header holding its size. */
void *
lp_bootstrap_alloc(size_t size, size_t align)
{
	if (align < 16)
		align = 16;
	if (align > 4096 || size > ARENA_SIZE) {
		errno = ENOMEM;
		return NULL;
	}
	size_t cur = __atomic_load_n(&arena_used, __ATOMIC_RELAXED);
	for (;;) {
		size_t start = (cur + 16 + align - 1) & ~(align - 1);
		size_t end = (start + size + 15) & ~(size_t)15;
		if (end > ARENA_SIZE) {
			errno = ENOMEM;
			return NULL;
		}
		if (__atomic_compare_exchange_n(&arena_used, &cur, end, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			*(size_t *)(lp_bootstrap_arena + start - 16) = size;
			/* Static storage is zeroed and never reused: calloc is
			 * served as is. */
			return lp_bootstrap_arena + start;
		}
	}
}

size_t
lp_bootstrap_size(const void *p)
{
	return *(const size_t *)((const char *)p - 16);
}

/* --- resolving the real allocator --------------------------------------- */

struct lp_real lp_real;
volatile int lp_state;

static void *
next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

void *
lp_next(const char *name)
{
	lp_guard_enter();
	void *f = dlsym(RTLD_NEXT, name);
	lp_guard_leave();
	return f;
}

bool
lp_resolve(void)
{
	int expect = LP_UNRESOLVED;

	if (lp_state >= LP_RESOLVED)
		return true;
	/* dlsym may call calloc: those calls see LP_RESOLVING and are
	 * served from the arena. */
	if (!__atomic_compare_exchange_n(&lp_state, &expect, LP_RESOLVING,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return lp_state >= LP_RESOLVED;
	struct lp_real r;
	r.malloc = next("malloc");
	r.calloc = next("calloc");
	r.realloc = next("realloc");
	r.free = next("free");
	r.posix_memalign = next("posix_memalign");
	r.aligned_alloc = next("aligned_alloc");
	r.memalign = next("memalign");
	r.valloc = next("valloc");
	r.pvalloc = next("pvalloc");
	r.malloc_usable_size = next("malloc_usable_size");
	r.dlclose = next("dlclose");
	if (!r.malloc || !r.calloc || !r.realloc || !r.free)
		lp_die("cannot find the real malloc, calloc, realloc and free");
	lp_real = r;
	__atomic_store_n(&lp_state, LP_RESOLVED, __ATOMIC_RELEASE);
	return true;
}
