/* SPDX-License-Identifier: MIT */
/*
 * trial_deletion.h - CPython's cycle detection, without deleting anything.
 *
 * Input: a set of container objects (CPython object ABI: refcount at
 * offset 0, the type's tp_traverse).  Output: which of them nothing outside
 * the set keeps alive, grouped into connected groups with the edges that
 * form them.  It reads objects and calls tp_traverse with its own visitor;
 * it never frees, clears or writes an object.  The caller guarantees that
 * no thread mutates the set meanwhile (see docs/design.md, "Safe points").
 */
#pragma once

#include "core/base.h"
#include "core/vec.h"
#include "detect/object_index.h"

struct lp_detect_group {
	uint32_t first, count;         /* members: unreachable[first .. +count) */
	uint32_t first_edge, nedges;   /* edges[first_edge .. +nedges) */
	uint64_t bytes;
};

struct lp_detect {
	/* in */
	const uintptr_t *objs;
	uint32_t n;
	/* refcounts read by the caller while it gathered objs (better for the
	 * cache than reading them again); may be NULL */
	const int64_t *refcnts;
	/* references to objs[i] held by the caller itself (e.g. an
	 * enumeration that increfs), subtracted up front; may be NULL */
	const uint32_t *extra_refs;
	uint32_t extra_all; /* ... or the same number for every object */
	const uint64_t *sizes;         /* bytes per object, may be NULL */

	/* out */
	struct lp_vec unreachable;     /* uint32_t: indices into objs, by group */
	struct lp_vec in_cycle;        /* uint8_t, parallel to unreachable */
	struct lp_vec edges;           /* uint32_t[2]: positions in unreachable */
	struct lp_vec groups;          /* struct lp_detect_group */
	uint64_t clamped;              /* counts that went negative (anomalies) */
	double seconds;
	/* object address -> index in objs, until lp_detect_free: later
	 * passes over the same set (owners of large blocks) need not build
	 * their own */
	struct lp_objindex index;
};

/* Index of obj in objs, or -1 when it is not in the set. */
static inline int64_t
lp_detect_index_of(const struct lp_detect *d, uintptr_t obj)
{
	return lp_objindex_find(&d->index, obj);
}

/* Run the phases; false when out of memory (results then empty).  The
 * working memory (address map, worklist) is kept for the next run: a pass
 * over a million objects should not fault in 30 MB of fresh pages each
 * time.  Runs are serialised. */
bool lp_detect_run(struct lp_detect *d) LP_HIDDEN;
void lp_detect_free(struct lp_detect *d) LP_HIDDEN;
