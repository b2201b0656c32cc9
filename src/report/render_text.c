/* SPDX-License-Identifier: MIT */
/* report_text.c - the report for people, in the manner of LSan and
 * valgrind: every line prefixed with ==pid== so it can be told apart from
 * the program's own stderr. */
#include <inttypes.h>
#include <string.h>

#include "core/options.h"
#include "core/warn.h"
#include "detect/pyabi.h"
#include "objects/objects.h"
#include "record/stackdepot.h"
#include "report/render_objects.h"
#include "report/render_python.h"
#include "report/report.h"
#include "report/suppressions.h"
#include "report/symbolize.h"


static void
print_frame(struct lp_lw *lw, const struct lp_report *r, unsigned n,
	    const struct lp_frame *f, const struct lp_frame_name *name)
{
	LP_LINE(lw, r, "    #%u %p", n, (void *)f->ip);
	if (name->function) {
		lp_lw_puts(lw, " in ");
		lp_lw_text_safe(lw, name->function);
	}
	if (name->file) {
		lp_lw_puts(lw, " ");
		lp_lw_text_safe(lw, name->file);
		lp_lw_printf(lw, ":%d", name->line);
	}
	if (f->module) {
		lp_lw_puts(lw, " (");
		lp_lw_text_safe(lw, f->module);
		lp_lw_printf(lw, "+0x%lx)\n", (unsigned long)f->offset);
	} else {
		lp_lw_printf(lw, " (<unknown module>)\n");
	}
}

/* One line per frame, as valgrind prints them: the functions inlined at
 * an address first (same address on each), then the one that contains
 * it; the numbering goes on across them. */
static void
print_stack(struct lp_lw *lw, const struct lp_report *r, uint32_t id)
{
	const struct lp_stack *s = lp_stackdepot_get(id);
	unsigned n = 0;

	if (!s) {
		LP_LINE(lw, r, "    (no stack: LEAKPROBE_DEPTH=0 or capture failed)\n");
		return;
	}
	for (uint32_t i = 0; i < s->depth; i++) {
		struct lp_frame f;
		lp_symbolize_frame(s, i, &f);
		for (uint32_t k = 0; k < f.ninlined; k++)
			print_frame(lw, r, n++, &f, &f.inlined[k]);
		struct lp_frame_name outer = { f.function, f.file, f.line };
		print_frame(lw, r, n++, &f, &outer);
	}
}

/* The allocation site people care about: the first frame outside the
 * module that defines the object's type (the runtime's own constructors),
 * or the top frame when the type lives elsewhere (a heap type). */
static void
print_site(struct lp_lw *lw, uint32_t stack, uintptr_t type)
{
	const struct lp_stack *s = lp_stackdepot_get(stack);
	struct lp_frame f, tf;
	uint32_t k = 0;

	if (!s || !s->depth) {
		lp_lw_puts(lw, "(no stack)");
		return;
	}
	lp_symbolize(type + 1, &tf); /* +1: lp_symbolize looks at ip - 1 */
	if (tf.module)
		for (; k + 1 < s->depth; k++) {
			lp_symbolize_frame(s, k, &f);
			if (!f.module || strcmp(f.module, tf.module))
				break;
		}
	lp_symbolize_frame(s, k, &f);
	/* The innermost function: one inlined at the call, if any. */
	struct lp_frame_name in = { f.function, f.file, f.line };
	if (f.ninlined)
		in = f.inlined[0];
	lp_lw_printf(lw, "%s", in.function ? in.function : "??");
	if (in.file)
		lp_lw_printf(lw, " %s:%d", in.file, in.line);
	else if (f.module)
		lp_lw_printf(lw, " (%s+0x%lx)", f.module, (unsigned long)f.offset);
}

/* "A@0x1 -> B@0x2 -> A@0x1": follow edges from the first member on a
 * cycle, preferring members not yet shown, until the walk closes. */
