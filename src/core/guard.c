/* SPDX-License-Identifier: MIT */
/* guard.c - the per-thread state of guard.h and spinlock.h. */
#include "core/guard.h"

#include "core/spinlock.h"

__thread int lp_guard_depth __attribute__((tls_model("initial-exec")));
__thread int lp_locks_held __attribute__((tls_model("initial-exec")));
