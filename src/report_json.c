/* SPDX-License-Identifier: MIT */
/* report_json.c - the report for tools: schema leakprobe-report/1, see
 * docs/report-format.md.  Extend, never break. */
#include <inttypes.h>

#include "report.h"
#include "stackdepot.h"
#include "symbolize.h"

static void
print_stack(struct lp_lw *lw, uint32_t id)
{
	const struct lp_stack *s = lp_depot_get(id);

	lp_lw_puts(lw, "[");
	for (uint32_t i = 0; s && i < s->depth; i++) {
		struct lp_frame f;
		lp_symbolize(s->ips[i], &f);
		lp_lw_printf(lw, "%s{\"ip\": \"%p\", \"function\": ", i ? ", " : "",
			     (void *)f.ip);
		lp_lw_json_string(lw, f.function);
		lp_lw_puts(lw, ", \"file\": ");
		lp_lw_json_string(lw, f.file);
		if (f.file)
			lp_lw_printf(lw, ", \"line\": %d", f.line);
		else
			lp_lw_puts(lw, ", \"line\": null");
		lp_lw_puts(lw, ", \"module\": ");
		lp_lw_json_string(lw, f.module);
		lp_lw_printf(lw, ", \"offset\": \"0x%lx\"}", (unsigned long)f.offset);
	}
	lp_lw_puts(lw, "]");
}

void
lp_report_render_json(struct lp_lw *lw, const struct lp_report *r)
{
	const struct lp_heap_totals *t = &r->totals;

	lp_lw_printf(lw, "{\"schema\": \"leakprobe-report/1\", \"pid\": %d, \"command\": ",
		     r->pid);
	lp_lw_json_string(lw, r->command);
	lp_lw_printf(lw, ", \"reason\": \"%s\", \"label\": ", lp_reason_name(r->reason));
	lp_lw_json_string(lw, r->label);
	lp_lw_printf(lw, ", \"seq\": %u, \"uptime_s\": %.3f,\n", r->seq, r->uptime_s);
	lp_lw_puts(lw, " \"warnings\": [");
	if (r->warning)
		lp_lw_json_string(lw, r->warning);
	lp_lw_puts(lw, "],\n");
	lp_lw_printf(lw, " \"heap\": {\"live_blocks\": %" PRIu64 ", \"live_bytes\": %" PRIu64
		     ", \"peak_bytes\": %" PRIu64 ", \"total_allocs\": %" PRIu64
		     ", \"total_frees\": %" PRIu64 ", \"untracked_frees\": %" PRIu64
		     ", \"table_bytes\": %" PRIu64 ", \"depot_bytes\": %zu},\n",
		     t->live_blocks, t->live_bytes, t->peak_bytes, t->allocs,
		     t->frees, r->untracked_frees, t->table_bytes, r->depot_bytes);

	lp_lw_puts(lw, " \"sites\": [");
	for (size_t i = 0; i < r->nsites; i++) {
		const struct lp_site *s = &r->sites[i];
		lp_lw_printf(lw, "%s\n  {\"kind\": \"live\", \"blocks\": %" PRIu64
			     ", \"bytes\": %" PRIu64 ", \"stack\": ",
			     i ? "," : "", s->blocks, s->bytes);
		print_stack(lw, s->stack);
		lp_lw_puts(lw, "}");
	}
	lp_lw_printf(lw, "],\n \"large_threshold\": %" PRIu64 ",\n \"large\": [",
		     r->large_threshold);
	for (size_t i = 0; i < r->nlarge; i++) {
		const struct lp_block *b = &r->large[i];
		double age = b->birth_ns && r->now_ns > b->birth_ns
				     ? (double)(r->now_ns - b->birth_ns) / 1e9 : 0;
		lp_lw_printf(lw, "%s\n  {\"address\": \"%p\", \"size\": %" PRIu64
			     ", \"age_s\": %.3f, \"stack\": ",
			     i ? "," : "", (void *)b->ptr, b->size, age);
		print_stack(lw, b->stack);
		lp_lw_puts(lw, "}");
	}
	lp_lw_puts(lw, "]}\n");
}
