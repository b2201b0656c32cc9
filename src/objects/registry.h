/* SPDX-License-Identifier: MIT */
/*
 * registry.h - the records of objects/, private to the folder (the other
 * folders include objects/objects.h).  One struct lp_obj per object the
 * runtime created or tracked through the interposed API, found by address.
 *
 * The lock: lp_registry_lock, one spinlock, guards every piece of state the
 * folder's files share: the records and their index (here), the generation
 * lists and counts (generations.h), the ledger's totals and module table
 * (ledger.h).  Functions suffixed _locked are called with it held.  It is
 * held for a few dozen instructions, never across code that may be slow or
 * re-enter: the stack capture, the native-block lookup and the detector
 * (tp_traverse is the runtime's code) run unlocked.  Read without it, by
 * design: the in-use flag (atomic, registry.c) and the ledger's module
 * names (ledger.h).  lp_objects_lock() takes it around fork.
 */
#pragma once

#include "core/addrmap.h"
#include "core/spinlock.h"
#include "core/vec.h"
#include "objects/objects.h"

extern lp_spinlock lp_registry_lock LP_HIDDEN;

/* struct lp_obj, [0] unused: index 0 means "no record" in the index, the
 * free list and the generation links.  A freed record has addr 0 and sits
 * on the free list through its next field. */
extern struct lp_vec lp_registry_records LP_HIDDEN;
extern struct lp_addrmap lp_registry_index LP_HIDDEN; /* addr -> record */
extern uint64_t lp_registry_live LP_HIDDEN; /* records in use */

static inline struct lp_obj *
lp_registry_at(uint32_t i)
{
	return &LP_VEC_AT(&lp_registry_records, struct lp_obj, i);
}

/* obj's record, 0 when none.  Inline: the ledger looks up on every
 * Py_IncRef/Py_DecRef. */
static inline uint32_t
lp_registry_find_locked(uintptr_t obj)
{
	struct lp_addrmap_slot *s = lp_addrmap_find(&lp_registry_index, obj);
	return s ? s->value : 0;
}
