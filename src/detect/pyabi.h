/* SPDX-License-Identifier: MIT */
/*
 * pyabi.h - the subset of CPython's object ABI (3.8-3.13, 64-bit, default
 * build) the object model and the detector read.  Read only: the shim
 * never writes an object.
 *
 *   object:  ob_refcnt @0 (Py_ssize_t), ob_type @8
 *   type:    tp_name @24, tp_basicsize @32, tp_itemsize @40,
 *            tp_flags @168, tp_traverse @184
 *   GC head: 16 bytes before the object; _gc_next != 0 while tracked
 */
#pragma once

#include "core/base.h"

#define LP_PY_TPFLAGS_HAVE_GC (1ul << 14)
#define LP_PY_GC_HEAD_SIZE 16

typedef int (*lp_visitproc)(void *obj, void *arg);
typedef int (*lp_traverseproc)(void *obj, lp_visitproc visit, void *arg);

static inline int64_t
lp_py_refcnt(uintptr_t obj)
{
	return *(const int64_t *)obj;
}

/* 3.12+: immortal objects have a refcount whose low 32 bits read as a
 * negative int32; such an object is always a root. */
static inline bool
lp_py_immortal(int64_t refcnt)
{
	return (int32_t)refcnt < 0;
}

static inline uintptr_t
lp_py_type(uintptr_t obj)
{
	return *(const uintptr_t *)(obj + 8);
}

static inline const char *
lp_py_type_name(uintptr_t type)
{
	return type ? *(const char *const *)(type + 24) : NULL;
}

static inline int64_t
lp_py_type_basicsize(uintptr_t type)
{
	return *(const int64_t *)(type + 32);
}

static inline int64_t
lp_py_type_itemsize(uintptr_t type)
{
	return *(const int64_t *)(type + 40);
}

static inline unsigned long
lp_py_type_flags(uintptr_t type)
{
	return *(const unsigned long *)(type + 168);
}

static inline lp_traverseproc
lp_py_type_traverse(uintptr_t type)
{
	return *(const lp_traverseproc *)(type + 184);
}

static inline bool
lp_py_is_gc_type(uintptr_t type)
{
	return type && (lp_py_type_flags(type) & LP_PY_TPFLAGS_HAVE_GC);
}

/* Tracked by the runtime's collector right now (reads the GC head). */
static inline bool
lp_py_gc_tracked(uintptr_t obj)
{
	return *(const uintptr_t *)(obj - LP_PY_GC_HEAD_SIZE) != 0;
}

/* tp_name after its last dot, as type.__name__ shows it. */
static inline const char *
lp_py_short_name(const char *tp_name)
{
	const char *s = tp_name;
	if (!s)
		return "?";
	for (const char *p = tp_name; *p; p++)
		if (*p == '.')
			s = p + 1;
	return s;
}
