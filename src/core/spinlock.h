/* SPDX-License-Identifier: MIT */
/*
 * spinlock.h - the shim's lock.  Critical sections are a few dozen
 * instructions and never allocate; a pthread mutex would cost more and could
 * not be reset in a forked child as simply.
 */
#pragma once

#include <sched.h>

#include "core/base.h"

typedef struct {
	int held;
} lp_spinlock;

/* How many shim locks this thread holds: a free() reached from inside a
 * critical section (a signal handler's) must not take a lock again. */
extern __thread int lp_locks_held __attribute__((tls_model("initial-exec"))) LP_HIDDEN;

static LP_NOINLINE void
lp_spin_wait(lp_spinlock *l)
{
	for (unsigned spins = 0;
	     __atomic_load_n(&l->held, __ATOMIC_RELAXED) ||
	     __atomic_exchange_n(&l->held, 1, __ATOMIC_ACQUIRE);
	     spins++) {
		if (spins < 64)
			__builtin_ia32_pause();
		else
			sched_yield();
	}
}

static inline void
lp_spin_lock(lp_spinlock *l)
{
	lp_locks_held++;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (lp_unlikely(__atomic_exchange_n(&l->held, 1, __ATOMIC_ACQUIRE)))
		lp_spin_wait(l);
}

static inline void
lp_spin_unlock(lp_spinlock *l)
{
	__atomic_store_n(&l->held, 0, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	lp_locks_held--;
}
