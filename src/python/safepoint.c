/* SPDX-License-Identifier: MIT */
/*
 * cpython_safepoint.c - where a signal report meets the interpreter.
 *
 * The worker thread (control.c) asks; the report is written with the GIL
 * held, by the first of:
 *
 *   pending_call  Py_AddPendingCall: the main thread runs it between two
 *                 bytecodes, the safe point CPython itself uses for
 *                 signal handlers.
 *   gil           the worker takes the GIL itself once the pending call
 *                 has not run for PENDING_WAIT_MS: the main thread is
 *                 blocked in a system call (a service in accept()), or
 *                 finalization has stopped running pending calls.  Any
 *                 point where CPython released the GIL is one where
 *                 another Python thread may run gc.collect().
 *   gc_stop       either of those landed inside a collection (a __del__
 *                 running bytecode, or one that released the GIL): the
 *                 report waits for the collection's "stop" callback.
 *
 * Version traps (../shared/notes/cpython-gc.md, "Running code at a safe
 * point"), each with a test in test_python_safepoint.py:
 *   3.9-3.12  a pending call queued from a foreign thread does not set the
 *             main thread's eval breaker; taking and releasing the GIL
 *             makes the main thread recompute it (the poke).
 *   3.8       Py_AddPendingCall after _Py_FinishPendingCalls (which runs
 *             before atexit callbacks) raises into the GIL holder's thread
 *             state from ours.  On 3.8 we queue only while holding the GIL
 *             and after reading the runtime's `finishing` flag, at an
 *             offset checked against the runtime when arming; if the check
 *             fails, 3.8 uses the GIL route alone.
 *   all       never queue from inside the pending call (3.8 spins), never
 *             after our atexit callback (`alive`, under queue_lock).
 */
#include <pthread.h>
#include <semaphore.h>

#include "core/clock.h"
#include "core/warn.h"
#include "python/capi.h"
#include "python/cpython.h"
#define PENDING_WAIT_MS 250

/* _PyRuntimeState of 3.8 (x86-64, all 3.8.x: the struct is frozen in a
 * maintenance branch).  Checked by arm-time reads before use. */
#define RT38_INTERP_MAIN 40
#define RT38_MAIN_THREAD 72
#define RT38_PENDING_FINISHING 600
#define RT38_PENDING_LOCK 608

enum { REQ_IDLE, REQ_PENDING, REQ_CLAIMED };

static int request;             /* the signal report asked for */
static int queued;              /* our call sits in the interpreter's queue */
static bool queue_ok;           /* pending calls may be used at all */
static bool needs_poke;         /* 3.9-3.12 */
static bool queue_under_gil;    /* 3.8 */
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static bool open_for_requests;  /* cleared by our atexit callback */
static sem_t answered;

/* 3.8: does the runtime look the way the offsets say?  Called in the
 * main thread with the GIL held, before any pending call of ours. */
static bool
runtime38_checks(void)
{
	char *rt = lp_py.Runtime;
	if (!rt || !lp_py.Thread_GetIdent || !lp_py.InterpreterState_Main)
		return false;
	return *(void **)(rt + RT38_INTERP_MAIN) == lp_py.InterpreterState_Main() &&
	       *(unsigned long *)(rt + RT38_MAIN_THREAD) == lp_py.Thread_GetIdent() &&
	       *(int *)(rt + RT38_PENDING_FINISHING) == 0 &&
	       *(void **)(rt + RT38_PENDING_LOCK) != NULL;
}

void
lp_cpython_safepoint_arm(int minor)
{
	sem_init(&answered, 0, 0);
	queue_ok = lp_py.AddPendingCall != NULL;
	needs_poke = minor >= 9 && minor <= 12;
	if (minor == 8) {
		queue_under_gil = true;
		if (queue_ok && !runtime38_checks()) {
			lp_note("Python 3.8 runtime layout not recognised: signal reports "
				"take the GIL from the report thread instead of a pending call");
			queue_ok = false;
		}
	}
	pthread_mutex_lock(&queue_lock);
	open_for_requests = true;
	pthread_mutex_unlock(&queue_lock);
}

