/* SPDX-License-Identifier: MIT */
/* section.h - the Python part of one report: gathered by gather.c, the
 * owners of large blocks and their retention paths by retention.c, what
 * the report says of each object it shows by views.c; rendered by
 * report/ from this data alone.  Valid while the GIL is held. */
#pragma once

#include "detect/trial_deletion.h"
#include "objects/objects.h"
#include "python/describe.h"
#include "record/heap_table.h"

/* A frame of an allocation traceback, most recent first; file points
 * into the traceback the view holds. */
struct lp_py_frame {
	const char *file;
	long long line;
};

/* What a report says of one object, read when the section is gathered. */
struct lp_py_view {
	uintptr_t address;
	const char *qualified_type; /* tp_name */
	const char *type;	    /* its last part (__name__) */
	char description[200];
	uint64_t size;
	int64_t refcount; /* less the enumeration's own references */
	void *traceback;  /* tracemalloc's frames (a reference held), or NULL */
	struct lp_py_frame *frames;
	size_t nframes;
};

/* The objects to describe: every unreachable group's first members. */
struct lp_py_view_limits {
	size_t groups, per_group;
};

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
	/* views.c: the owner, and how each step of the chain holds the next */
	struct lp_py_view view;
	struct lp_py_step *steps;
	size_t nsteps;
	size_t nchain; /* steps along the path; the one after, if any, is via's */
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
	size_t nowners;
	/* parallel to det.unreachable; address 0: not viewed (past the limits) */
	struct lp_py_view *members;
	uint64_t cost_enumerate, cost_detect, cost_owners; /* ns */
};

/* views.c: describe what the report shows (members within limits, the
 * owners and their chains); release what that holds. */
void lp_cpython_view(struct lp_py_section *s, struct lp_py_view_limits limits) LP_HIDDEN;
void lp_cpython_release_views(struct lp_py_section *s) LP_HIDDEN;

/* Find owners and retention paths of the report's large blocks. */
void lp_cpython_find_owners(struct lp_py_section *s, const struct lp_block *large,
			    size_t nlarge) LP_HIDDEN;
void lp_cpython_free_owners(struct lp_py_section *s) LP_HIDDEN;

/* Member k of unreachable group g: the object, whether it is on a cycle
 * (else it hangs off one), its generation. */
static inline uintptr_t
lp_py_group_member(const struct lp_py_section *s, const struct lp_detect_group *g, uint32_t k,
		   bool *cyc, int *gen)
{
	uint32_t pos = g->first + k;
	uint32_t idx = LP_VEC_AT(&s->det.unreachable, uint32_t, pos);
	*cyc = LP_VEC_AT(&s->det.in_cycle, uint8_t, pos);
	*gen = LP_VEC_AT(&s->gens, uint8_t, idx);
	return LP_VEC_AT(&s->objs, uintptr_t, idx);
}
