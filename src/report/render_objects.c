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
lp_gen_by_name(const struct lp_vec *by_type,
	       void (*fn)(void *ctx, const char *name, uint64_t count, bool first),
	       void *ctx)
{
	const struct lp_type_count *tc = by_type->data;
	size_t n = by_type->len;
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		const char *name = lp_py_short_name(lp_py_type_name(tc[i].type));
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(name, lp_py_short_name(lp_py_type_name(tc[j].type)));
		if (seen)
			continue;
		uint64_t count = tc[i].count;
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(name, lp_py_short_name(lp_py_type_name(tc[j].type))))
				count += tc[j].count;
		fn(ctx, name, count, first);
		first = false;
	}
}

static void
json_entry(void *ctx, const char *name, uint64_t count, bool first)
{
	struct lp_lw *lw = ctx;
	if (!first)
		lp_lw_puts(lw, ", ");
	lp_lw_json_string(lw, name);
	lp_lw_printf(lw, ": %" PRIu64, count);
}

void
lp_by_type_json(struct lp_lw *lw, const struct lp_vec *by_type)
{
	lp_gen_by_name(by_type, json_entry, lw);
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
