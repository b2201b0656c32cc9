/* SPDX-License-Identifier: MIT */
/*
 * cfi.h - the rule of one pc, read from its module's .eh_frame: what the
 * rule cache (fast_unwind.c) runs on a miss.
 *
 * cfi.c reads the .eh_frame_hdr search table, the CIE and FDE covering pc
 * and runs their CFI up to pc; the row found there becomes a rule word
 * (rule.h) the walk can step by, or one that makes it end or give up.
 * Every read lies inside the module's mapping.  Private to the cached
 * unwinder; lp_fast_unwind_function (fast_unwind.h) is defined there too.
 */
#pragma once

#include "unwind/rule.h"

#if LP_FAST_UNWIND_AVAILABLE
/* The rule of pc, which lies in mod: no tag, stamp or RULE_VOLATILE
 * (whether mod may be unloaded is the cache's to say). */
uint64_t lp_cfi_rule(uintptr_t pc, const struct dl_find_object *mod) LP_HIDDEN;
#endif
