/* SPDX-License-Identifier: MIT */
/*
 * block_sort.h - the block list in address order, as lp_reach_init wants
 * it.
 *
 * The logs hand blocks out in allocation order, which a heap that frees
 * and reuses memory (every Python program) makes far from address order.
 * A comparison sort of W1's 3.6 M blocks took 0.6-0.8 s, twice
 * LeakSanitizer's whole leak check; a radix sort on the address reads the
 * list a handful of times instead.  Its scratch memory is the shim's own
 * mapping, so the leak scan never takes it for the program's.
 */
#pragma once

#include "detect/reachability.h"

/* Sorts b[0, n) by ptr.  Falls back to qsort when the scratch memory (n
 * more records) cannot be mapped. */
void lp_block_sort(struct lp_reach_block *b, size_t n) LP_HIDDEN;
