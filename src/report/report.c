/* SPDX-License-Identifier: MIT */
/* report.c - see report.h. */
#include "report/report.h"

#include <errno.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/own_memory.h"
#include "core/clock.h"
#include "core/guard.h"
#include "core/options.h"
#include "core/vec.h"
#include "core/warn.h"
#include "python/cpython.h"
#include "python/section.h"
#include "record/alloc_log.h"
#include "record/early.h"
#include "record/record.h"
#include "record/stackdepot.h"
#include "report/output.h"
#include "report/suppressions.h"
#include "detect/pyabi.h"
#include "report/classify.h"
#include "report/render_python.h"
#include "report/symbolize.h"

#include "leakprobe.h"

static pthread_mutex_t report_mutex = PTHREAD_MUTEX_INITIALIZER;
static unsigned report_seq;
static const char *command = "";
static const char *startup_warning;

void
lp_report_set_command(const char *cmd)
{
	command = cmd;
}

void
lp_report_set_warning(const char *w)
{
	startup_warning = w;
}

void
lp_report_lock(void)
{
	pthread_mutex_lock(&report_mutex);
}

void
lp_report_unlock(void)
{
	pthread_mutex_unlock(&report_mutex);
}

/* Set before the exit report: a signal report not begun by then is not
 * written (the process may end while it is, leaving half a file). */
static int exit_begun;
static void (*exit_begins_hook)(void);
static void (*signal_report_written_hook)(void);

void
lp_report_on_signal_report_written(void (*fn)(void))
{
	signal_report_written_hook = fn;
}

void
lp_report_on_exit_begins(void (*fn)(void))
{
	exit_begins_hook = fn;
}

void
lp_report_after_fork_child(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	report_mutex = fresh;
	report_seq = 0;
	exit_begun = 0;
}

void
lp_report_exit_begins(void)
{
	__atomic_store_n(&exit_begun, 1, __ATOMIC_SEQ_CST);
	if (exit_begins_hook)
		exit_begins_hook();
}

bool
lp_report_exit_begun(void)
{
	return __atomic_load_n(&exit_begun, __ATOMIC_SEQ_CST);
}

const char *
lp_reason_name(enum lp_reason r)
{
	switch (r) {
	case LP_REASON_EXIT: return "exit";
	case LP_REASON_SIGNAL: return "signal";
	case LP_REASON_API: return "api";
	case LP_REASON_AUTO: return "auto";
	}
	return "?";
}

/* When the address space has run out (RLIMIT_AS, or a program at the end
 * of its memory at exit), the per-site arrays come from here: a report is
 * still written for up to about 20 000 distinct stacks.  Untouched, it
 * costs no memory.  Reports are serialised (report_mutex). */
static char reserve[1 << 20] __attribute__((aligned(4096)));
static size_t reserve_used;