static void
print_picture(struct lp_lw *lw, const struct lp_report *r, size_t gi)
{
	const struct lp_detect_group *g =
		&LP_VEC_AT(&r->pass.det.groups, struct lp_detect_group, gi);
	const uint32_t(*e)[2] = (const uint32_t(*)[2])r->pass.det.edges.data + g->first_edge;
	uint8_t seen[64] = { 0 };
	uint32_t start = 0, cur;
	bool cyc = false;

	for (uint32_t k = 0; k < g->count; k++) {
		lp_group_member(r, gi, k, &cyc);
		if (cyc) {
			start = k;
			break;
		}
	}
	cur = start;
	for (unsigned steps = 0; steps < 12; steps++) {
		const struct lp_obj *o = lp_group_member(r, gi, cur, NULL);
		lp_lw_printf(lw, "%s%s@%p", steps ? " -> " : "", lp_obj_type_name(o),
			     (void *)o->addr);
		if (cur < 64 * 8)
			seen[cur / 8] |= (uint8_t)(1u << (cur % 8));
		if (steps && cur == start)
			return;
		int next = -1;
		for (uint32_t k = 0; k < g->nedges; k++) {
			if (e[k][0] != cur)
				continue;
			bool c2;
			lp_group_member(r, gi, e[k][1], &c2);
			bool was = e[k][1] < 64 * 8 && (seen[e[k][1] / 8] & (1u << (e[k][1] % 8)));
			if (e[k][1] == start || (!was && (c2 || !cyc))) {
				next = (int)e[k][1];
				if (e[k][1] != start || steps + 1 >= g->count)
					break;
			}
		}
		if (next < 0)
			return;
		cur = (uint32_t)next;
	}
	lp_lw_puts(lw, " -> ...");
}

static void
render_objects(struct lp_lw *lw, const struct lp_report *r)
{
	const struct lp_objects_stats *os = &r->objects;

	LP_LINE(lw, r, "\n");
	LP_LINE(lw, r, "Objects: %" PRIu64 " registered, %" PRIu64 " tracked; %" PRIu64
	  " Py_IncRef and %" PRIu64 " Py_DecRef calls intercepted\n",
	  os->registered, os->tracked, os->incref_calls, os->decref_calls);
	for (int g = 0; g < LP_NGEN; g++) {
		LP_LINE(lw, r, "  generation %d: count %" PRId64 " (threshold %" PRId64 "), %" PRIu64 " objects",
		  g, os->gen[g].count, os->gen[g].threshold, os->gen[g].objects);
		lp_by_type_text(lw, &os->gen[g].by_type);
	}
	if (!r->detected) {
		LP_LINE(lw, r, "cycle detector not run: %s\n",
		  r->detector_note ? r->detector_note : "no objects");
		return;
	}
	size_t ngroups = r->pass.det.groups.len;
	for (size_t gi = 0; gi < ngroups; gi++) {
		const struct lp_detect_group *g =
			&LP_VEC_AT(&r->pass.det.groups, struct lp_detect_group, gi);
		LP_LINE(lw, r, "\n");
		LP_LINE(lw, r, "Unreachable group %zu: %u objects, %" PRIu64 " bytes\n", gi + 1,
		  g->count, g->bytes);
		LP_LINE(lw, r, "    ");
		print_picture(lw, r, gi);
		lp_lw_puts(lw, "\n");
		for (uint32_t k = 0; k < g->count; k++) {
			bool cyc;
			const struct lp_obj *o = lp_group_member(r, gi, k, &cyc);
			LP_LINE(lw, r, "    [%u] %s@%p %u bytes, refcount %" PRId64 ", gen %d, %s, allocated at ",
			  k, lp_obj_type_name(o), (void *)o->addr, o->size,
			  lp_py_refcnt(o->addr), o->gen, cyc ? "on a cycle" : "hangs off a cycle");
			print_site(lw, o->stack, o->type);
			lp_lw_puts(lw, "\n");
		}
	}
	LP_LINE(lw, r, "\n");
	LP_LINE(lw, r, "detector: %u objects examined in %.3f s; %zu unreachable in %zu groups%s\n",
	  r->pass.det.n, r->pass.det.seconds, r->pass.det.unreachable.len, ngroups,
	  r->pass.det.clamped ? " (some refcounts were too small: see JSON clamped)" : "");
}

