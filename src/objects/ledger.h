/* SPDX-License-Identifier: MIT */
/*
 * ledger.h - the intercepted increfs and decrefs, private to objects/.
 * Per object, in its record (lp_obj.incs, decs, module); for the report,
 * the totals over every call, whether or not the object had a record.
 * Under lp_registry_lock (registry.h).  The module table (ledger.c) only
 * grows, under the lock; lp_objects_module_name reads it without: the ids
 * it is given come from records copied under the lock, which published the
 * entries they name.
 */
#pragma once

#include "objects/registry.h"

struct lp_ledger_totals {
	uint64_t incref_calls, decref_calls;
};
extern struct lp_ledger_totals lp_ledger_totals LP_HIDDEN;
