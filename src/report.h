/* SPDX-License-Identifier: MIT */
/*
 * report.h - gather a consistent picture of the heap and hand it to a
 * renderer (report_text.c, report_json.c), writing to the destination that
 * output.c opens.
 */
#pragma once

#include "heap_table.h"
#include "linewriter.h"
#include "lp.h"

enum lp_reason { LP_REASON_EXIT, LP_REASON_SIGNAL, LP_REASON_API };

/* One allocation site: live blocks with the same stack. */
struct lp_site {
	uint32_t stack;
	uint64_t blocks, bytes;
};

struct lp_report {
	enum lp_reason reason;
	const char *label; /* from leakprobe_report(), may be NULL */
	unsigned seq;
	int pid;
	double uptime_s;
	uint64_t now_ns; /* when the heap was copied: ages count to here */
	const char *command;
	struct lp_heap_totals totals;
	struct lp_site *sites; /* largest bytes first */
	size_t nsites;
	struct lp_block *large; /* largest first */
	size_t nlarge;
	uint64_t large_threshold;
	uint64_t untracked_frees;
	size_t depot_bytes;
	const char *warning; /* e.g. the executable defines its own malloc */
};

/* Write a report now.  Serialised: one report at a time. */
void lp_report_write(enum lp_reason reason, const char *label) LP_HIDDEN;
const char *lp_reason_name(enum lp_reason r) LP_HIDDEN;

void lp_report_render_text(struct lp_lw *lw, const struct lp_report *r) LP_HIDDEN;
void lp_report_render_json(struct lp_lw *lw, const struct lp_report *r) LP_HIDDEN;

/* Set once at start-up by control.c. */
void lp_report_set_command(const char *cmd) LP_HIDDEN;
void lp_report_set_warning(const char *warning) LP_HIDDEN;
/* Held while a report is written; fork takes it so the child never
 * inherits a report half written. */
void lp_report_lock(void) LP_HIDDEN;
void lp_report_unlock(void) LP_HIDDEN;
/* After fork: the child numbers its reports from 1 again. */
void lp_report_after_fork_child(void) LP_HIDDEN;