static const char *const kind_words[LP_LEAK_KINDS + 1] = {
	"definitely lost", "indirectly lost", "possibly lost", "still reachable", "live",
};

/* Without a verdict: every site with its stack, LEAKPROBE_TOP of them. */
static void
render_live_sites(struct lp_lw *lw, const struct lp_report *r)
{
	size_t shown = r->nsites_shown;
	for (size_t i = 0; i < shown; i++) {
		const struct lp_site *s = &r->sites[i];
		LP_LINE(lw, r, "\n");
		LP_LINE(lw, r, "%" PRIu64 " bytes in %" PRIu64 " blocks live, allocated from:\n",
		  s->bytes, s->blocks);
		print_stack(lw, r, s->stack);
	}
	if (shown < r->nsites) {
		uint64_t bytes = 0, blocks = 0;
		for (size_t i = shown; i < r->nsites; i++) {
			bytes += r->sites[i].bytes;
			blocks += r->sites[i].blocks;
		}
		LP_LINE(lw, r, "\n");
		LP_LINE(lw, r, "... and %zu more sites: %" PRIu64 " bytes in %" PRIu64
		  " blocks (LEAKPROBE_TOP=%" PRIu64 " shows more; JSON lists all)\n",
		  r->nsites - shown, bytes, blocks, (uint64_t)lp_opt.top);
	}

}

/* The first frame of the stack that has a name (an allocator's unnamed
 * wrappers are skipped), for the one-line reachable sites. */
static const char *
top_function(uint32_t id, const char **file, int *line)
{
	const struct lp_stack *s = lp_stackdepot_get(id);
	*file = NULL;
	*line = 0;
	if (!s || !s->depth)
		return "(no stack)";
	for (uint32_t i = 0; i < s->depth; i++) {
		struct lp_frame f;
		lp_symbolize_frame(s, i, &f);
		if (f.function) {
			*file = f.file;
			*line = f.line;
			return f.function;
		}
	}
	return "??";
}

/* With a verdict, as LeakSanitizer and valgrind write it: every lost
 * site with its stack (definitely, indirectly, then possibly lost), then
 * the reachable ones, one line each unless LEAKPROBE_SHOW_REACHABLE=1. */
static void
render_verdict_sites(struct lp_lw *lw, const struct lp_report *r)
{
	static const char *const leak_words[] = { "Direct leak", "Indirect leak", "Possible leak" };
	const struct lp_leak_totals *k = &r->classify.totals;
	size_t i = 0;
	for (; i < r->nsites && r->sites[i].kind != LP_LEAK_REACHABLE; i++) {
		const struct lp_site *s = &r->sites[i];
		if (s->suppressed)
			continue;
		LP_LINE(lw, r, "\n");
		LP_LINE(lw, r, "%s of %" PRIu64 " byte(s) in %" PRIu64 " object(s) allocated from:\n",
		  leak_words[s->kind], s->bytes, s->blocks);
		print_stack(lw, r, s->stack);
	}
	size_t nreachable = r->nsites - i;
	if (!nreachable)
		return;
	LP_LINE(lw, r, "\n");
	LP_LINE(lw, r, "Still reachable: %" PRIu64 " bytes in %" PRIu64 " blocks from %zu sites%s\n",
	  k->bytes[LP_LEAK_REACHABLE], k->blocks[LP_LEAK_REACHABLE], nreachable,
	  lp_opt.show_reachable ? ":" : "; the largest (LEAKPROBE_SHOW_REACHABLE=1 shows their stacks):");
	for (; i < r->nsites_shown; i++) {
		const struct lp_site *s = &r->sites[i];
		if (lp_opt.show_reachable) {
			LP_LINE(lw, r, "\n");
			LP_LINE(lw, r, "%" PRIu64 " bytes in %" PRIu64 " blocks still reachable, allocated from:\n",
			  s->bytes, s->blocks);
			print_stack(lw, r, s->stack);
			continue;
		}
		const char *file;
		int line;
		const char *fn = top_function(s->stack, &file, &line);
		LP_LINE(lw, r, "  %" PRIu64 " bytes in %" PRIu64 " blocks from ", s->bytes, s->blocks);
		lp_lw_text_safe(lw, fn);
		if (file) {
			lp_lw_puts(lw, " (");
			lp_lw_text_safe(lw, file);
			lp_lw_printf(lw, ":%d)", line);
		}
		lp_lw_puts(lw, "\n");
	}
	if (r->nsites_shown < r->nsites)
		LP_LINE(lw, r, "  ... and %zu more reachable sites (LEAKPROBE_TOP=%" PRIu64 " shows more; JSON lists all)\n",
		  r->nsites - r->nsites_shown, (uint64_t)lp_opt.top);
}

