/* SPDX-License-Identifier: MIT */
/*
 * own_memory.h - the address ranges the shim maps for itself.
 *
 * The leak scan (detect/roots.c) reads every writable mapping of the
 * program as a root; the shim's own mappings (allocation logs, the side
 * table, report arrays) hold a pointer to every live block and must not
 * count.  Every mmap, munmap and mremap of the shim goes through these
 * drop-in replacements, which keep a table of what is ours.  The table is
 * bounded (LP_OWN_RANGES); once it overflows, lp_own_ranges says so and
 * the scan declines rather than take our memory for the program's.
 * Signals are blocked while the table changes, so a handler that reaches
 * the shim never waits for its own thread.
 */
#pragma once

#include <sys/types.h>

#include "core/base.h"

void *lp_own_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) LP_HIDDEN;
int lp_own_munmap(void *addr, size_t len) LP_HIDDEN;
void *lp_own_mremap(void *old, size_t old_len, size_t new_len, int flags,
		    void *new_addr) LP_HIDDEN;

struct lp_range {
	uintptr_t lo, hi;
};

#define LP_OWN_RANGES 1024

/* Copies the table into out[cap]; returns how many, or -1 when it has
 * overflowed (some memory of ours is not in it). */
int lp_own_ranges(struct lp_range *out, size_t cap) LP_HIDDEN;

/* fork, in the child: the lock may have been held by a thread left behind. */
void lp_own_after_fork_child(void) LP_HIDDEN;
