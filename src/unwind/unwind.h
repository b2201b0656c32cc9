/* SPDX-License-Identifier: MIT */
/*
 * unwind.h - capture the current call stack as raw instruction pointers.
 *
 * The hot path records return addresses only; symbolize.c turns them into
 * names when a report is written.  libunwind is loaded privately (dlopen
 * RTLD_LOCAL): its _Unwind_* exports must never reach the global scope,
 * where a C++ throw could bind to them.
 */
#pragma once

#include "core/base.h"

/* Load libunwind, learn our own text range.  false: no stacks. */
bool lp_unwind_init(void) LP_HIDDEN;

/* Room the capture buffer needs beyond the frames asked for: the shim's
 * own frames are captured, then dropped. */
#define LP_UNWIND_SLACK 8
#define LP_MAX_DEPTH 256

/* Fill ips with the stack of the caller; *first is where it starts once
 * the shim's own frames are skipped (ips[*first] is the first frame
 * outside libleakprobe.so: no copy to move it down).  ips has room for
 * max + LP_UNWIND_SLACK entries.  Returns the number of frames from
 * *first on (<= max). */
unsigned lp_unwind_capture(void **ips, unsigned max, unsigned *first) LP_HIDDEN;

/* libunwind alone, same contract as unw_backtrace: ips[0] is the return
 * address into our caller's frame. */
int lp_unwind_libunwind(void **ips, int max) LP_HIDDEN;

/* After dlclose: no cached unwind information of the old modules. */
void lp_unwind_forget_modules(void) LP_HIDDEN;

/* True if ip lies in libleakprobe.so. */
bool lp_unwind_is_self(uintptr_t ip) LP_HIDDEN;
