/* SPDX-License-Identifier: MIT */
/* report_objects.h - helpers shared by the text and JSON renderers for the
 * object model's part of a report. */
#pragma once

#include "report/report.h"

/* Short type name (tp_name after its last dot) of an object's record. */
const char *lp_obj_type_name(const struct lp_obj *o) LP_HIDDEN;

/* A by_type histogram (struct lp_type_count) merged by short name (two
 * classes may share a __name__): calls fn(name, count) in decreasing
 * count. */
void lp_gen_by_name(const struct lp_vec *by_type,
		    void (*fn)(void *ctx, const char *name, uint64_t count, bool first),
		    void *ctx) LP_HIDDEN;
/* The same histogram as the members of a JSON object. */
void lp_by_type_json(struct lp_lw *lw, const struct lp_vec *by_type) LP_HIDDEN;

/* Member k (group-local) of group gi: its record. */
const struct lp_obj *lp_group_member(const struct lp_report *r, size_t gi,
				     uint32_t k, bool *in_cycle) LP_HIDDEN;
