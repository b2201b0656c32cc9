/* SPDX-License-Identifier: MIT */
/* report_objects.c - see report_objects.h. */
#include "report/render_objects.h"

#include <inttypes.h>
#include <string.h>

#include "detect/pyabi.h"

const char *
lp_obj_type_name(const struct lp_obj *o)
{
	return lp_py_short_name(lp_py_type_name(o->type));
}

void
lp_by_type_text(struct lp_lw *lw, const struct lp_vec *by_type)
{
	const struct lp_type_count *tc = by_type->data;
	for (size_t i = 0; i < by_type->len && i < 8; i++)
		lp_lw_printf(lw, "%s%s %" PRIu64, i ? ", " : ": ", tc[i].name, tc[i].count);
	lp_lw_puts(lw, by_type->len > 8 ? ", ...\n" : "\n");
}

void
lp_by_type_json(struct lp_lw *lw, const struct lp_vec *by_type)
{
	const struct lp_type_count *tc = by_type->data;
	for (size_t i = 0; i < by_type->len; i++) {
		if (i)
			lp_lw_puts(lw, ", ");
		lp_lw_json_string(lw, tc[i].name);
		lp_lw_printf(lw, ": %" PRIu64, tc[i].count);
	}
}

const struct lp_obj *
lp_group_member(const struct lp_report *r, size_t gi, uint32_t k, bool *in_cycle)
{
	const struct lp_detect_group *g =
		&LP_VEC_AT(&r->pass.det.groups, struct lp_detect_group, gi);
	uint32_t pos = g->first + k;
	if (in_cycle)
		*in_cycle = LP_VEC_AT(&r->pass.det.in_cycle, uint8_t, pos);
	return &LP_VEC_AT(&r->pass.info, struct lp_obj, pos);
}
