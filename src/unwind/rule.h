/* SPDX-License-Identifier: MIT */
/*
 * rule.h - the rule word: how one frame's (pc, sp, rbp) become its
 * caller's, in the few bits the rule cache keeps per pc.
 *
 * cfi.c derives a rule from a module's CFI; fast_unwind.c caches it
 * (tag in the high bits, stamped when its module may be unloaded) and
 * the walk steps by it.  Private to the cached unwinder.
 */
#pragma once

#include <dlfcn.h> /* _dl_find_object */

#include "core/base.h"

/* The cached unwinder needs x86-64 and _dl_find_object (glibc 2.35);
 * elsewhere libunwind does everything. */
#if defined(__x86_64__) && defined(DLFO_STRUCT_HAS_EH_DBASE)
#define LP_FAST_UNWIND_AVAILABLE 1
#else
#define LP_FAST_UNWIND_AVAILABLE 0
#endif

/* Rule fields, low bits first.  The CFA offset comes first: on the walk's
 * critical path it takes a single AND. */
#define CFA_OFF_MAX ((UINT64_C(1) << 18) - 1) /* bits 0..17: CFA offset */
#define RULE_ALIGNED (UINT64_C(1) << 18) /* CFA = *(rbp + slot offset) */
#define RULE_KIND_SHIFT 19
#define RULE_KIND (UINT64_C(3) << RULE_KIND_SHIFT)
#define RULE_EMPTY (UINT64_C(0) << RULE_KIND_SHIFT)
#define RULE_STANDARD (UINT64_C(1) << RULE_KIND_SHIFT)   /* step to the caller */
#define RULE_LAST (UINT64_C(2) << RULE_KIND_SHIFT)	     /* outermost frame */
#define RULE_UNSUPPORTED (UINT64_C(3) << RULE_KIND_SHIFT) /* libunwind's job */
/* No CFI: step by the frame pointer if rbp looks like one, else end (a
 * last rule never uses rbp for the CFA: the flag marks the kind). */
#define RULE_FRAME_POINTER (RULE_LAST | RULE_CFA_RBP)
#define RULE_VOLATILE (UINT64_C(1) << 21)
#define RULE_STAMP_SHIFT 22 /* 4 bits of loader generation */
#define RULE_CFA_RBP (UINT64_C(1) << 26)
#define RULE_RBP_SAVED (UINT64_C(1) << 27)
/* Bits 28..34, signed: the rbp slot (CFA + 8 * it), or for an aligned
 * rule the CFA slot (rbp + it, in bytes). */
#define RULE_SLOT_SHIFT 28
#define RULE_FIELD_BITS 35 /* the cache's tag starts at or above */
