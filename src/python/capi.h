/* SPDX-License-Identifier: MIT */
/*
 * pyapi.h - the CPython C API functions the adapter calls, resolved with
 * dlsym(RTLD_DEFAULT, ...) so one shim serves every version.  Optional
 * entries are NULL where the running version does not export them.
 */
#pragma once

#include <sys/types.h>

#include "core/base.h"

#define LP_METH_VARARGS 0x0001
#define LP_METH_NOARGS 0x0004

struct lp_py_methoddef {
	const char *name;
	void *(*meth)(void *, void *);
	int flags;
	const char *doc;
};

struct lp_pyapi {
	int (*IsInitialized)(void);
	int (*AddAuditHook)(int (*)(const char *, void *, void *), void *);
	const char *(*GetVersion)(void);
	int (*IsFinalizing)(void); /* Py_IsFinalizing or _Py_IsFinalizing */
	int (*AddPendingCall)(int (*)(void *), void *);
	void *(*List_New)(ssize_t);
	unsigned long (*Thread_GetIdent)(void);
	void *(*InterpreterState_Main)(void);
	char *Runtime; /* _PyRuntime (3.8: read to tell shutdown has begun) */
	int (*GILState_Ensure)(void);
	int (*GILState_Check)(void);
	void (*GILState_Release)(int);
	void *(*CFunction_NewEx)(struct lp_py_methoddef *, void *, void *);
	void *(*Import)(const char *);
	void *(*GetAttrString)(void *, const char *);
	void *(*CallMethod)(void *, const char *, const char *, ...);
	void *(*CallFunction)(void *, const char *, ...);
	ssize_t (*List_Size)(void *);
	void *(*List_GetItem)(void *, ssize_t);
	ssize_t (*Tuple_Size)(void *);
	void *(*Tuple_GetItem)(void *, ssize_t);
	long long (*Long_AsLongLong)(void *);
	const char *(*Unicode_AsUTF8)(void *);
	int (*Dict_Next)(void *, ssize_t *, void **, void **);
	const char *(*Module_GetName)(void *);
	int (*Object_IsTrue)(void *);
	ssize_t (*Object_Size)(void *);
	void (*Err_Fetch)(void **, void **, void **);
	void (*Err_Restore)(void *, void *, void *);
	void (*Err_Clear)(void);
	void (*IncRef)(void *);
	void (*DecRef)(void *);
	void *(*TraceMalloc_GetTraceback)(unsigned, uintptr_t);
	void *None;
	/* type objects, for exact type checks */
	void *Type_Type, *Function_Type, *Module_Type, *Dict_Type, *List_Type,
		*Tuple_Type, *Set_Type, *Unicode_Type, *Long_Type, *Bytes_Type,
		*ByteArray_Type, *Method_Type, *Cell_Type, *Gen_Type, *Frame_Type,
		*CFunction_Type;
};

/* The collector's functions, taken when the adapter arms (before any
 * program code runs): a program that later replaces gc.get_objects with a
 * Python wrapper must not have its code run inside a report. */
struct lp_py_gcfuns {
	void *isenabled, *get_count, *get_threshold, *get_objects, *disable,
		*enable, *is_tracing;
};
extern struct lp_py_gcfuns lp_py_gc LP_HIDDEN;

extern struct lp_pyapi lp_py LP_HIDDEN;

/* false when the process has no interpreter (nothing is then called). */
bool lp_pyapi_resolve(struct lp_pyapi *api) LP_HIDDEN;

int lp_cpython_minor(void) LP_HIDDEN;
void *lp_cpython_gc_module(void) LP_HIDDEN;
/* Call one of lp_py_gc's functions (NULL: not available). */
void *lp_cpython_call(void *fn) LP_HIDDEN;
void *lp_cpython_tracemalloc_module(void) LP_HIDDEN;
