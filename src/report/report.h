/* SPDX-License-Identifier: MIT */
/*
 * report.h - gather a consistent picture of the heap and hand it to a
 * renderer (report_text.c, report_json.c), writing to the destination that
 * output.c opens.
 */
#pragma once

#include "core/base.h"
#include "core/linewriter.h"
#include "core/report_hooks.h"
#include "objects/objects.h"
#include "record/heap_table.h"
#include "report/classify.h"

struct lp_py_section;

/* One allocation site: live blocks with the same stack (and, once
 * classified, the same kind; LP_LEAK_KINDS: not classified, "live"). */
struct lp_suppression;
struct lp_site {
	uint32_t stack;
	uint8_t kind;
	uint64_t blocks, bytes;
	const struct lp_suppression *suppressed; /* a lost site a suppression matched */
};

/* What gathering this report cost, phase by phase (ns): JSON cost_ms,
 * the text report's "This report took" line. */
struct lp_report_cost {
	uint64_t heap, classify, py_enumerate, py_detect, py_owners, objects, symbolize;
};

struct lp_report {
	enum lp_reason reason;
	const char *label; /* from leakprobe_report(), may be NULL */
	bool json_copy;    /* also written as JSON for the caller: everything named */
	unsigned flags;    /* LEAKPROBE_REPORT_* of an API report */
	unsigned seq;
	int pid;
	double uptime_s;
	uint64_t now_ns; /* when the report began reading the heap: ages count to here */
	const char *command;
	struct lp_heap_totals totals;
	struct lp_site *sites; /* by kind (lost first), then largest bytes first */
	size_t nsites;
	size_t nsites_shown; /* printed with their stacks (text: LEAKPROBE_TOP, or every lost site) */
	/* The leak verdict (classify.h); classify.done when there is one. */
	struct lp_classify classify;
	uint8_t *large_kind; /* per large block, when classified */
	/* Lost blocks and Python unreachable groups the suppressions took out
	 * of the verdict (not counted in classify.totals' lost kinds). */
	uint64_t suppressed_blocks, suppressed_bytes, suppressed_groups;
	struct lp_block *large; /* largest first */
	size_t nlarge;
	uint64_t large_threshold;
	uint64_t untracked_frees;
	size_t depot_bytes;
	/* e.g. the executable defines its own malloc; blocks made before
	 * start-up that could not be kept; why frames are not fully named */
	const char *warnings[5];
	unsigned nwarnings;
	uint64_t signals_coalesced; /* report signals folded into earlier reports */

	/* The object model (empty when no object API call was seen). */
	struct lp_objects_stats objects;
	bool detected;            /* the detector ran for this report */
	const char *detector_note; /* why it did not */
	struct lp_pass pass;
	/* Live CPython, when the report is written with the GIL held. */
	struct lp_py_section *py;
	struct lp_report_cost cost;
};

/* One line of the text report: "==PID== " and the formatted text. */
#define LP_LINE(lw, r, ...)                                                          \
	do {                                                                   \
		lp_lw_printf(lw, "==%d== ", (r)->pid);                         \
		lp_lw_printf(lw, __VA_ARGS__);                                 \
	} while (0)

/* Write a report now.  Serialised: one report at a time.  safe_point:
 * the caller guarantees no thread mutates the object graph, so the cycle
 * detector may run (see safepoint.h). */
void lp_report_write_at(enum lp_reason reason, const char *label,
			bool safe_point) LP_HIDDEN;
/* The same, and the report also as JSON in json_path (NULL: none);
 * flags: LEAKPROBE_REPORT_* (leakprobe.h).  false when that copy could not
 * be written. */
bool lp_report_write_with_json(enum lp_reason reason, const char *label, bool safe_point,
			       const char *json_path, unsigned flags) LP_HIDDEN;
/* A note for the next report only (the API: why a part is missing). */
void lp_report_note_next(const char *note) LP_HIDDEN;
const char *lp_reason_name(enum lp_reason r) LP_HIDDEN;
/* The exit report's leaks of the kinds in LEAKPROBE_LEAK_KINDS: blocks
 * and bytes (native), and Python unreachable groups; false when no exit
 * report classified (for LEAKPROBE_EXITCODE). */
bool lp_report_exit_leaks(uint64_t *blocks, uint64_t *bytes, uint64_t *cycles) LP_HIDDEN;

void lp_report_render_text(struct lp_lw *lw, const struct lp_report *r) LP_HIDDEN;
void lp_report_render_json(struct lp_lw *lw, const struct lp_report *r) LP_HIDDEN;

/* Report signals folded into another report (report_signal.c counts,
 * from its handler). */
extern uint64_t lp_report_signals_coalesced LP_HIDDEN;

/* Set once at start-up by control.c. */
void lp_report_set_command(const char *cmd) LP_HIDDEN;
void lp_report_set_warning(const char *warning) LP_HIDDEN;
/* Held while a report is written; fork takes it so the child never
 * inherits a report half written. */
void lp_report_lock(void) LP_HIDDEN;
void lp_report_unlock(void) LP_HIDDEN;
/* The exit report is about to be written: from now on a signal report
 * that has not begun is not written (counted as coalesced).  Called by
 * whoever writes the exit report (control.c, the Python atexit callback). */
void lp_report_exit_begins(void) LP_HIDDEN;
/* Called by lp_report_exit_begins (the report signal folds a request
 * not yet taken into the exit report). */
void lp_report_on_exit_begins(void (*fn)(void)) LP_HIDDEN;
bool lp_report_exit_begun(void) LP_HIDDEN;
/* Called once a signal report is complete where the user looks for it
 * (renamed into place), before its memory is released: a report signal
 * from then on asks for a new report. */
void lp_report_on_signal_report_written(void (*fn)(void)) LP_HIDDEN;
/* After fork: the child numbers its reports from 1 again. */
void lp_report_after_fork_child(void) LP_HIDDEN;
