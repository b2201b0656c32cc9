/* SPDX-License-Identifier: MIT */
/*
 * bootstrap.h - the real functions behind our interposers, and a static
 * arena that serves allocations made before dlsym(RTLD_NEXT, ...) has
 * resolved them (dlsym itself calls calloc).  The arena's blocks are never
 * handed to the real free.  The shim's own memory comes from lp_real.
 */
#pragma once

#include "core/state.h"

/* The functions we interpose, as resolved with dlsym(RTLD_NEXT). */
struct lp_real {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
	int (*dlclose)(void *);
};
extern struct lp_real lp_real LP_HIDDEN;

/* Resolve lp_real; returns false while resolution is under way (the caller
 * then serves the request from the bootstrap arena). */
bool lp_resolve(void) LP_HIDDEN;

void *lp_bootstrap_alloc(size_t size, size_t align) LP_HIDDEN;
/* dlsym(RTLD_NEXT, name) with the guard up: what dlsym allocates (its
 * error state, freed by a later dlsym) is never taken for the program's. */
void *lp_next(const char *name) LP_HIDDEN;

/* Size recorded for a bootstrap block (for realloc). */
size_t lp_bootstrap_size(const void *p) LP_HIDDEN;

/* Non-zero: this thread's allocations come from the arena even though the
 * real allocator is known (pthread_create from a signal handler). */
extern __thread int lp_bootstrap_only __attribute__((tls_model("initial-exec"))) LP_HIDDEN;

extern char lp_bootstrap_arena[] LP_HIDDEN;
extern const size_t lp_bootstrap_arena_size LP_HIDDEN;

static inline bool
lp_is_bootstrap(const void *p)
{
	return (const char *)p >= lp_bootstrap_arena &&
	       (const char *)p < lp_bootstrap_arena + lp_bootstrap_arena_size;
}
