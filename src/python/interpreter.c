/* SPDX-License-Identifier: MIT */
/* cpython.c - see cpython.h.  Everything here runs with the guard up: the
 * Python objects we create are never recorded as the program's. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/guard.h"
#include "core/linewriter.h"
#include "core/options.h"
#include "core/state.h"
#include "core/warn.h"
#include "detect/pyabi.h"
#include "python/capi.h"
#include "python/cpython.h"
struct lp_pyapi lp_py;
struct lp_py_gcfuns lp_py_gc;
static int py_minor;           /* 3.x */
static bool armed, arming;
static volatile int alive;     /* cleared in our atexit callback */
static volatile int collecting;
static volatile int deferred;  /* a signal report waits for gc "stop" */
static volatile int exit_reported;
static void *gc_module, *tracemalloc_module;
static __thread int gil_held __attribute__((tls_model("initial-exec")));
static enum lp_py_via current_via = LP_PY_VIA_API; /* of the report being written */

bool
lp_cpython_gil_held(void)
{
	return gil_held > 0;
}

/* leakprobe_report() from a thread that holds the GIL: Python objects can
 * be examined there too (as armed and not finalizing). */
bool
lp_cpython_enter_api(void)
{
	if (!armed || !alive || !lp_py.GILState_Check())
		return false;
	gil_held++;
	return true;
}

void
lp_cpython_leave_api(void)
{
	gil_held--;
}

bool
lp_cpython_exit_reported(void)
{
	return exit_reported;
}

/* --- callbacks registered with the interpreter ---------------------------- */

static void *
py_none(void)
{
	lp_py.IncRef(lp_py.None);
	return lp_py.None;
}

static void
report_with_gil(enum lp_reason reason, enum lp_py_via via)
{
	gil_held++;
	current_via = via;
	lp_report_at_safe_point(reason);
	current_via = LP_PY_VIA_API;
	gil_held--;
}

/* atexit: runs after the program's own callbacks (registered first, LIFO)
 * and before finalization's collection: every object is still alive. */
static void *
on_atexit(void *self, void *unused)
{
	(void)self;
	(void)unused;
	lp_guard_enter();
	lp_cpython_safepoint_close();
	alive = 0;
	lp_report_exit_is_next(); /* no signal report begins after this one */
	if (lp_tracking_on()) {
		report_with_gil(LP_REASON_EXIT, LP_PY_VIA_EXIT);
		exit_reported = 1;
	}
	lp_guard_leave();
	return py_none();
}

/* gc.callbacks: ("start" | "stop", info).  A report requested during a
 * collection is written when it stops. */
static void *
on_gc_phase(void *self, void *args)
{
	(void)self;
	void *phase = lp_py.Tuple_GetItem(args, 0);
	const char *p = phase ? lp_py.Unicode_AsUTF8(phase) : NULL;
	if (!p) {
		lp_py.Err_Clear();
		return py_none();
	}
	if (p[0] == 's' && p[1] == 't' && p[2] == 'a') {
		collecting = 1;
	} else {
		collecting = 0;
		if (deferred && alive) {
			deferred = 0;
			lp_guard_enter();
			report_with_gil(LP_REASON_SIGNAL, LP_PY_VIA_GC_STOP);
			lp_guard_leave();
		}
	}
	return py_none();
}

static struct lp_py_methoddef atexit_def = { "leakprobe_exit_report", on_atexit,
					     LP_METH_NOARGS, NULL };
static struct lp_py_methoddef gc_def = { "leakprobe_gc_phase", on_gc_phase,
					 LP_METH_VARARGS, NULL };

/* --- arming: first audit event after Py_Initialize ------------------------ */

static bool
arm(void)
{
	void *et, *ev, *tb;
	bool ok = false;

	lp_py.Err_Fetch(&et, &ev, &tb);
	gc_module = lp_py.Import("gc");
	void *atexit_mod = lp_py.Import("atexit");
	tracemalloc_module = lp_py.Import("_tracemalloc");
	if (!tracemalloc_module)
		lp_py.Err_Clear();
	if (!gc_module || !atexit_mod)
		goto out;
	/* The builtins themselves, now, before program code could wrap them. */
	struct { void **slot; void *mod; const char *name; } funs[] = {
		{ &lp_py_gc.isenabled, gc_module, "isenabled" },
		{ &lp_py_gc.get_count, gc_module, "get_count" },
		{ &lp_py_gc.get_threshold, gc_module, "get_threshold" },
		{ &lp_py_gc.get_objects, gc_module, "get_objects" },
		{ &lp_py_gc.disable, gc_module, "disable" },
		{ &lp_py_gc.enable, gc_module, "enable" },
		{ &lp_py_gc.is_tracing, tracemalloc_module, "is_tracing" },
	};
	for (size_t i = 0; i < LP_ARRAY_LENGTH(funs); i++) {
		void *f = funs[i].mod ? lp_py.GetAttrString(funs[i].mod, funs[i].name) : NULL;
		if (f && lp_py_type((uintptr_t)f) != (uintptr_t)lp_py.CFunction_Type) {
			lp_py.DecRef(f); /* already replaced: not ours to call */
			f = NULL;
		}
		if (!f)
			lp_py.Err_Clear();
		*funs[i].slot = f;
	}
	if (!lp_py_gc.get_objects)
		goto out;
	void *cb = lp_py.CFunction_NewEx(&atexit_def, NULL, NULL);
	void *r = cb ? lp_py.CallMethod(atexit_mod, "register", "O", cb) : NULL;
	if (!r)
		goto out;
	lp_py.DecRef(r);
	void *gcb = lp_py.CFunction_NewEx(&gc_def, NULL, NULL);
	void *callbacks = lp_py.GetAttrString(gc_module, "callbacks");
	if (gcb && callbacks) {
		r = lp_py.CallMethod(callbacks, "append", "O", gcb);
		if (r)
			lp_py.DecRef(r);
	}
	if (callbacks)
		lp_py.DecRef(callbacks);
	ok = true;
out:
	lp_py.Err_Clear();
	lp_py.Err_Restore(et, ev, tb);
	return ok;
}