static void *
map_array(size_t n, size_t size, size_t *mapped)
{
	*mapped = (n * size + 4095) & ~(size_t)4095;
	if (!*mapped)
		*mapped = 4096;
	void *p = lp_own_mmap(NULL, *mapped, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		return p;
	if (reserve_used + *mapped > sizeof(reserve))
		return NULL;
	p = reserve + reserve_used;
	reserve_used += *mapped;
	memset(p, 0, *mapped);
	return p;
}

static void
unmap_array(void *p, size_t mapped)
{
	if ((char *)p >= reserve && (char *)p < reserve + sizeof(reserve))
		reserve_used = 0; /* all of a report's arrays go at once */
	else
		lp_own_munmap(p, mapped);
}

static int
by_bytes_desc(const void *a, const void *b)
{
	const struct lp_site *x = a, *y = b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	if (x->blocks != y->blocks)
		return x->blocks < y->blocks ? 1 : -1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static int
by_size_desc(const void *a, const void *b)
{
	const struct lp_block *x = a, *y = b;
	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

/* What a report needs of the live blocks, gathered in one pass without
 * copying them: per stack id, the blocks and bytes (ids are dense, so an
 * array indexed by id does it), and the large blocks one by one. */
struct gather {
	struct lp_site *by_id;
	uint32_t nids;
	uint64_t threshold;
	struct lp_vec large; /* struct lp_block */
	struct lp_classify *classify; /* the blocks one by one, when classifying */
};

static void
gather_block(const struct lp_block *b, void *arg)
{
	struct gather *g = arg;
	uint32_t id = b->stack <= g->nids ? b->stack : 0; /* newer than our array */
	g->by_id[id].blocks++;
	g->by_id[id].bytes += b->size;
	if (g->classify)
		lp_classify_add(g->classify, b);
	if (b->size >= g->threshold) {
		struct lp_block *l = lp_vec_push(&g->large);
		if (l)
			*l = *b;
	}
}

static void
gather_entry(const struct lp_alloc_log_entry *e, void *arg)
{
	struct lp_block b = { e->ptr, e->size, e->stack, 0 };
	gather_block(&b, arg);
}

/* After this, sites[] holds one entry per stack with live blocks, largest
 * total first. */
static size_t
collect_sites(const struct gather *g, struct lp_site *sites)
{
	size_t n = 0;
	for (uint32_t id = 0; id <= g->nids; id++) {
		if (!g->by_id[id].blocks)
			continue;
		sites[n] = g->by_id[id];
		sites[n].stack = id;
		sites[n].kind = LP_LEAK_KINDS;
		n++;
	}
	qsort(sites, n, sizeof(*sites), by_bytes_desc);
	return n;
}

static void
want_stack(uint32_t id)
{
	lp_symbolize_want_stack(lp_stackdepot_get(id));
}

static void
render(struct lp_lw *lw, const struct lp_report *r)
{
	if (lp_opt.format == LP_FORMAT_JSON)
		lp_report_render_json(lw, r);
	else
		lp_report_render_text(lw, r);
}

uint64_t lp_report_signals_coalesced;

/* The report's header: who, when, and what the process wants said.
 * false: a signal report that arrives once the exit report has begun
 * (counted as coalesced; the exit report covers it). */
static const char *next_note;

void
lp_report_note_next(const char *note)
{
	next_note = note;
}

static bool
begin_report(struct lp_report *r, enum lp_reason reason, const char *label)
{
	static char early_warning[256]; /* reports are serialised */

	if (reason == LP_REASON_SIGNAL && lp_report_exit_begun()) {
		__atomic_add_fetch(&lp_report_signals_coalesced, 1, __ATOMIC_RELAXED);
		return false;
	}
	r->reason = reason;
	r->label = label;
	r->seq = ++report_seq;
	r->pid = getpid();
	r->now_ns = lp_now_ns();
	r->uptime_s = (double)(r->now_ns - lp_start_ns) / 1e9;
	r->command = command;
	r->large_threshold = lp_opt.large;
	if (startup_warning)
		r->warnings[r->nwarnings++] = startup_warning;
	if (next_note) {
		r->warnings[r->nwarnings++] = next_note;
		next_note = NULL;
	}
	if (lp_early_dropped_blocks()) {
		lp_fmt(early_warning, sizeof(early_warning),
		       "%" PRIu64 " blocks (%" PRIu64 " bytes) allocated before start-up were not "
		       "recorded: the start-up table holds %u (their frees count as untracked)",
		       lp_early_dropped_blocks(), lp_early_dropped_bytes(), lp_early_capacity());
		r->warnings[r->nwarnings++] = early_warning;
	}
	r->signals_coalesced = __atomic_load_n(&lp_report_signals_coalesced, __ATOMIC_RELAXED);
	r->untracked_frees = __atomic_load_n(&lp_record_stats.untracked_frees, __ATOMIC_RELAXED);
	return true;
}

#ifdef LP_DEBUG
/* -Ddebug_checks=true: gather_heap's postconditions. */
static void
validate_heap(const struct lp_report *r)
{
	uint64_t blocks = 0, bytes = 0;
	for (size_t i = 0; i < r->nsites; i++) {
		lp_assert(r->sites[i].blocks > 0);
		lp_assert(i == 0 || r->sites[i - 1].bytes >= r->sites[i].bytes);
		blocks += r->sites[i].blocks;
		bytes += r->sites[i].bytes;
	}
	lp_assert(blocks == r->totals.live_blocks && bytes == r->totals.live_bytes);
	lp_assert(r->totals.peak_bytes >= r->totals.live_bytes);
	lp_assert(r->nsites_shown <= r->nsites);
	for (size_t i = 0; i < r->nlarge; i++) {
		lp_assert(r->large[i].size >= r->large_threshold);
		lp_assert(i == 0 || r->large[i - 1].size >= r->large[i].size);
	}
}
#else
static inline void
validate_heap(const struct lp_report *r)
{
}
#endif

/* Every live block, once: per stack (the sites), and the large ones one
 * by one.  Post: sites sum to the totals, largest first; nsites_shown of
 * them are printed; large blocks largest first. */
static bool
gather_heap(struct lp_report *r, struct gather *g, size_t *ids_mapped, size_t *sites_mapped)
{
	uint64_t t0 = lp_now_ns();

	g->nids = lp_stackdepot_count();
	g->threshold = lp_opt.large;
	g->classify = lp_classify_wanted(r->reason == LP_REASON_EXIT) ||
				      (r->flags & LEAKPROBE_REPORT_CLASSIFY)
			      ? &r->classify : NULL;
	g->by_id = map_array((size_t)g->nids + 1, sizeof(*g->by_id), ids_mapped);
	r->sites = map_array((size_t)g->nids + 1, sizeof(*r->sites), sites_mapped);
	if (!g->by_id || !r->sites) {
		lp_warn("report %u (%s) not written: no memory to gather the heap",
			r->seq, lp_reason_name(r->reason));
		return false;
	}
	lp_alloc_log_visit(gather_entry, g, &r->totals);
	lp_heap_visit(gather_block, g, &r->totals);
	r->totals.peak_bytes = lp_heap_peak();
	if (r->totals.peak_bytes < r->totals.live_bytes)
		r->totals.peak_bytes = r->totals.live_bytes;
	uint64_t restored = __atomic_load_n(&lp_record_stats.restored, __ATOMIC_RELAXED);
	r->totals.allocs -= restored;
	r->totals.frees -= restored;
	r->depot_bytes = lp_stackdepot_bytes();
	r->nsites = collect_sites(g, r->sites);
	r->nsites_shown = lp_opt.format == LP_FORMAT_JSON || r->nsites < lp_opt.top
				  ? r->nsites : (size_t)lp_opt.top;
	r->large = g->large.data;
	r->nlarge = g->large.len;
	if (r->nlarge)
		qsort(r->large, r->nlarge, sizeof(struct lp_block), by_size_desc);
	r->cost.heap = lp_now_ns() - t0;
	validate_heap(r);
	return true;
}

/* Every stack's blocks per kind, from the classified blocks: sites[]
 * becomes one entry per (stack, kind), lost kinds first.  Post: the sites
 * still sum to the totals; every lost site is shown, and the reachable
 * ones as LEAKPROBE_TOP says (JSON: all). */
static bool
sites_by_kind(struct lp_report *r, const struct gather *g, size_t *sites_mapped)
{
	size_t nslots = ((size_t)g->nids + 1) * LP_LEAK_KINDS, mapped;
	struct lp_site *slot = map_array(nslots, sizeof(*slot), &mapped);
	if (!slot)
		return false;
	const struct lp_classify *c = &r->classify;
	const struct lp_reach_block *b = c->blocks.data;
	for (size_t i = 0; i < c->blocks.len; i++) {
		uint32_t id = b[i].tag <= g->nids ? b[i].tag : 0;
		struct lp_site *s = &slot[(size_t)id * LP_LEAK_KINDS + lp_classify_kind_at(c, i)];
		s->blocks++;
		s->bytes += b[i].size;
	}
	size_t n = 0;
	for (size_t k = 0; k < nslots; k++) {
		if (!slot[k].blocks)
			continue;
		slot[n] = slot[k];
		slot[n].stack = (uint32_t)(k / LP_LEAK_KINDS);
		slot[n].kind = (uint8_t)(k % LP_LEAK_KINDS);
		n++;
	}
	qsort(slot, n, sizeof(*slot), by_bytes_desc);
	unmap_array(r->sites, *sites_mapped);
	r->sites = slot;
	*sites_mapped = mapped;
	r->nsites = n;
	size_t lost = 0;
	while (lost < n && slot[lost].kind != LP_LEAK_REACHABLE)
		lost++;
	r->nsites_shown = lp_opt.format == LP_FORMAT_JSON || lp_opt.show_reachable ||
				  n - lost < lp_opt.top ? n : lost + (size_t)lp_opt.top;
	return true;
}

/* The leak verdict (LEAKPROBE_CLASSIFY): every block's kind, in a
 * snapshot of the process.  Without one (it failed) the report lists the
 * blocks as live and says why. */
static void
classify_heap(struct lp_report *r, const struct gather *g, size_t *sites_mapped,
	      uintptr_t self_sp, const uint64_t regs[6])
{
	static char why[160];
	if (!g->classify)
		return;
	uint64_t t0 = lp_now_ns();
	lp_classify_run(&r->classify, self_sp, regs, r->reason == LP_REASON_EXIT);
	if (r->classify.done && !sites_by_kind(r, g, sites_mapped)) {
		r->classify.done = false;
		r->classify.failed = "out of memory";
	}
	if (r->classify.done && r->nlarge) {
		size_t mapped;
		r->large_kind = map_array(r->nlarge, 1, &mapped);
		for (size_t i = 0; r->large_kind && i < r->nlarge; i++)
			r->large_kind[i] = (uint8_t)lp_classify_kind_of(&r->classify, r->large[i].ptr);
	}
	if (r->classify.done && r->classify.threads_unknown_sp && r->classify.sample_errno) {
		static char unsampled[240];
		int e = r->classify.sample_errno;
		lp_fmt(unsampled, sizeof(unsampled),
		       "the registers of %u running thread(s) were not read (perf_event_open: %s):"
		       " a block only their registers point at may count as lost",
		       r->classify.threads_unknown_sp,
		       e == LP_SAMPLE_SECCOMP ? "not tried under a seccomp filter, which could kill "
						"the process for it"
		       : e == EACCES || e == EPERM ? "not permitted; perf_event_paranoid <= 2 or "
						     "CAP_PERFMON allows it"
		       : e == ENOSYS || e == ENOENT || e == EINVAL ? "not supported here"
								   : "failed");
		/* their stacks are then read whole, stale slots included */
		r->warnings[r->nwarnings++] = unsampled;
	}
	if (!r->classify.done) {
		lp_fmt(why, sizeof(why), "no leak verdict: %s; the blocks are listed as live",
		       r->classify.failed ? r->classify.failed : "the scan failed");
		/* In the report only: a verdict that could not be had (no memory,
		 * no descriptor) is not worth a line on the program's stderr. */
		r->warnings[r->nwarnings++] = why;
	}
	r->cost.classify = lp_now_ns() - t0;
}

/* The objects: the live interpreter's section (with the GIL held), and
 * the object model's generations with its detector (at a safe point). */
static void
gather_objects(struct lp_report *r, bool safe_point)
{
	if (lp_cpython_gil_held()) {
		bool all = lp_opt.format == LP_FORMAT_JSON || r->json_copy;
		struct lp_py_view_limits limits = {
			.groups = all ? SIZE_MAX : LP_TEXT_PY_GROUPS,
			.per_group = all ? SIZE_MAX : LP_TEXT_PY_MEMBERS,
		};
		r->py = lp_cpython_gather(r->large, r->nlarge, &limits);
	}
	lp_cpython_cost(r->py, &r->cost.py_enumerate, &r->cost.py_detect, &r->cost.py_owners);
	uint64_t t0 = lp_now_ns();
	lp_objects_stats(&r->objects);
	if (r->objects.in_use) {
		if (!safe_point)
			r->detector_note = "the program reached no safe point within 1 s (no object allocation)";
		else if (lp_objects_pass(LP_NGEN - 1, false, &r->pass) >= 0)
			r->detected = true;
		else
			r->detector_note = "out of memory";
	}
	r->cost.objects = lp_now_ns() - t0;
}

/* A Python unreachable group some cycle suppression names a member type
 * of. */
static bool
group_suppressed(const struct lp_py_section *s, const struct lp_detect_group *g)
{
	for (uint32_t k = 0; k < g->count; k++) {
		uint32_t idx = LP_VEC_AT(&s->det.unreachable, uint32_t, g->first + k);
		uintptr_t type = LP_VEC_AT(&s->types, uintptr_t, idx);
		if (lp_suppressions_match_type(lp_py_short_name(lp_py_type_name(type))))
			return true;
	}
	return false;
}

/* LEAKPROBE_SUPPRESSIONS (suppressions.h), once frames are named: a lost
 * site a suppression matches leaves its kind's totals for "suppressed";
 * so do Python unreachable groups a cycle suppression names.  Post: the
 * lost kinds plus suppressed still add up to the lost blocks. */
static void
apply_suppressions(struct lp_report *r)
{
	lp_suppressions_reset();
	for (size_t i = 0; r->classify.done && i < r->nsites_shown; i++) {
		struct lp_site *s = &r->sites[i];
		if (s->kind == LP_LEAK_REACHABLE || s->kind >= LP_LEAK_KINDS)
			continue;
		s->suppressed = lp_suppressions_match_stack(s->stack, s->blocks, s->bytes);
		if (!s->suppressed)
			continue;
		r->classify.totals.blocks[s->kind] -= s->blocks;
		r->classify.totals.bytes[s->kind] -= s->bytes;
		r->suppressed_blocks += s->blocks;
		r->suppressed_bytes += s->bytes;
	}
	if (r->py && r->py->detected) {
		const struct lp_py_section *py = r->py;
		for (size_t gi = 0; gi < py->det.groups.len; gi++)
			r->suppressed_groups += group_suppressed(
				py, &LP_VEC_AT(&py->det.groups, struct lp_detect_group, gi));
	}
}

static struct {
	bool classified;
	uint64_t blocks, bytes, cycles;
} exit_verdict;

/* The exit report's leaks, for LEAKPROBE_EXITCODE (the exit hook reads
 * them once the report is written). */
static void
note_exit_verdict(const struct lp_report *r)
{
	if (r->reason != LP_REASON_EXIT)
		return;
	exit_verdict.classified = r->classify.done;
	for (int k = 0; r->classify.done && k < LP_LEAK_REACHABLE; k++) {
		if (lp_opt.leak_kinds & (1u << k)) {
			exit_verdict.blocks += r->classify.totals.blocks[k];
			exit_verdict.bytes += r->classify.totals.bytes[k];
		}
	}
	if (r->py && r->py->detected)
		exit_verdict.cycles = r->py->det.groups.len - r->suppressed_groups;
	else if (r->detected)
		exit_verdict.cycles = r->pass.det.groups.len;
}

bool
lp_report_exit_leaks(uint64_t *blocks, uint64_t *bytes, uint64_t *cycles)
{
	*blocks = exit_verdict.blocks;
	*bytes = exit_verdict.bytes;
	*cycles = exit_verdict.cycles;
	return exit_verdict.classified || exit_verdict.cycles;
}

/* Names for every frame the report prints, in one exchange with the
 * symbolizer; what it could not do becomes a warning. */
static void
name_frames(struct lp_report *r)
{
	uint64_t t0 = lp_now_ns();

	lp_symbolize_begin();
	for (size_t i = 0; !(r->flags & LEAKPROBE_REPORT_UNNAMED) && i < r->nsites_shown; i++)
		want_stack(r->sites[i].stack);
	for (size_t i = 0; !(r->flags & LEAKPROBE_REPORT_UNNAMED) && i < r->nlarge; i++)
		want_stack(r->large[i].stack);
	for (size_t i = 0; !(r->flags & LEAKPROBE_REPORT_UNNAMED) && r->detected &&
			   i < r->pass.info.len; i++)
		want_stack(LP_VEC_AT(&r->pass.info, struct lp_obj, i).stack);
	lp_symbolize_resolve();
	r->cost.symbolize = lp_now_ns() - t0;
	if (lp_symbolize_out_of_memory())
		lp_warn("report %u: out of memory while naming frames: some show as addresses only",
			r->seq);
	const char *note = lp_symbolize_note();
	if (note) {
		r->warnings[r->nwarnings++] = note;
		lp_warn("report %u: %s", r->seq, note);
	}
}

/* The API's copy as JSON, in a file of the caller's: never on stderr
 * (the caller reads the file back; the report proper went where the
 * options say). */
static bool
write_json_copy(const struct lp_report *r, const char *path)
{
	static struct lp_lw lw;
	struct lp_output o;
	if (!path[0] || strchr(path, '%'))
		return false;
	lp_output_open(&o, path, r->seq);
	if (!o.to_file)
		return false;
	lp_lw_init(&lw, o.fd);
	lp_report_render_json(&lw, r);
	bool ok = lp_lw_flush(&lw);
	return lp_output_commit(&o, ok) && ok;
}

/* Render into the output (output.h: a new file renamed into place, or
 * the report stream); rendered again on the report stream when the file
 * could not be completed. */
static void
write_out(const struct lp_report *r)
{
	static struct lp_lw lw; /* 16 KiB: too big for small thread stacks */
	struct lp_output o;

	lp_output_open(&o, lp_opt.output, r->seq);
	lp_lw_init(&lw, o.fd);
	render(&lw, r);
	bool ok = lp_lw_flush(&lw);
	if (!lp_output_commit(&o, ok)) {
		lp_lw_init(&lw, o.fd);
		render(&lw, r);
		lp_lw_flush(&lw);
	}
	if (r->reason == LP_REASON_SIGNAL && signal_report_written_hook)
		signal_report_written_hook();
}

/* One report, from gathering to the file.  self_sp and regs: the
 * caller's frame and registers (see the entry points below). */
static bool
write_report(enum lp_reason reason, const char *label, bool safe_point, const char *json_path,
	     unsigned flags, uintptr_t self_sp, const uint64_t regs[6])
{
	struct lp_report r = { .json_copy = json_path != NULL, .flags = flags };
	size_t sites_mapped = 0, ids_mapped = 0;
	struct gather g = { .large = LP_VEC_INIT(struct lp_block) };
	bool copied = false;

	lp_guard_enter();
	pthread_mutex_lock(&report_mutex);
	if (begin_report(&r, reason, label) &&
	    gather_heap(&r, &g, &ids_mapped, &sites_mapped)) {
		classify_heap(&r, &g, &sites_mapped, self_sp, regs);
		if (json_path)
			r.nsites_shown = r.nsites; /* the JSON copy names every site */
		gather_objects(&r, safe_point);
		name_frames(&r);
		apply_suppressions(&r);
		note_exit_verdict(&r);
		if (!(flags & LEAKPROBE_REPORT_JSON_ONLY))
			write_out(&r);
		if (json_path)
			copied = write_json_copy(&r, json_path);
		lp_symbolize_end();
		if (r.detected)
			lp_objects_pass_free(&r.pass);
		lp_cpython_release(r.py);
		lp_objects_stats_free(&r.objects);
	}
	lp_classify_free(&r.classify);
	if (r.large_kind)
		unmap_array(r.large_kind, (r.nlarge + 4095) & ~(size_t)4095);
	if (g.by_id)
		unmap_array(g.by_id, ids_mapped);
	if (r.sites)
		unmap_array(r.sites, sites_mapped);
	lp_vec_free(&g.large);
	pthread_mutex_unlock(&report_mutex);
	lp_guard_leave();
	return copied;
}

/* The caller's registers and frame, first: the leak scan reads this
 * thread's stack from the caller's frame up (ours hold the shim's
 * pointers) and the registers the program may keep a pointer in. */
void
lp_report_write_at(enum lp_reason reason, const char *label, bool safe_point)
{
	uint64_t regs[6];
	LP_SAVE_CALLEE_REGS(regs);
	write_report(reason, label, safe_point, NULL, 0, (uintptr_t)__builtin_frame_address(0),
		     regs);
}

bool
lp_report_write_with_json(enum lp_reason reason, const char *label, bool safe_point,
			  const char *json_path, unsigned flags)
{
	uint64_t regs[6];
	LP_SAVE_CALLEE_REGS(regs);
	return write_report(reason, label, safe_point, json_path, flags,
			    (uintptr_t)__builtin_frame_address(0), regs);
}
