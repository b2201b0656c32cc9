/* SPDX-License-Identifier: MIT */
/*
 * render_text_python.c - the Python part of a report as text: the interpreter's
 * state, its generations, the unreachable groups the detector found, and
 * the owners of large blocks with their retention chains, from the data
 * python/ gathered (section.h): no Python function is called here (type
 * names are read from the type objects, alive while the GIL is held).
 */
#include <inttypes.h>

#include "core/linewriter.h"
#include "detect/pyabi.h"
#include "python/describe.h"
#include "python/section.h"
#include "report/render_objects.h"
#include "report/render_python.h"
#include "report/report.h"

static void
text_traceback_top(struct lp_lw *lw, const struct lp_py_view *v)
{
	if (v->nframes > 0)
		lp_lw_printf(lw, ", allocated at %s:%lld", v->frames[0].file ? v->frames[0].file : "?",
			     v->frames[0].line);
}

void
lp_report_render_text_python(struct lp_lw *lw, const struct lp_report *r)
{
	const struct lp_py_section *s = r->py;

	LP_LINE(lw, r, "\n");
	LP_LINE(lw, r, "Python %s: gc %s, count (%lld, %lld, %lld), threshold (%lld, %lld, %lld)%s"
	  " (read at safe point: %s)\n",
	  s->version, s->gc_enabled ? "enabled" : "disabled", s->count[0], s->count[1],
	  s->count[2], s->threshold[0], s->threshold[1], s->threshold[2],
	  s->tracemalloc ? ", tracemalloc on" : "", s->via);
	for (int g = 0; g < 3; g++) {
		LP_LINE(lw, r, "  generation %d: %" PRIu64 " objects", g, s->nobjs[g]);
		lp_by_type_text(lw, &s->by_type[g]);
	}
	if (!s->detected)
		return;
	size_t ngroups = s->det.groups.len;
	/* Without views (out of memory) the groups are counted, not listed. */
	for (size_t gi = 0; s->members && gi < ngroups && gi < LP_TEXT_PY_GROUPS; gi++) {
		const struct lp_detect_group *g =
			&LP_VEC_AT(&s->det.groups, struct lp_detect_group, gi);
		LP_LINE(lw, r, "\n");
		LP_LINE(lw, r, "Unreachable group %zu: %u objects\n", gi + 1, g->count);
		for (uint32_t k = 0; k < g->count && k < LP_TEXT_PY_MEMBERS; k++) {
			bool cyc;
			int gen;
			lp_py_group_member(s, g, k, &cyc, &gen);
			const struct lp_py_view *v = &s->members[g->first + k];
			LP_LINE(lw, r, "    [%u] %s@%p (%s), refcount %" PRId64 ", gen %d, %s",
			  k, v->type, (void *)v->address, v->description, v->refcount, gen,
			  cyc ? "on a cycle" : "hangs off a cycle");
			text_traceback_top(lw, v);
			lp_lw_puts(lw, "\n");
		}
		if (g->count > LP_TEXT_PY_MEMBERS)
			LP_LINE(lw, r, "    ... %u more\n", g->count - LP_TEXT_PY_MEMBERS);
	}
	if (ngroups > LP_TEXT_PY_GROUPS)
		LP_LINE(lw, r, "... %zu more unreachable groups (JSON lists all)\n",
			ngroups - LP_TEXT_PY_GROUPS);
	LP_LINE(lw, r, "\n");
	LP_LINE(lw, r, "detector: %u Python objects examined in %.3f s; %zu unreachable in %zu groups\n",
	  s->det.n, s->det.seconds, s->det.unreachable.len, ngroups);
}

static void
text_step(struct lp_lw *lw, const struct lp_py_step *st, bool first)
{
	lp_lw_puts(lw, first ? " " : " -> ");
	if (st->module && st->name)
		lp_lw_printf(lw, "module %s", st->name);
	else if (st->key[0])
		lp_lw_printf(lw, "%s[\"%s\"]", st->type, st->key);
	else if (st->index >= 0)
		lp_lw_printf(lw, "%s[%ld]", st->type, st->index);
	else
		lp_lw_puts(lw, st->type);
}

void
lp_report_text_owner(struct lp_lw *lw, const struct lp_report *r, size_t i)
{
	const struct lp_py_section *s = r->py;
	if (!s->owners || !s->owners[i].owner)
		return;
	const struct lp_py_owner *ow = &s->owners[i];
	lp_lw_printf(lw, "==%d==     owned by %s@%p (%s)", r->pid, ow->view.type,
		     (void *)ow->owner, ow->view.description);
	if (ow->group >= 0) {
		lp_lw_printf(lw, ": garbage, held only by unreachable group %d\n", ow->group + 1);
		return;
	}
	if (!ow->path.len) {
		lp_lw_puts(lw, ": no chain from a module (held from C code or a frame)\n");
		return;
	}
	lp_lw_puts(lw, "\n");
	lp_lw_printf(lw, "==%d==     retained by:", r->pid);
	for (size_t k = 0; k < ow->nsteps; k++)
		text_step(lw, &ow->steps[k], k == 0 && k < ow->nchain);
	lp_lw_printf(lw, " -> %s\n", ow->view.type);
}
