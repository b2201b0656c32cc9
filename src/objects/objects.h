/* SPDX-License-Identifier: MIT */
/*
 * objects.h - the object registry: every object the runtime created or
 * tracked through an interposed object-API call, with its type, size,
 * allocation stack, birth, generation (0, 1, 2 as CPython's collector, or
 * untracked) and a ledger of the increfs/decrefs we intercepted.
 *
 * Generations follow CPython 3.8-3.12: a new tracked object enters gen0;
 * count0 is GC allocations minus GC deletions since the last gen0 pass;
 * count[g] for g > 0 counts passes over generation g-1; a pass over g takes
 * the younger generations too and moves everything it examined to g+1.
 * Reports observe without promoting; collections (leakprobe_collect,
 * LEAKPROBE_AUTO) promote.
 *
 * The folder's header for the others.  Behind it, one file per concept:
 * registry.c, generations.c, ledger.c, pass.c, stats.c, type_histogram.c,
 * collection_policy.c; what they share in registry.h (and its lock),
 * generations.h and ledger.h.
 */
#pragma once

#include "core/base.h"
#include "detect/trial_deletion.h"

#define LP_GEN_UNTRACKED (-1)
#define LP_NGEN 3

struct lp_obj {
	uintptr_t addr;
	uintptr_t type;
	uint64_t birth_ns;
	uint32_t size;
	uint32_t stack;
	uint32_t prev, next; /* generation list; 0 = none */
	uint32_t incs, decs; /* ledger: intercepted Py_IncRef / Py_DecRef */
	uint16_t module;     /* ledger: module of the first caller (+1), 0 none */
	int8_t gen;
	uint8_t flags;
};
#define LP_OBJ_GC 1            /* type has Py_TPFLAGS_HAVE_GC */
#define LP_OBJ_MANY_MODULES 2  /* ledger calls came from several modules */

bool lp_objects_in_use(void) LP_HIDDEN;

/* Events from interpose/object_api.c (registry.c, ledger.c).  caller:
 * return address, for the ledger. */
void lp_objects_created(uintptr_t obj, uintptr_t type, uint64_t size) LP_HIDDEN;
void lp_objects_tracked(uintptr_t obj) LP_HIDDEN;
void lp_objects_untracked(uintptr_t obj) LP_HIDDEN;
void lp_objects_deleted(uintptr_t obj, bool gc_del) LP_HIDDEN;
void lp_objects_ledger(uintptr_t obj, uintptr_t caller, bool incref) LP_HIDDEN;

/* One detector pass over generations 0..gen.  promote: move what was
 * examined to gen+1 and update the counts, as a collection does.
 * The caller is at a safe point (no thread mutates the object graph).
 * Returns the number of unreachable objects, -1 on failure. */
struct lp_pass {
	int generation;
	struct lp_detect det;
	struct lp_vec objs;    /* uintptr_t, det.objs points here */
	struct lp_vec refcnts; /* int64_t, read while gathering */
	struct lp_vec recs;    /* uint32_t record index, parallel to objs */
	struct lp_vec info;    /* struct lp_obj: copies of the garbage's
				  records, parallel to det.unreachable */
};
long lp_objects_pass(int gen, bool promote, struct lp_pass *out) LP_HIDDEN;
void lp_objects_pass_free(struct lp_pass *p) LP_HIDDEN;

/* Generation statistics, for the report. */
struct lp_type_count {
	uintptr_t type;
	const char *name; /* short tp_name, read when the histogram was made */
	uint64_t count;
};
struct lp_gen_stats {
	int64_t count;
	int64_t threshold;
	uint64_t objects;
	struct lp_vec by_type; /* struct lp_type_count, most first */
};
struct lp_objects_stats {
	bool in_use;
	uint64_t registered, tracked, untracked;
	uint64_t incref_calls, decref_calls;
	struct lp_gen_stats gen[LP_NGEN];
};
void lp_objects_stats(struct lp_objects_stats *s) LP_HIDDEN;
/* Count types: sorts types[] in place and appends to out (a vec of
 * struct lp_type_count) one entry per type, most common first. */
void lp_type_histogram(const uintptr_t *types, size_t n, struct lp_vec *out) LP_HIDDEN;
void lp_objects_stats_free(struct lp_objects_stats *s) LP_HIDDEN;

/* Module path of a ledger module id (1-based), or NULL. */
const char *lp_objects_module_name(uint16_t id) LP_HIDDEN;

/* Automatic collections (LEAKPROBE_AUTO): the oldest generation over its
 * threshold, as CPython's collect_generations picks it; -1 when none. */
int lp_objects_due_generation(void) LP_HIDDEN;

void lp_objects_lock(void) LP_HIDDEN;
void lp_objects_unlock(void) LP_HIDDEN;
