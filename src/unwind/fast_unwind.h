/* SPDX-License-Identifier: MIT */
/*
 * fast_unwind.h - a DWARF CFI unwinder with the unwind rule of each
 * instruction pointer cached.
 *
 * libunwind re-reads .eh_frame for every frame it steps; here the rule that
 * turns (ip, sp, bp) into the caller's (ip, sp, bp) is parsed once per
 * address and cached, so a warm stack walk is a few loads per frame.
 * Anything the cache cannot express (signal frames, DWARF expressions,
 * frames without CFI) makes it give up, and the caller falls back to
 * libunwind: a fast wrong stack is never returned.
 *
 * The walk and its rule cache are in fast_unwind.c; reading .eh_frame in
 * cfi.c (lp_fast_unwind_function too); the stacks a walk may read in
 * stack_bounds.c (lp_fast_unwind_read_maps_as_text too).
 */
#pragma once

#include "core/base.h"

bool lp_fast_unwind_init(void) LP_HIDDEN;
/* Find stack mappings in the text of /proc/self/maps, as on kernels
 * before 6.11 (no PROCMAP_QUERY): for the unit test. */
void lp_fast_unwind_read_maps_as_text(void) LP_HIDDEN;

/* The range of the function containing pc, as its FDE says (false: no
 * unwind information covers pc). */
bool lp_fast_unwind_function(uintptr_t pc, uintptr_t *lo, uintptr_t *hi) LP_HIDDEN;

/* Same contract as unw_backtrace: ips[0] is the return address into the
 * caller of lp_fast_unwind.  Returns the number of frames, or -1 when the
 * walk met a frame it cannot unwind exactly. */
int lp_fast_unwind(void **ips, int max) LP_HIDDEN;
