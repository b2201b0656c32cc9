/* SPDX-License-Identifier: MIT */
/*
 * report_hooks.h - asking for a report from below report/.
 *
 * Writing a report is report/'s.  The safe points that decide when one may
 * be written (objects/safepoint.c, python/) sit below it and ask through
 * these hooks, which control/ connects at start-up; unconnected (unit
 * tests), a request writes nothing.
 */
#pragma once

#include "core/base.h"

enum lp_reason { LP_REASON_EXIT, LP_REASON_SIGNAL, LP_REASON_API, LP_REASON_AUTO };

struct lp_report_hooks {
	/* Write a report now; the caller is at a safe point (the object
	 * graph may be examined). */
	void (*write_at_safe_point)(enum lp_reason reason);
	/* The exit report is about to be written (report.h). */
	void (*exit_begins)(void);
};

void lp_report_hooks_connect(const struct lp_report_hooks *hooks) LP_HIDDEN;

void lp_report_at_safe_point(enum lp_reason reason) LP_HIDDEN;
void lp_report_exit_is_next(void) LP_HIDDEN;
