/* SPDX-License-Identifier: MIT */
/*
 * cpython.h - the live CPython adapter (3.8-3.13, default GIL builds).
 *
 * The interpreter is found with dlsym(RTLD_DEFAULT, ...): Debian's static
 * python3 exports its API from the executable, a shared libpython from the
 * library.  Only functions the running version exports are called.  In a
 * process without an interpreter this stays inert.
 *
 * When: an audit hook installed from our constructor arms the adapter at
 * the first event after Py_Initialize: it registers an atexit callback
 * (so it runs after the program's own, before finalization) and a
 * gc.callbacks entry (to know when a collection is running).  Reports
 * that examine Python objects run with the GIL held, outside any
 * collection:
 *   exit    - in our atexit callback, where every object is still alive;
 *   signal  - the worker thread takes the GIL (PyGILState_Ensure), like any
 *             Python thread that might call gc.collect(), so a main thread
 *             blocked in accept() or sleep() does not delay the report; if
 *             a collection is in progress the report is written from the
 *             gc callback when it stops;
 *   api     - leakprobe_report() from a thread that holds the GIL.
 * After our atexit callback no thread touches the interpreter again.
 */
#pragma once

#include "core/base.h"
#include "core/report_hooks.h"

/* Constructor time: find the interpreter, install the audit hook. */
void lp_cpython_init(void) LP_HIDDEN;

/* From the worker thread: write this report with Python's objects.
 * false: no usable interpreter (the caller writes a native report). */
bool lp_cpython_signal_report(void) LP_HIDDEN;

/* How the report being written reached the interpreter (JSON
 * python.safe_point). */
enum lp_py_via { LP_PY_VIA_EXIT, LP_PY_VIA_API, LP_PY_VIA_PENDING_CALL, LP_PY_VIA_GIL,
		 LP_PY_VIA_GC_STOP };
const char *lp_cpython_via_name(void) LP_HIDDEN;
/* cpython.c, for cpython_safepoint.c: armed and before our atexit
 * callback; write a signal report with the GIL held (false: too late). */
bool lp_cpython_open(void) LP_HIDDEN;
/* Between our gc.callbacks "start" and "stop". */
bool lp_cpython_collecting(void) LP_HIDDEN;
bool lp_cpython_answer_signal(enum lp_py_via via) LP_HIDDEN;
/* cpython_audit.c: add the arming hook (constructor time); take it out of
 * the interpreter's list once it has served (true: taken out). */
bool lp_cpython_audit_install(int (*hook)(const char *, void *, void *)) LP_HIDDEN;
bool lp_cpython_audit_remove(void) LP_HIDDEN;
/* cpython_safepoint.c */
void lp_cpython_safepoint_arm(int minor) LP_HIDDEN;
void lp_cpython_safepoint_close(void) LP_HIDDEN;
void lp_cpython_safepoint_after_fork_child(void) LP_HIDDEN;

/* True once our atexit callback wrote the exit report. */
bool lp_cpython_exit_reported(void) LP_HIDDEN;

/* Does this thread hold the GIL on the adapter's behalf (or is it a
 * program thread calling leakprobe_report with the GIL)? */
bool lp_cpython_gil_held(void) LP_HIDDEN;

/* Around leakprobe_report(): true if the caller holds the GIL. */
bool lp_cpython_enter_api(void) LP_HIDDEN;
void lp_cpython_leave_api(void) LP_HIDDEN;

/* The report's Python section (section.h): gather with the GIL held,
 * with the owners of these large blocks and views of the objects within
 * the limits; release after rendering. */
struct lp_py_section;
struct lp_block;
struct lp_py_view_limits;
struct lp_py_section *lp_cpython_gather(const struct lp_block *large, size_t nlarge,
					const struct lp_py_view_limits *limits) LP_HIDDEN;
/* Time the gather took, per phase (ns); untouched when s is NULL. */
void lp_cpython_cost(const struct lp_py_section *s, uint64_t *enumerate, uint64_t *detect,
		     uint64_t *owners) LP_HIDDEN;
void lp_cpython_release(struct lp_py_section *s) LP_HIDDEN;
