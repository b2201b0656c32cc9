/* SPDX-License-Identifier: MIT */
/*
 * interpose_pyapi.c - the CPython-style object API, defined here and
 * forwarded to the next definition (RTLD_NEXT).
 *
 * A call reaches us when it goes through a shared library's PLT: a runtime
 * or libpython built as a shared library with semantic interposition
 * (Debian's libpython3.11.so is), extension modules, embedding programs.
 * When the executable defines these functions (Debian's static python3),
 * its own definitions win and we see nothing here: live CPython is read
 * directly instead (cpython.c).  Each wrapper: forward, and tell the
 * object registry; never while the guard is up (the detector's own calls
 * into tp_traverse must not re-enter the registry).
 */
#include <dlfcn.h>
#include <sys/types.h>

#include "control/report_signal.h"
#include "core/base.h"
#include "core/bootstrap.h"
#include "core/guard.h"
#include "core/options.h"
#include "core/state.h"
#include "core/warn.h"
#include "detect/pyabi.h"
#include "objects/objects.h"
#include "objects/safepoint.h"
typedef void *PyObjectPtr;

static LP_COLD void *
next_or_die(const char *name)
{
	void *f = lp_next(name);
	if (!f)
		lp_die("an object API function was called but has no definition after libleakprobe.so");
	return f;
}

/* The next definition, typed like our own. */
#define REAL(name)                                                             \
	static __typeof__(&name) real_##name;                                  \
	if (lp_unlikely(!real_##name))                                         \
		real_##name = (__typeof__(&name))next_or_die(#name)

/* LP_WAKE (a report worker to start) is found on the slow path: these
 * entries are called by the interpreter's code only, in normal context. */
static inline bool
observing(void)
{
	if (lp_likely(lp_state == LP_TRACKING))
		return !lp_guarded();
	return lp_state == LP_WAKE && lp_tracking_resume();
}

/* --- object creation: the safe points ------------------------------------ */

static LP_NOINLINE void
gc_allocation_point(void)
{
	lp_guard_enter();
	lp_safepoint_poll();
	if (lp_opt.auto_collect)
		lp_safepoint_collect_if_due();
	lp_guard_leave();
}

static LP_NOINLINE void
created(PyObjectPtr op, uintptr_t type, uint64_t size)
{
	lp_guard_enter();
	lp_objects_created((uintptr_t)op, type, size);
	lp_guard_leave();
}

LP_EXPORT PyObjectPtr
_PyObject_GC_New(PyObjectPtr type)
{
	REAL(_PyObject_GC_New);
	if (!observing())
		return real__PyObject_GC_New(type);
	gc_allocation_point();
	PyObjectPtr op = real__PyObject_GC_New(type);
	if (op)
		created(op, (uintptr_t)type, (uint64_t)lp_py_type_basicsize((uintptr_t)type));
	return op;
}

LP_EXPORT PyObjectPtr
_PyObject_GC_NewVar(PyObjectPtr type, ssize_t n)
{
	REAL(_PyObject_GC_NewVar);
	if (!observing())
		return real__PyObject_GC_NewVar(type, n);
	gc_allocation_point();
	PyObjectPtr op = real__PyObject_GC_NewVar(type, n);
	if (op)
		created(op, (uintptr_t)type,
			(uint64_t)(lp_py_type_basicsize((uintptr_t)type) +
				   n * lp_py_type_itemsize((uintptr_t)type)));
	return op;
}

LP_EXPORT PyObjectPtr
_PyObject_New(PyObjectPtr type)
{
	REAL(_PyObject_New);
	PyObjectPtr op = real__PyObject_New(type);
	if (op && observing())
		created(op, (uintptr_t)type, (uint64_t)lp_py_type_basicsize((uintptr_t)type));
	return op;
}

LP_EXPORT PyObjectPtr
_PyObject_NewVar(PyObjectPtr type, ssize_t n)
{
	REAL(_PyObject_NewVar);
	PyObjectPtr op = real__PyObject_NewVar(type, n);
	if (op && observing())
		created(op, (uintptr_t)type,
			(uint64_t)(lp_py_type_basicsize((uintptr_t)type) +
				   n * lp_py_type_itemsize((uintptr_t)type)));
	return op;
}

LP_EXPORT PyObjectPtr
PyObject_Init(PyObjectPtr op, PyObjectPtr type)
{
	REAL(PyObject_Init);
	PyObjectPtr r = real_PyObject_Init(op, type);
	if (r && observing())
		created(r, (uintptr_t)type, (uint64_t)lp_py_type_basicsize((uintptr_t)type));
	return r;
}

/* --- tracking ------------------------------------------------------------ */

LP_EXPORT void
PyObject_GC_Track(PyObjectPtr op)
{
	REAL(PyObject_GC_Track);
	real_PyObject_GC_Track(op);
	if (observing()) {
		lp_guard_enter();
		lp_objects_tracked((uintptr_t)op);
		lp_guard_leave();
	}
}

LP_EXPORT void
PyObject_GC_UnTrack(PyObjectPtr op)
{
	REAL(PyObject_GC_UnTrack);
	if (observing()) {
		lp_guard_enter();
		lp_objects_untracked((uintptr_t)op);
		lp_guard_leave();
	}
	real_PyObject_GC_UnTrack(op);
}

/* --- deletion: recorded before the memory can be reused ------------------- */

LP_EXPORT void
PyObject_GC_Del(PyObjectPtr op)
{
	REAL(PyObject_GC_Del);
	if (observing()) {
		lp_guard_enter();
		lp_objects_deleted((uintptr_t)op, true);
		lp_guard_leave();
	}
	real_PyObject_GC_Del(op);
}

LP_EXPORT void
_Py_Dealloc(PyObjectPtr op)
{
	REAL(_Py_Dealloc);
	/* tp_dealloc may free through tp_free, a pointer we never see: the
	 * object is gone (or in a free list) once this returns. */
	if (observing() && lp_objects_in_use()) {
		lp_guard_enter();
		lp_objects_deleted((uintptr_t)op, false);
		lp_guard_leave();
	}
	real__Py_Dealloc(op);
}

/* --- the ledger ---------------------------------------------------------- */

static LP_NOINLINE void
ledger(PyObjectPtr op, void *caller, bool incref)
{
	lp_guard_enter();
	lp_objects_ledger((uintptr_t)op, (uintptr_t)caller, incref);
	lp_guard_leave();
}

LP_EXPORT void
Py_IncRef(PyObjectPtr op)
{
	REAL(Py_IncRef);
	real_Py_IncRef(op);
	if (op && observing())
		ledger(op, __builtin_return_address(0), true);
}

LP_EXPORT void
Py_DecRef(PyObjectPtr op)
{
	REAL(Py_DecRef);
	/* Before: the decref may free the object. */
	if (op && observing())
		ledger(op, __builtin_return_address(0), false);
	real_Py_DecRef(op);
}

LP_EXPORT void
_Py_IncRef(PyObjectPtr op)
{
	REAL(_Py_IncRef);
	real__Py_IncRef(op);
	if (op && observing())
		ledger(op, __builtin_return_address(0), true);
}

LP_EXPORT void
_Py_DecRef(PyObjectPtr op)
{
	REAL(_Py_DecRef);
	if (op && observing())
		ledger(op, __builtin_return_address(0), false);
	real__Py_DecRef(op);
}
