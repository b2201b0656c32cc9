/* SPDX-License-Identifier: MIT */
/* render_python.h - the Python section of a report (python/section.h) in
 * each format; called by render_text.c and render_json.c when r->py is
 * set. */
#pragma once

#include "core/linewriter.h"
#include "report/report.h"

struct lp_py_section;

/* The text report's share of the Python section: the first groups, and
 * the first members of each (JSON: all). */
#define LP_TEXT_PY_GROUPS 50
#define LP_TEXT_PY_MEMBERS 20

void lp_report_render_json_python(struct lp_lw *lw, const struct lp_py_section *s) LP_HIDDEN;
/* The "owner" member of large block i (nothing when unknown). */
void lp_report_json_owner(struct lp_lw *lw, const struct lp_py_section *s, size_t i) LP_HIDDEN;

void lp_report_render_text_python(struct lp_lw *lw, const struct lp_report *r) LP_HIDDEN;
/* The "owned by" and "retained by" lines of large block i. */
void lp_report_text_owner(struct lp_lw *lw, const struct lp_report *r, size_t i) LP_HIDDEN;
