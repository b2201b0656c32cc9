/* SPDX-License-Identifier: MIT */
/*
 * alloc_log.h - the live blocks that carry a header (block_header.h).
 *
 * Each thread appends the blocks it allocates to a log of its own, without
 * a lock: an entry {ptr, size, stack} whose index the block's header
 * keeps.  A free by the owning thread clears the entry in place, again
 * without a lock; a free from any other thread clears it under the log's
 * lock.  Reports read the logs under their locks and never touch the
 * blocks themselves, which may be freed and unmapped meanwhile.
 *
 * When a log fills up, its owner squeezes the cleared entries out (moving
 * the survivors down and rewriting their headers' index) or, if few died,
 * makes it bigger.  A log outlives its thread: at thread exit it goes to a
 * pool, with its live entries, and the next thread that allocates takes it
 * over.
 *
 * Callers hold the reentrancy guard.  A free that arrives while this
 * thread is already inside the shim (a signal handler's, or glibc's while
 * we unwind) must not touch the logs: record.c defers it.
 */
#pragma once

#include "core/base.h"
#include "record/heap_table.h"

struct lp_alloc_log_entry {
	uintptr_t ptr; /* the block as the program sees it; 0: freed */
	uint32_t size;
	uint32_t stack;
};

/* Start-up: the thread-exit hook. */
bool lp_alloc_log_init(void) LP_HIDDEN;

/* Record p (its header not yet written) in this thread's log and write
 * its header.  false: no log could be had (out of memory); the caller
 * records the block elsewhere. */
bool lp_alloc_log_add(void *p, uint32_t size, uint32_t stack) LP_HIDDEN;

/* Forget p, whose header is valid; *out gets its entry.  false: the
 * header named no live entry (it was left by a process we forked from
 * half-way through an allocation). */
bool lp_alloc_log_forget(void *p, struct lp_alloc_log_entry *out) LP_HIDDEN;

/* The entry of a live headered block, without changing anything. */
bool lp_alloc_log_lookup(const void *p, struct lp_alloc_log_entry *out) LP_HIDDEN;

/* Call fn for every live entry, one log locked at a time: fn must not
 * allocate.  Adds the logs' counters and memory to *totals. */
void lp_alloc_log_visit(void (*fn)(const struct lp_alloc_log_entry *e, void *arg), void *arg,
		  struct lp_heap_totals *totals) LP_HIDDEN;

/* fork: every log lock taken before, released after; in the child the
 * logs of threads that did not survive go to the pool. */
void lp_alloc_log_lock_all(void) LP_HIDDEN;
void lp_alloc_log_unlock_all(void) LP_HIDDEN;
void lp_alloc_log_after_fork_child(void) LP_HIDDEN;

/* Frees that could not touch the logs when they came (this thread was
 * inside the shim), chained through the blocks themselves: done by
 * lp_alloc_log_free_deferred, which the thread calls once it is outside any log
 * operation (after its next recorded allocation, at thread exit, the
 * report thread after each report). */
extern __thread void *lp_alloc_log_deferred
	__attribute__((tls_model("initial-exec"))) LP_HIDDEN;
void lp_alloc_log_defer(void *p) LP_HIDDEN;
void lp_alloc_log_free_deferred(void) LP_HIDDEN;
