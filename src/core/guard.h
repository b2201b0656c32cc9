/* SPDX-License-Identifier: MIT */
/*
 * guard.h - per-thread reentrancy guard.
 *
 * While a thread is inside the shim (unwinding, writing a report, loading
 * libunwind...) any allocation it makes goes straight to the real allocator
 * and is never recorded.  initial-exec TLS: reading it never calls into the
 * dynamic loader (which could allocate and recurse).
 */
#pragma once

#include "core/base.h"

extern __thread int lp_guard_depth
	__attribute__((tls_model("initial-exec"))) LP_HIDDEN;

static inline bool
lp_guarded(void)
{
	return lp_guard_depth != 0;
}

static inline void
lp_guard_enter(void)
{
	lp_guard_depth++;
}

static inline void
lp_guard_leave(void)
{
	lp_guard_depth--;
}
