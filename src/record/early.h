/* SPDX-License-Identifier: MIT */
/*
 * early.h - the blocks a program allocates before the shim tracks.
 *
 * Library constructors that run before ours (libstdc++'s emergency
 * exception pool, 72 704 bytes, in every C++ process) and ld.so allocate
 * through our malloc before the tables, the depot and the options exist.
 * Their blocks are kept here, in a static table (no allocation): pointer,
 * size, and the stack the cached unwinder could read then (at least the
 * allocating call's return address).  A free before tracking starts takes
 * a block out again; a realloc moves it.  When tracking starts, every block
 * still here goes into the side table (headerless, as all blocks the shim
 * did not hand out with a header), so its later free, and every report,
 * see it.  The table is then closed for good.
 *
 * Not recorded: the bootstrap arena's blocks (dlsym's own, while we
 * resolve the real functions: not the program's) and anything allocated
 * with the guard up (the shim's own).  A full table counts the blocks it
 * could not keep; reports say so in their warnings.
 *
 * All of it runs on the slow (untracked) paths only.
 */
#pragma once

#include "core/base.h"

/* Set at load, cleared once tracking starts (or the process goes inert). */
extern bool lp_early_open LP_HIDDEN;

/* A block the program got while not tracking (p may be NULL: nothing).
 * caller: the allocating call's return address. */
void lp_early_alloc(void *p, size_t size, void *caller) LP_HIDDEN;
/* The program frees p while not tracking. */
void lp_early_free(void *p) LP_HIDDEN;
/* realloc(p, size) gave q while not tracking (q NULL with size > 0: it
 * failed and p lives on). */
void lp_early_realloc(void *p, void *q, size_t size, void *caller) LP_HIDDEN;

/* Start-up, guard up, the depot and the side table ready: the blocks go
 * into the side table and the state becomes LP_TRACKING, one step under the
 * table's lock (a free racing with it finds the block in one place or the
 * other). */
void lp_early_start_tracking(void) LP_HIDDEN;
/* Start-up when this process will not track: forget the table. */
void lp_early_close(void) LP_HIDDEN;

/* Blocks (and their bytes) the full table could not keep; its size. */
uint64_t lp_early_dropped_blocks(void) LP_HIDDEN;
uint64_t lp_early_dropped_bytes(void) LP_HIDDEN;
unsigned lp_early_capacity(void) LP_HIDDEN;
