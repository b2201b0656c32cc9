/* SPDX-License-Identifier: MIT */
/* safepoint.c - see safepoint.h. */
#include "objects/safepoint.h"

#include <semaphore.h>

#include "core/clock.h"
#include "core/guard.h"
#include "objects/objects.h"
enum { IDLE, PENDING, RUNNING };

int lp_safepoint_pending;
static int state;
static enum lp_reason pending_reason;
static sem_t done;
static bool done_ready;

bool
lp_safepoint_delegate(enum lp_reason reason, unsigned timeout_ms)
{
	int expect = IDLE;

	if (!done_ready) {
		sem_init(&done, 0, 0);
		done_ready = true;
	}
	if (!__atomic_compare_exchange_n(&state, &expect, PENDING, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return false;
	pending_reason = reason;
	__atomic_store_n(&lp_safepoint_pending, 1, __ATOMIC_RELEASE);

	if (lp_sem_wait_ms(&done, timeout_ms))
		return true;
	/* Timed out: withdraw the request, unless a safe point has just
	 * taken it, in which case its report is coming. */
	expect = PENDING;
	__atomic_store_n(&lp_safepoint_pending, 0, __ATOMIC_RELEASE);
	if (__atomic_compare_exchange_n(&state, &expect, IDLE, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return false;
	while (sem_wait(&done) != 0)
		;
	return true;
}

void
lp_safepoint_after_fork_child(void)
{
	state = IDLE;
	lp_safepoint_pending = 0;
	if (done_ready)
		sem_init(&done, 0, 0);
}

void
lp_safepoint_poll_slow(void)
{
	int expect = PENDING;

	if (!__atomic_compare_exchange_n(&state, &expect, RUNNING, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&lp_safepoint_pending, 0, __ATOMIC_RELEASE);
	lp_report_at_safe_point(pending_reason);
	__atomic_store_n(&state, IDLE, __ATOMIC_RELEASE);
	sem_post(&done);
}

void
lp_safepoint_collect_if_due(void)
{
	struct lp_pass p;
	long found;
	uint64_t young = 0;
	int gen = lp_objects_due_generation();

	if (gen < 0)
		return;

	lp_guard_enter();
	found = lp_objects_pass(gen, true, &p);
	for (long k = 0; k < found; k++)
		young += LP_VEC_AT(&p.info, struct lp_obj, k).gen == 0;
	if (found >= 0)
		lp_objects_pass_free(&p);
	lp_guard_leave();
	if (young)
		lp_report_at_safe_point(LP_REASON_AUTO);
}
