/* SPDX-License-Identifier: MIT */
/*
 * thread_exit.h - run a function of ours when the calling thread ends.
 *
 * Learned the way C++ thread_local destructors are
 * (__cxa_thread_atexit_impl), not through a pthread key: every key is the
 * program's (a program may create all PTHREAD_KEYS_MAX of them).  The
 * functions run when the thread returns or calls pthread_exit, and for the
 * main thread at exit() before the atexit handlers; later registrations
 * run first.  A thread that allocates again after its functions ran (a
 * pthread key destructor of the program's) registers again, and that one
 * may not run.
 */
#pragma once

#include "core/base.h"

/* false: this libc has no such hook, or this thread has too many. */
bool lp_at_thread_exit(void (*fn)(void *), void *arg) LP_HIDDEN;

/* Set once our functions ran: the next free of a block the shim never saw
 * allocated is glibc's own list entry (not counted as untracked). */
extern __thread bool lp_thread_exit_entry_next
	__attribute__((tls_model("initial-exec"))) LP_HIDDEN;
