/* SPDX-License-Identifier: MIT */
/*
 * roots.h - where the program keeps its pointers: the roots of the leak
 * scan (reachability.h), as valgrind memcheck takes them.
 *
 * Every readable and writable mapping of the process, except
 *   - malloc's own memory ([heap], glibc's arena heaps, its mmapped
 *     chunks): the blocks in it are the heap being classified;
 *   - the shim's: its mappings (own_memory.h) and its module's data;
 *   - thread stacks below the stack pointer: the calling thread's from
 *     the frame it gave, a thread blocked in the kernel from the stack
 *     pointer /proc shows, a running thread from the one a perf sample
 *     gives; stacks of threads that have exited (glibc keeps them cached)
 *     are skipped, unless a running thread's stack pointer could not be
 *     learnt (then every stack is read whole);
 * plus the calling thread's callee-saved registers, the registers of the
 * running threads (sampled, thread_registers.h) and the main thread's
 * static TLS (which glibc puts in [heap] for the main thread; other
 * threads' lies at the top of their stacks), less the shim's own TLS and
 * pymalloc's free blocks (pymalloc.h).
 *
 * Two halves: lp_roots_prepare in the process itself (the thread list,
 * what is ours) and lp_roots_scan in the snapshot (report/classify.c),
 * which reads /proc/self/maps of the frozen copy.  Neither allocates.
 */
#pragma once

#include "core/base.h"
#include "core/own_memory.h"
#include "detect/reachability.h"
#include "detect/thread_registers.h"

#define LP_ROOT_THREADS 4096
#define LP_SAMPLED_THREADS 64
/* Room in lp_roots_input.own beyond the shim's table: its data segments
 * and the scan's own memory. */
#define LP_ROOTS_EXTRA_OWN 16

struct lp_roots_input {
	/* What is ours: the shim's mappings (own_memory.h), its module's
	 * data segments, and what the scan maps for itself in the snapshot.
	 * -1: the shim's table overflowed, the scan cannot run. */
	struct lp_range own[LP_OWN_RANGES + LP_ROOTS_EXTRA_OWN];
	int nown;
	uintptr_t self_sp;   /* the calling thread's stack, from here up */
	uint64_t self_regs[6];
	uintptr_t main_tls_lo, main_tls_hi;
	/* The shim's own static TLS, in every thread: this far below the
	 * thread pointer, this long (none read). */
	uintptr_t shim_tls_below_tp, shim_tls_size;
	/* CPython's pymalloc pools, this big (0: none): only their live
	 * blocks are roots (pymalloc.h).  Set by the caller. */
	uintptr_t pymalloc_pool_size;
	uintptr_t sp[LP_ROOT_THREADS]; /* other threads: blocked in the kernel, or sampled */
	unsigned nsp;
	/* Running threads' registers, sampled (thread_registers.h). */
	uint64_t thread_regs[LP_SAMPLED_THREADS][LP_SAMPLED_REGS];
	unsigned nthread_regs;
	int sample_errno; /* why running threads could not be sampled, or 0 */
#define LP_SAMPLE_SECCOMP (-1) /* a seccomp filter: perf_event_open not tried */
	unsigned threads;      /* threads of the process, the caller included */
	unsigned sp_unknown;   /* running threads, or too many to list */
};

struct lp_roots_stats {
	uint64_t bytes;   /* root bytes read */
	unsigned regions; /* mappings (or parts) read */
};

/* Start-up, on the main thread: its thread pointer, for its TLS. */
void lp_roots_note_main_thread(void) LP_HIDDEN;
/* In the process, just before the snapshot.  self_sp: the calling
 * thread's frame the scan starts at; regs: its callee-saved registers.
 * at_exit: the scan starts at exit()'s own frame above self_sp instead
 * (found by its return address): the frames below are the exit
 * machinery's and ours, whose unwritten slots still hold what the
 * program's calls left there (valgrind does not read such stale words:
 * they are undefined to it). */
void lp_roots_prepare(struct lp_roots_input *in, uintptr_t self_sp,
		      const uint64_t regs[6], bool at_exit) LP_HIDDEN;
/* In the snapshot: scan every root into r (in: the snapshot's copy, to
 * which the scan adds its own memory). false: /proc/self/maps could not
 * be read, or no memory. */
bool lp_roots_scan(struct lp_roots_input *in, struct lp_reach *r,
		   struct lp_roots_stats *st) LP_HIDDEN;

/* The calling thread's callee-saved registers (x86-64: rbx, rbp, r12-r15;
 * elsewhere none are read: the stack from the caller's frame up only). */
#if defined(__x86_64__)
#define LP_SAVE_CALLEE_REGS(regs)                                                 \
	__asm__ volatile("movq %%rbx, 0(%0)\n\tmovq %%rbp, 8(%0)\n\t"            \
			 "movq %%r12, 16(%0)\n\tmovq %%r13, 24(%0)\n\t"          \
			 "movq %%r14, 32(%0)\n\tmovq %%r15, 40(%0)"              \
			 : : "r"(regs) : "memory")
#else
#define LP_SAVE_CALLEE_REGS(regs) memset((regs), 0, 6 * sizeof(uint64_t))
#endif
