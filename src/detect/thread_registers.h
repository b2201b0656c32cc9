/* SPDX-License-Identifier: MIT */
/*
 * thread_registers.h - the registers of the program's running threads,
 * without stopping them: one perf sample each.
 *
 * A pointer a thread keeps only in a register (a loop that spins on it)
 * is a root: valgrind reads every thread's registers, LeakSanitizer stops
 * the threads with ptrace to read them.  Neither ptrace nor a signal is
 * ours to use (refused in containers; a signal interrupts the program's
 * calls), but the kernel's perf events can sample a thread of this
 * process as it runs: a software clock of the thread's own CPU time whose
 * first sample carries its user registers, taken in an interrupt, with no
 * signal and no stop.  Allowed with perf_event_paranoid <= 2 (the default
 * upstream; Debian's kernels default to 3, where only privileged
 * processes may) and where seccomp lets perf_event_open through.
 *
 * The sample is taken moments before the snapshot, not at its instant:
 * a register that keeps a value (a loop) is read right; one whose value
 * moves between memory and registers in those moments may be missed.
 */
#pragma once

#include "core/base.h"

/* rax rbx rcx rdx rsi rdi rbp rsp rip r8-r15 */
#define LP_SAMPLED_REGS 17
#define LP_SAMPLED_SP 7

/* Samples threads tids[0, n) of this process, waiting at most timeout_ns
 * for the first sample of each (a thread that blocks meanwhile gives
 * none).  got[i]: whether regs[i] holds thread i's registers.  Returns
 * how many were sampled; when perf events cannot be used here, 0 and
 * *why (an errno). */
unsigned lp_sample_thread_registers(const int *tids, unsigned n,
				    uint64_t (*regs)[LP_SAMPLED_REGS], bool *got,
				    uint64_t timeout_ns, int *why) LP_HIDDEN;
