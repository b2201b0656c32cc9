/* SPDX-License-Identifier: MIT */
/*
 * bootstrap.h - a static arena that serves allocations made before
 * dlsym(RTLD_NEXT, ...) has resolved the real allocator (dlsym itself calls
 * calloc).  Its blocks are never handed to the real free.
 */
#pragma once

#include "lp.h"

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