/* Called for every audit event until it has armed us once (then
 * cpython_audit.c takes it out of the interpreter's list). */
static int
audit_hook(const char *event, void *args, void *data)
{
	(void)args;
	(void)data;
	if (lp_unlikely(!armed && !arming && lp_py.IsInitialized())) {
		arming = true;
		/* Not guarded: the modules arm() imports (gc, atexit,
		 * _tracemalloc) become the interpreter's own state, linked with
		 * the program's (its caches of extension modules), so their
		 * blocks are recorded as any other; the leak scan would otherwise
		 * find chains of the program's blocks broken by memory it does
		 * not know. */
		bool ok = arm();
		lp_guard_enter();
		if (ok) {
			lp_cpython_safepoint_arm(py_minor);
			alive = 1;
			armed = true;
		}
		lp_cpython_audit_remove();
		lp_guard_leave();
		arming = false;
	} else if (!strcmp(event, "cpython._PySys_ClearAuditHooks")) {
		lp_cpython_audit_remove(); /* finalizing without having armed */
	}
	return 0;
}

/* --- finding the interpreter ---------------------------------------------- */

static bool
is_free_threaded(const char *version)
{
	return strstr(version, "free-threading") != NULL;
}

void
lp_cpython_init(void)
{
	if (!lp_pyapi_resolve(&lp_py))
		return; /* no interpreter in this process */
	const char *v = lp_py.GetVersion();
	if (v[0] != '3' || v[1] != '.') {
		lp_warn("Python %.20s is not supported: Python objects are not examined", v);
		return;
	}
	py_minor = atoi(v + 2);
	if (is_free_threaded(v)) {
		lp_warn("free-threaded Python (%.40s) is not supported: Python objects are not examined", v);
		return;
	}
	if (py_minor < 8 || py_minor > 13)
		lp_note("Python 3.%d is outside the tested range 3.8-3.13", py_minor);
	if (lp_opt.python_traceback) {
		char n[16];
		lp_fmt(n, sizeof(n), "%u", (unsigned)lp_opt.python_traceback);
		setenv("PYTHONTRACEMALLOC", n, 0); /* the user's own setting wins */
	}
	if (!lp_cpython_audit_install(audit_hook))
		lp_warn("cannot install a Python audit hook: Python objects are not examined");
}

void *
lp_cpython_call(void *fn)
{
	void *r = fn ? lp_py.CallFunction(fn, NULL) : NULL;
	if (!r)
		lp_py.Err_Clear();
	return r;
}

int
lp_cpython_minor(void)
{
	return py_minor;
}

void *
lp_cpython_gc_module(void)
{
	return gc_module;
}

void *
lp_cpython_tracemalloc_module(void)
{
	return tracemalloc_module;
}

bool
lp_cpython_collecting(void)
{
	return collecting;
}

bool
lp_cpython_open(void)
{
	return armed && alive;
}

const char *
lp_cpython_via_name(void)
{
	static const char *const names[] = {
		[LP_PY_VIA_EXIT] = "exit", [LP_PY_VIA_API] = "api",
		[LP_PY_VIA_PENDING_CALL] = "pending_call", [LP_PY_VIA_GIL] = "gil",
		[LP_PY_VIA_GC_STOP] = "gc_stop",
	};
	return names[current_via];
}

/* With the GIL held: write the signal report now, or when the running
 * collection stops.  false: the interpreter is past our atexit callback. */
bool
lp_cpython_answer_signal(enum lp_py_via via)
{
	if (!alive)
		return false;
	if (collecting) {
		deferred = 1; /* written by on_gc_phase("stop") */
		return true;
	}
	lp_guard_enter();
	report_with_gil(LP_REASON_SIGNAL, via);
	lp_guard_leave();
	return true;
}