/* The suppressions that matched, as LeakSanitizer lists them. */
static void
render_suppressions_used(struct lp_lw *lw, const struct lp_report *r)
{
	bool any = false;
	for (size_t i = 0; lp_suppression_at(i); i++) {
		const struct lp_suppression *sup = lp_suppression_at(i);
		if (!sup->hits)
			continue;
		if (!any) {
			LP_LINE(lw, r, "Suppressions used:\n");
			LP_LINE(lw, r, "  %10s %12s %s\n", "count", "bytes", "template");
		}
		any = true;
		LP_LINE(lw, r, "  %10" PRIu64 " %12" PRIu64 " %s:", sup->hits, sup->bytes,
		  sup->cycle ? "cycle" : "leak");
		lp_lw_text_safe(lw, sup->pattern);
		lp_lw_puts(lw, sup->builtin ? " (built in)\n" : "\n");
	}
	if (any)
		LP_LINE(lw, r, "\n");
}

/* valgrind's LEAK SUMMARY. */
static void
render_leak_summary(struct lp_lw *lw, const struct lp_report *r)
{
	const struct lp_leak_totals *k = &r->classify.totals;
	LP_LINE(lw, r, "LEAK SUMMARY:\n");
	for (int i = 0; i < LP_LEAK_KINDS; i++)
		LP_LINE(lw, r, "   %15s: %" PRIu64 " bytes in %" PRIu64 " blocks\n", kind_words[i],
		  k->bytes[i], k->blocks[i]);
	LP_LINE(lw, r, "   %15s: %" PRIu64 " bytes in %" PRIu64 " blocks\n", "suppressed",
	  r->suppressed_bytes, r->suppressed_blocks);
	if (k->heuristic_blocks)
		LP_LINE(lw, r, "   %15s  of which reachable via heuristic: %" PRIu64 " bytes in %" PRIu64
		  " blocks\n", "", k->heuristic_bytes, k->heuristic_blocks);
	LP_LINE(lw, r, "heap: %" PRIu64 " bytes live in %" PRIu64 " blocks from %zu sites; %zu large"
	  " (leak scan: %" PRIu64 " root bytes, %u threads, %.3f s).\n",
	  r->totals.live_bytes, r->totals.live_blocks, r->nsites, r->nlarge,
	  r->classify.roots_bytes, r->classify.threads, r->classify.seconds);
}

