/* SPDX-License-Identifier: MIT */
/*
 * describe.h - what a report says of one Python object, read without
 * running Python code: only C functions of exact builtin types are called.
 * With the GIL held, while the section that found the object is alive.
 */
#pragma once

#include "core/base.h"

/* "function f", "dict of 3", "Node object", ... */
void lp_cpython_describe(uintptr_t obj, char *buf, size_t cap) LP_HIDDEN;
/* Its size: tp_basicsize plus the items of a variable-size object. */
uint64_t lp_cpython_object_size(uintptr_t obj) LP_HIDDEN;

/* Where tracemalloc saw it allocated: NULL when it does not know (not
 * tracing, or allocated before).  Frame 0 is the most recent. */
void *lp_cpython_traceback(uintptr_t obj, size_t *nframes) LP_HIDDEN;
void lp_cpython_traceback_frame(void *tb, size_t i, const char **file,
				long long *line) LP_HIDDEN;
void lp_cpython_traceback_done(void *tb) LP_HIDDEN;

/* One step of a retention chain: how `from` holds `to`. */
struct lp_py_step {
	const char *type;   /* from's short type name */
	bool module;        /* from is a module ... */
	const char *name;   /* ... of this name (NULL: unknown) */
	char key[160];      /* dict key, "" when none */
	long index;         /* list or tuple index, -1 when none */
	bool instance;      /* an instance whose attribute name a managed
			     * dict hides (3.11+) */
};
void lp_cpython_describe_step(uintptr_t from, uintptr_t to, struct lp_py_step *st) LP_HIDDEN;
