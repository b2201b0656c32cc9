/* SPDX-License-Identifier: MIT */
/*
 * report_signal.h - reports on LEAKPROBE_SIGNAL: the handler, the
 * program's handler chained behind it, the worker thread started at the
 * first request (report_signal.c says why and how).
 */
#pragma once

#include "core/base.h"

/* Start-up: take the report signal over (no thread yet). */
void lp_report_signal_start(void) LP_HIDDEN;
/* In the forked child: no worker, no request, the child's own numbers. */
void lp_report_signal_after_fork_child(void) LP_HIDDEN;
/* For interpose/signal.c.  The report signal (0: none taken over). */
int lp_report_signal_number(void) LP_HIDDEN;
/* sig is the report signal, and this process owns the state (not a vfork
 * child sharing our memory). */
bool lp_report_signal_owned(int sig) LP_HIDDEN;
struct sigaction;
/* Any other signal's sigaction(), and any in a vfork child. */
int lp_report_signal_real_sigaction(int sig, const struct sigaction *act,
				    struct sigaction *old) LP_HIDDEN;
/* The program sets (act) and reads (old) its disposition for it. */
void lp_report_signal_program_action(const struct sigaction *act, struct sigaction *old) LP_HIDDEN;
/* A thread calls pthread_exit (the worker watches for the main thread). */
void lp_report_signal_thread_exits(void) LP_HIDDEN;

/* From an allocation entry while lp_state is LP_WAKE: start the worker
 * if this context allows; then whether the allocation is tracked. */
bool lp_tracking_resume(void) LP_HIDDEN;