void
lp_report_render_text(struct lp_lw *lw, const struct lp_report *r)
{
	const struct lp_heap_totals *t = &r->totals;

	LP_LINE(lw, r, "leakprobe report %u (%s", r->seq, lp_reason_name(r->reason));
	if (r->label) {
		lp_lw_puts(lw, ": ");
		lp_lw_text_safe(lw, r->label);
	}
	lp_lw_printf(lw, "), pid %d, uptime %.2f s\n", r->pid, r->uptime_s);
	LP_LINE(lw, r, "command: ");
	lp_lw_text_safe(lw, r->command);
	lp_lw_puts(lw, "\n");
	for (unsigned i = 0; i < r->nwarnings; i++)
		LP_LINE(lw, r, "WARNING: %s\n", r->warnings[i]);
	for (unsigned i = 0; lp_note_at(i); i++)
		LP_LINE(lw, r, "note: %s\n", lp_note_at(i));
	if (r->signals_coalesced)
		LP_LINE(lw, r, "note: %" PRIu64 " report signals came while a report was being written "
		  "or within LEAKPROBE_SIGNAL_COALESCE_MS of one, and were folded into it\n",
		  r->signals_coalesced);
	LP_LINE(lw, r, "heap: %" PRIu64 " live blocks, %" PRIu64 " live bytes, peak %"
	  PRIu64 " bytes; %" PRIu64 " allocations, %" PRIu64 " frees\n",
	  t->live_blocks, t->live_bytes, t->peak_bytes, t->allocs, t->frees);
	if (r->untracked_frees)
		LP_LINE(lw, r, "note: %" PRIu64 " frees of pointers leakprobe never saw "
		  "allocated (made before it started, or invalid)\n",
		  r->untracked_frees);

	if (r->classify.done)
		render_verdict_sites(lw, r);
	else
		render_live_sites(lw, r);

	if (r->nlarge) {
		LP_LINE(lw, r, "\n");
		LP_LINE(lw, r, "Lingering large allocations (>= %" PRIu64 " bytes): %zu\n",
		  r->large_threshold, r->nlarge);
		for (size_t i = 0; i < r->nlarge; i++) {
			const struct lp_block *b = &r->large[i];
			double age = b->birth_ns && r->now_ns > b->birth_ns
				     ? (double)(r->now_ns - b->birth_ns) / 1e9 : 0;
			LP_LINE(lw, r, "\n");
			LP_LINE(lw, r, "%" PRIu64 " bytes at %p, age %.2f s%s%s, allocated from:\n",
			  b->size, (void *)b->ptr, age, r->large_kind ? ", " : "",
			  r->large_kind ? kind_words[r->large_kind[i]] : "");
			if (r->py)
				lp_report_text_owner(lw, r, i);
			print_stack(lw, r, b->stack);
		}
	}
	if (r->py)
		lp_report_render_text_python(lw, r);
	else if (r->objects.in_use)
		render_objects(lw, r);
	const struct lp_report_cost *c = &r->cost;
	LP_LINE(lw, r, "\n");
	if (!r->classify.done)
		LP_LINE(lw, r, "SUMMARY: leakprobe: %" PRIu64 " bytes live in %" PRIu64
		  " blocks from %zu sites; %zu large.\n",
		  t->live_bytes, t->live_blocks, r->nsites, r->nlarge);
	else {
		render_suppressions_used(lw, r);
		render_leak_summary(lw, r);
	}
	LP_LINE(lw, r, "This report took %.1f ms before it was written (heap %.1f, leak scan %.1f, "
	  "Python objects %.1f, detector %.1f, owners %.1f, symbols %.1f).\n",
	  (c->heap + c->classify + c->py_enumerate + c->py_detect + c->py_owners + c->objects +
	   c->symbolize) / 1e6,
	  c->heap / 1e6, c->classify / 1e6, c->py_enumerate / 1e6, (c->py_detect + c->objects) / 1e6,
	  c->py_owners / 1e6, c->symbolize / 1e6);
	/* Last, in LeakSanitizer's form, for the log scrapers of CI jobs. */
	if (r->classify.done) {
		const struct lp_leak_totals *k = &r->classify.totals;
		LP_LINE(lw, r, "SUMMARY: leakprobe: %" PRIu64 " byte(s) leaked in %" PRIu64
		  " allocation(s).\n",
		  k->bytes[LP_LEAK_DEFINITE] + k->bytes[LP_LEAK_INDIRECT],
		  k->blocks[LP_LEAK_DEFINITE] + k->blocks[LP_LEAK_INDIRECT]);
	}
}
