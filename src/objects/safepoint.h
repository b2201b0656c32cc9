/* SPDX-License-Identifier: MIT */
/*
 * safepoint.h - where the object graph may be examined.
 *
 * The detector reads refcounts and calls tp_traverse, so no thread may
 * mutate objects meanwhile.  For the interposed object API the safe points
 * are the entries of the GC allocation functions (_PyObject_GC_New,
 * _PyObject_GC_NewVar): exactly where CPython itself may run a collection,
 * so code calling them must already leave every container consistent, and
 * the runtime's lock (CPython's GIL) is held.  The exit hook and the public
 * API (leakprobe_report, leakprobe_collect) are safe points by contract.
 * A signal only requests work: the worker thread waits up to a second for
 * the program to reach a safe point, then reports without the detector.
 */
#pragma once

#include "core/report_hooks.h"

/* From the worker: have a safe point write this report.  Returns false
 * when none came within timeout_ms (nothing was written). */
bool lp_safepoint_delegate(enum lp_reason reason, unsigned timeout_ms) LP_HIDDEN;
/* At a safe point: do what was requested. */
void lp_safepoint_poll_slow(void) LP_HIDDEN;
extern int lp_safepoint_pending LP_HIDDEN;

static inline void
lp_safepoint_poll(void)
{
	if (lp_unlikely(__atomic_load_n(&lp_safepoint_pending, __ATOMIC_RELAXED)))
		lp_safepoint_poll_slow();
}

/* In a forked child: no request is pending (its worker is new). */
void lp_safepoint_after_fork_child(void) LP_HIDDEN;

/* LEAKPROBE_AUTO, at a safe point: a collection of the generation that is
 * due, if any; writes a report (reason "auto") when it finds garbage that
 * was young. */
void lp_safepoint_collect_if_due(void) LP_HIDDEN;
