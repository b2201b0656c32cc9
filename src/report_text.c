/* SPDX-License-Identifier: MIT */
/* report_text.c - the report for people, in the manner of LSan and
 * valgrind: every line prefixed with ==pid== so it can be told apart from
 * the program's own stderr. */
#include <inttypes.h>

#include "options.h"
#include "report.h"
#include "stackdepot.h"
#include "symbolize.h"

#define P(lw, r, ...)                                                          \
	do {                                                                   \
		lp_lw_printf(lw, "==%d== ", (r)->pid);                         \
		lp_lw_printf(lw, __VA_ARGS__);                                 \
	} while (0)

static void
print_stack(struct lp_lw *lw, const struct lp_report *r, uint32_t id)
{
	const struct lp_stack *s = lp_depot_get(id);

	if (!s) {
		P(lw, r, "    (no stack: LEAKPROBE_DEPTH=0 or capture failed)\n");
		return;
	}
	for (uint32_t i = 0; i < s->depth; i++) {
		struct lp_frame f;
		lp_symbolize(s->ips[i], &f);
		P(lw, r, "    #%u %p", i, (void *)f.ip);
		if (f.function)
			lp_lw_printf(lw, " in %s", f.function);
		if (f.file)
			lp_lw_printf(lw, " %s:%d", f.file, f.line);
		if (f.module)
			lp_lw_printf(lw, " (%s+0x%lx)\n", f.module, (unsigned long)f.offset);
		else
			lp_lw_printf(lw, " (<unknown module>)\n");
	}
}

void
lp_report_render_text(struct lp_lw *lw, const struct lp_report *r)
{
	const struct lp_heap_totals *t = &r->totals;
	size_t shown = r->nsites < lp_opt.top ? r->nsites : (size_t)lp_opt.top;

	P(lw, r, "leakprobe report %u (%s%s%s), pid %d, uptime %.2f s\n", r->seq,
	  lp_reason_name(r->reason), r->label ? ": " : "",
	  r->label ? r->label : "", r->pid, r->uptime_s);
	P(lw, r, "command: %s\n", r->command);
	if (r->warning)
		P(lw, r, "WARNING: %s\n", r->warning);
	P(lw, r, "heap: %" PRIu64 " live blocks, %" PRIu64 " live bytes, peak %"
	  PRIu64 " bytes; %" PRIu64 " allocations, %" PRIu64 " frees\n",
	  t->live_blocks, t->live_bytes, t->peak_bytes, t->allocs, t->frees);
	if (r->untracked_frees)
		P(lw, r, "note: %" PRIu64 " frees of pointers leakprobe never saw "
		  "allocated (made before it started, or invalid)\n",
		  r->untracked_frees);

	for (size_t i = 0; i < shown; i++) {
		const struct lp_site *s = &r->sites[i];
		P(lw, r, "\n");
		P(lw, r, "%" PRIu64 " bytes in %" PRIu64 " blocks live, allocated from:\n",
		  s->bytes, s->blocks);
		print_stack(lw, r, s->stack);
	}
	if (shown < r->nsites) {
		uint64_t bytes = 0, blocks = 0;
		for (size_t i = shown; i < r->nsites; i++) {
			bytes += r->sites[i].bytes;
			blocks += r->sites[i].blocks;
		}
		P(lw, r, "\n");
		P(lw, r, "... and %zu more sites: %" PRIu64 " bytes in %" PRIu64
		  " blocks (LEAKPROBE_TOP=%" PRIu64 " shows more; JSON lists all)\n",
		  r->nsites - shown, bytes, blocks, (uint64_t)lp_opt.top);
	}

	if (r->nlarge) {
		P(lw, r, "\n");
		P(lw, r, "Lingering large allocations (>= %" PRIu64 " bytes): %zu\n",
		  r->large_threshold, r->nlarge);
		for (size_t i = 0; i < r->nlarge; i++) {
			const struct lp_block *b = &r->large[i];
			double age = b->birth_ns && r->now_ns > b->birth_ns
				     ? (double)(r->now_ns - b->birth_ns) / 1e9 : 0;
			P(lw, r, "\n");
			P(lw, r, "%" PRIu64 " bytes at %p, age %.2f s, allocated from:\n",
			  b->size, (void *)b->ptr, age);
			print_stack(lw, r, b->stack);
		}
	}
	P(lw, r, "\n");
	P(lw, r, "SUMMARY: leakprobe: %" PRIu64 " bytes live in %" PRIu64
	  " blocks from %zu sites; %zu large.\n",
	  t->live_bytes, t->live_blocks, r->nsites, r->nlarge);
}
