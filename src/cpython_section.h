/* SPDX-License-Identifier: MIT */
/* cpython_section.h - the Python part of one report, shared by
 * cpython_report.c (gather, render) and cpython_retention.c (owners of
 * large blocks, retention paths).  Valid while the GIL is held. */
#pragma once

#include "objects.h"
#include "report.h"
#include "trial_deletion.h"

/* Who owns a large native block, and what keeps the owner alive. */
struct lp_py_owner {
	uintptr_t owner;      /* the Python object whose memory it is; 0: none */
	uint32_t holder;      /* index in objs of the GC object that holds it
				 (the owner itself when it is a GC object) */
	uintptr_t via;        /* an untracked container between holder and
				 owner (CPython untracks dicts and tuples of
				 atomic values), or 0 */
	int32_t group;        /* unreachable group of the holder, or -1 */
	struct lp_vec path;   /* uint32_t objs indices, root first, holder last;
				 empty when no module reaches it */
};

struct lp_py_section {
	char version[64];
	const char *via; /* safe point the report was written at */
	const char *enumeration; /* "gc_lists" or "get_objects" */
	bool gc_enabled, restore_gc, tracemalloc;
	long long count[3], threshold[3];
	void *lists[3];        /* gc.get_objects(g): our references */
	struct lp_vec objs;    /* uintptr_t: every tracked object */
	struct lp_vec gens;    /* uint8_t, parallel */
	struct lp_vec types;   /* uintptr_t, parallel: ob_type as enumerated */
	struct lp_vec refcnts; /* int64_t, parallel, when the lists were walked */
	struct lp_vec by_type[3];
	struct lp_vec modules; /* uint32_t: objs indices of module objects */
	bool modules_incomplete; /* out of memory while noting them */
	uint64_t nobjs[3];
	struct lp_detect det;
	bool detected;
	struct lp_py_owner *owners; /* parallel to the report's large blocks */
	uint64_t cost_enumerate, cost_detect, cost_owners; /* ns */
};

/* Find owners and retention paths of the report's large blocks. */
void lp_cpython_find_owners(const struct lp_report *r, struct lp_py_section *s) LP_HIDDEN;
void lp_cpython_free_owners(const struct lp_report *r, struct lp_py_section *s) LP_HIDDEN;
/* JSON "owner" object for large block i (nothing when unknown). */
void lp_cpython_owner_json(struct lp_lw *lw, const struct lp_report *r,
			   struct lp_py_section *s, size_t i) LP_HIDDEN;
void lp_cpython_owner_text(struct lp_lw *lw, const struct lp_report *r,
			   struct lp_py_section *s, size_t i) LP_HIDDEN;

/* Shared helpers (cpython_report.c). */
void lp_cpython_describe(uintptr_t obj, char *buf, size_t cap) LP_HIDDEN;
void lp_cpython_json_traceback(struct lp_lw *lw, uintptr_t obj) LP_HIDDEN;