/* From our atexit callback (GIL held): no call is queued after this. */
void
lp_cpython_safepoint_close(void)
{
	pthread_mutex_lock(&queue_lock);
	open_for_requests = false;
	pthread_mutex_unlock(&queue_lock);
}

void
lp_cpython_safepoint_after_fork_child(void)
{
	/* A call queued by the parent may or may not survive in the child;
	 * one that does finds no request and returns. */
	request = REQ_IDLE;
	queued = 0;
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	queue_lock = fresh;
	sem_init(&answered, 0, 0);
}

/* The interpreter's pending call: main thread, GIL held, between two
 * bytecodes (or inside a collection: answer() defers then). */
static int
on_pending_call(void *unused)
{
	(void)unused;
	__atomic_store_n(&queued, 0, __ATOMIC_SEQ_CST);
	if (!lp_cpython_open())
		return 0; /* past our atexit callback: the worker writes it natively */
	int expect = REQ_PENDING;
	if (!__atomic_compare_exchange_n(&request, &expect, REQ_CLAIMED, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return 0; /* answered from the worker already */
	lp_cpython_answer_signal(LP_PY_VIA_PENDING_CALL);
	__atomic_store_n(&request, REQ_IDLE, __ATOMIC_SEQ_CST);
	sem_post(&answered);
	return 0; /* never -1: that would raise into the program */
}

static bool
finishing38(void)
{
	return *(volatile int *)(lp_py.Runtime + RT38_PENDING_FINISHING) != 0;
}

/* Postcondition: our pending call is in the queue (true), or cannot be
 * queued now (false: finalization began, or the queue is full). */
static bool
queue_call(void)
{
	bool ok = false;
	pthread_mutex_lock(&queue_lock);
	if (open_for_requests && !(queue_under_gil && finishing38())) {
		if (__atomic_load_n(&queued, __ATOMIC_SEQ_CST))
			ok = true; /* still there: it will answer this request */
		else if (lp_py.AddPendingCall(on_pending_call, NULL) == 0)
			ok = (queued = 1);
	}
	pthread_mutex_unlock(&queue_lock);
	return ok;
}

static bool
finalizing(void)
{
	return !lp_cpython_open() || (lp_py.IsFinalizing && lp_py.IsFinalizing());
}

/* Worker thread, no shim lock held: if finalization began meanwhile,
 * PyGILState_Ensure may end this thread, which then holds nothing. */
bool
lp_cpython_signal_report(void)
{
	if (finalizing())
		return false;
	__atomic_store_n(&request, REQ_PENDING, __ATOMIC_SEQ_CST);
	bool in_queue = false;
	if (queue_ok) {
		if (queue_under_gil) {
			int st = lp_py.GILState_Ensure();
			in_queue = queue_call();
			lp_py.GILState_Release(st);
		} else {
			in_queue = queue_call();
			if (in_queue && needs_poke && !finalizing()) {
				int st = lp_py.GILState_Ensure();
				lp_py.GILState_Release(st);
			}
		}
	}
	if (in_queue && lp_sem_wait_ms(&answered, PENDING_WAIT_MS))
		return true;
	int expect = REQ_PENDING;
	if (!__atomic_compare_exchange_n(&request, &expect, REQ_CLAIMED, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		/* The pending call took it just now: its report is coming. */
		while (sem_wait(&answered) != 0)
			;
		return true;
	}
	bool written = false;
	if (!finalizing()) {
		int st = lp_py.GILState_Ensure();
		written = lp_cpython_answer_signal(LP_PY_VIA_GIL);
		lp_py.GILState_Release(st);
	}
	__atomic_store_n(&request, REQ_IDLE, __ATOMIC_SEQ_CST);
	return written; /* false: the caller writes it without Python */
}
