/* SPDX-License-Identifier: MIT */
/* report_objects.h - helpers shared by the text and JSON renderers for the
 * object model's part of a report. */
#pragma once

#include "report/report.h"

/* Short type name (tp_name after its last dot) of an object's record. */
const char *lp_obj_type_name(const struct lp_obj *o) LP_HIDDEN;

/* A by_type histogram (struct lp_type_count, named and merged by short
 * name when it was made) as the members of a JSON object. */
/* The same as the end of a text line: ": dict 12, list 3, ...\n" (the
 * eight most common). */
void lp_by_type_text(struct lp_lw *lw, const struct lp_vec *by_type) LP_HIDDEN;
void lp_by_type_json(struct lp_lw *lw, const struct lp_vec *by_type) LP_HIDDEN;

/* Member k (group-local) of group gi: its record. */
const struct lp_obj *lp_group_member(const struct lp_report *r, size_t gi,
				     uint32_t k, bool *in_cycle) LP_HIDDEN;
