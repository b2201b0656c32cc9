/* SPDX-License-Identifier: MIT */
/*
 * classify.h - one report's leak verdict: every live block's kind
 * (reachability.h), found in a snapshot of the process.
 *
 * The snapshot is a child made with a raw clone(2) without CLONE_VM: a
 * copy-on-write image of the address space at one instant, in which no
 * thread of the program runs, so no block can be freed or unmapped under
 * the scan.  No atfork handler runs, the child calls no malloc and takes
 * no lock of the program's, every signal stays blocked in it, and its exit
 * sends no signal (exit signal 0: the program's wait() never sees it).
 * The program's threads keep running; only the reporting thread waits.
 * The child writes each block's kind into shared memory and exits; if it
 * dies or takes too long, the report says the classification failed and
 * lists the blocks as live.
 */
#pragma once

#include "detect/reachability.h"
#include "detect/roots.h"
#include "detect/start_index.h"
#include "record/heap_table.h"

struct lp_leak_totals {
	uint64_t blocks[LP_LEAK_KINDS], bytes[LP_LEAK_KINDS];
	uint64_t heuristic_blocks, heuristic_bytes; /* reachable via a heuristic */
};

struct lp_classify {
	struct lp_vec blocks; /* struct lp_reach_block, tag = stack id; sorted by run */
	struct lp_start_index index; /* over blocks, during the run */
	bool done;
	const char *failed;   /* why there is no verdict */
	uint8_t *kinds;       /* per block of blocks, shared with the snapshot */
	size_t kinds_mapped;
	struct lp_leak_totals totals;
	double seconds;
	double sort_seconds, snapshot_seconds; /* before the clone; the clone to the child's end */
	uint64_t roots_bytes;
	uint64_t unreadable_blocks; /* records whose memory was not mapped */
	unsigned threads, threads_unknown_sp;
	unsigned threads_sampled; /* running threads whose registers a perf sample gave */
	int sample_errno;         /* why running threads could not be sampled, or 0 */
};

/* Whether this report classifies (LEAKPROBE_CLASSIFY). */
bool lp_classify_wanted(bool exit_report) LP_HIDDEN;
/* While the heap is gathered: one live block. */
void lp_classify_add(struct lp_classify *c, const struct lp_block *b) LP_HIDDEN;
/* Classify the blocks added.  self_sp and regs: the reporting thread's
 * frame to scan from and its callee-saved registers; at_exit: see
 * lp_roots_prepare. */
void lp_classify_run(struct lp_classify *c, uintptr_t self_sp, const uint64_t regs[6],
		     bool at_exit) LP_HIDDEN;
/* After a run that is done: the kind of block i of c->blocks, and of the
 * live block at ptr (LP_LEAK_KINDS when unknown). */
static inline enum lp_leak_kind
lp_classify_kind_at(const struct lp_classify *c, size_t i)
{
	return (enum lp_leak_kind)LP_REACH_KIND(c->kinds[i]);
}
enum lp_leak_kind lp_classify_kind_of(const struct lp_classify *c, uintptr_t ptr) LP_HIDDEN;
void lp_classify_free(struct lp_classify *c) LP_HIDDEN;
