/* SPDX-License-Identifier: MIT */
/*
 * mapping_at.h - the mapping of this process that holds an address, from
 * /proc/self/maps: PROCMAP_QUERY (one lookup in the kernel, Linux 6.11)
 * where the kernel has it, else the text, read with read(2) into a buffer
 * on the stack (no allocation).  For the unwinder's stack bounds and the
 * leak scan's own stack.
 */
#pragma once

#include "core/base.h"

struct lp_mapping {
	uintptr_t lo, hi;
	bool rw; /* readable and writable */
};

/* false: nothing is mapped at addr, or the maps could not be read.  The
 * caller has cancellation disabled (open and read are cancellation
 * points) and keeps errno. */
bool lp_mapping_at(uintptr_t addr, struct lp_mapping *m) LP_HIDDEN;
/* From now on the text only (for the unit test of kernels before 6.11). */
void lp_mapping_at_use_text(void) LP_HIDDEN;
