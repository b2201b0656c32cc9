/* SPDX-License-Identifier: MIT */
/*
 * pymalloc.h - CPython's small-object allocator, as the leak scan meets it.
 *
 * pymalloc's arenas are anonymous mappings, so the scan reads them as
 * roots (its live objects point at malloc'd item arrays, dict keys and
 * buffers).  But a freed pymalloc block keeps its last contents, and
 * glibc hands a freed malloc block out again at once: a stale pointer in a
 * freed object would make the new owner of that memory reachable, or
 * possibly lost, where valgrind (whose allocator holds freed memory back)
 * calls it definitely lost.  So in a pool only the live blocks are roots.
 *
 * A pool is recognised by its header at a pool-aligned address (3.8-3.13,
 * 64-bit: struct pool_header of Objects/obmalloc.c, 16-byte size classes,
 * 4 KiB pools before 3.10, 16 KiB since): the size class, the offsets of
 * its never-used tail and of its last block (POOL_SIZE - size, exactly),
 * a free list inside the pool.  Memory that only looks like one loses
 * nothing but the blocks a consistent free list names.
 */
#pragma once

#include "core/base.h"

/* The pool size of the running CPython minor version (0: none known). */
size_t lp_pymalloc_pool_size(int minor) LP_HIDDEN;

/* If [pool, pool + pool_size) holds a pymalloc pool, calls live(lo, hi)
 * for each run of its header and live blocks, in address order, and
 * returns true; else calls nothing and returns false.  In a snapshot:
 * reads the pool, writes nothing. */
bool lp_pymalloc_pool_live(uintptr_t pool, size_t pool_size,
			   void (*live)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx) LP_HIDDEN;
