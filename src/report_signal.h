/* SPDX-License-Identifier: MIT */
/*
 * report_signal.h - reports on LEAKPROBE_SIGNAL: the handler, the
 * program's handler chained behind it, the worker thread started at the
 * first request (report_signal.c says why and how).
 */
#pragma once

#include "lp.h"

/* Start-up: take the report signal over (no thread yet). */
void lp_report_signal_start(void) LP_HIDDEN;
/* In the forked child: no worker, no request, the child's own numbers. */
void lp_report_signal_after_fork_child(void) LP_HIDDEN;
/* From an allocation entry while lp_state is LP_WAKE: start the worker
 * if this context allows; then whether the allocation is tracked. */
bool lp_tracking_resume(void) LP_HIDDEN;
