/* SPDX-License-Identifier: MIT */
/*
 * fast_unwind.c - see fast_unwind.h: the walk, the rule cache it reads
 * and the memo of its previous walk.
 *
 * The walk reproduces libunwind 1.6's x86-64 fast trace (unw_backtrace):
 * a frame is followed only when its CFI row has a shape libunwind itself
 * traces (cfi.c turns the row into a rule: RULE_STANDARD steps,
 * RULE_LAST ends the walk as it ends libunwind's, RULE_UNSUPPORTED
 * answers -1 and the caller asks libunwind); a return address below
 * 0x4000 ends it too.
 *
 * Code without CFI (a JIT's, functions built without unwind tables): a pc
 * in no module, in a module without .eh_frame_hdr, or between the FDEs of
 * its module is stepped as libunwind guesses it, by the frame pointer:
 * CFA = rbp + 16, return address at rbp + 8, rbp saved at rbp, and only
 * when rbp looks like one (nonzero, 8-aligned, at or above sp and within
 * 16 KiB of it, on the stack); otherwise the walk ends there, as
 * libunwind's does.  The frames after it have their CFI again.
 *
 * Rule cache: one 64-bit word per slot, written and read with single
 * atomic accesses, so no reader can see a torn entry.  The pc is
 * multiplied by an odd constant modulo 2^47 (a bijection): the top bits
 * select the slot and the low bits are the tag, so slot + tag identify
 * the pc exactly.  Pcs at or above 2^47 are never cached.
 *
 * dlclose: modules loaded before lp_fast_unwind_init are never unloaded
 * (they are the program and its startup dependencies, provided the
 * caller initialises before the program's first dlopen), so their rules
 * are permanent.  Rules of later modules are volatile: stamped with the
 * loader generation (dlpi_adds + dlpi_subs) the walk began under, and
 * before a walk uses its first volatile rule it re-reads the generation
 * (dl_iterate_phdr, under the loader's lock); if it moved, the volatile
 * rules are dropped and the walk starts over.  Once confirmed, the rules
 * hold for the whole walk: it only meets modules with frames on this
 * thread's stack, which no correct program unloads under it.
 *
 * Memo: the walk is a chain of dependent loads (~7 ns a frame).  Each
 * thread keeps its previous walk; wherever a new walk reaches one of its
 * states (same pc and sp, and same rbp if the rest of the walk uses it)
 * the steps that follow are verified with independent loads (~1 ns a
 * frame), until a word differs; the walk then goes on by itself and may
 * meet the memo again further up.
 *
 * Memory safety: every stack load lies between the walk's own rsp and
 * the top of the mapping the walk started on (this thread's stack, or
 * the mapping holding rsp: stack_bounds.c, which says when that bound
 * may be out of date), and the CFA strictly rises.
 *
 * The rest of the unwinder: rule.h (the rule word), cfi.c (a rule from
 * .eh_frame, on a miss), stack_bounds.c (the stacks a walk may read).
 * All a walk does per frame on a cache hit is here, inlined: only a miss
 * and a stack pointer off the thread's own stack leave this file.
 */
#ifndef _GNU_SOURCE /* the build passes it */
#define _GNU_SOURCE
#endif
#include "unwind/fast_unwind.h"

#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "core/own_memory.h"
#include "unwind/cfi.h"
#include "unwind/rule.h"
#include "unwind/stack_bounds.h"

#if LP_FAST_UNWIND_AVAILABLE

/* Any odd multiplier keeps the hash a bijection; the unit test builds
 * with 1 to pile every pc of a module into a few slots. */
#ifndef LP_FAST_UNWIND_HASH_MUL
#define LP_FAST_UNWIND_HASH_MUL UINT64_C(0x9e3779b97f4a7c15)
#endif

/* Cache word: tag (high bits) | rule (RULE_BITS low bits). */
#define PC_BITS 47
#define PC_LIMIT (UINT64_C(1) << PC_BITS)
#define SLOT_BITS 18
#define SLOT_COUNT (UINT64_C(1) << SLOT_BITS)
#define TAG_BITS (PC_BITS - SLOT_BITS)
#define RULE_BITS (64 - TAG_BITS)
#define HASH_MUL ((LP_FAST_UNWIND_HASH_MUL | 1) & (PC_LIMIT - 1))
_Static_assert(RULE_BITS >= RULE_FIELD_BITS, "rule fields overlap the tag");

/* libunwind's end of the walk: a return address below this stops it. */
#define LOWEST_PC 0x4000
/* libunwind's bound on a guessed frame: rbp at most this far above sp. */
#define FP_FRAME_MAX 0x4000

#define PERMANENT_MAX 512

/* The unit test builds the walk without memo too, to test the plain
 * walk on every frame. */
#ifndef LP_FAST_UNWIND_MEMO
#define LP_FAST_UNWIND_MEMO 1
#endif
#define MEMO_STEPS 128

static uint64_t *cache;
static uint64_t generation; /* loader generation last seen; only grows */
static uintptr_t permanent[PERMANENT_MAX]; /* .eh_frame_hdr of each */
static int permanent_count;
static bool init_ok;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

enum {
	STEP_BP_SLOT = 1,  /* rbp was read at cfa + bp_slot */
	STEP_CFA_SLOT = 2, /* the CFA was read at cfa + cfa_slot */
	STEP_USES_BP = 4,  /* the step used the rbp it was given */
};

/* One step of a recorded walk: the caller's CFA, the return address read
 * at cfa - 8, the rbp read from the stack (a step that keeps rbp leaves
 * bp alone: a state's rbp is the last one read, or the walk's first),
 * where rbp and the CFA were read from. */
struct lp_memo_step {
	uintptr_t cfa, ra, bp;
	int16_t bp_slot, cfa_slot;
	uint8_t flags;
};

/* The previous walk of this thread.  Its steps after a state (pc, sp,
 * rbp) depend only on that state, the rules (fixed for one loader
 * generation) and the stack words they read; so wherever a new walk
 * reaches one of its states, the steps that follow are replayed by
 * checking those words, loads that do not depend on each other, instead
 * of walking.  A walk may leave the memo (a word differs: another caller
 * down there) and meet it again further up (the same outer frames), as
 * stacks of one program mostly do.  Steps are step[0, count). */
struct lp_memo {
	uintptr_t pc, sp, bp; /* the state the walk started from */
	uintptr_t top;	      /* the top of its stack: a walk under another
			       * bound does not replay it (locate_stack) */
	uint64_t gen;
	int count;	     /* steps recorded */
	bool ends;	     /* the rule after the last step is RULE_LAST */
	bool volatile_rules; /* the steps used volatile rules */
	int bp_free_from;    /* no step from here on uses or reads rbp */
	struct lp_memo_step step[MEMO_STEPS];
};

/* This thread: the stacks it runs on, and two records: the memo a walk
 * reads and the one it writes, which then swap (the memo stays whole
 * while the walk is under way). */
struct lp_thread {
	struct lp_stack_bounds stacks;
	struct lp_memo *memo, *spare;
	bool locating; /* in locate_stack: a signal handler's walk gives up */
	bool walking;  /* a signal handler's walk leaves the memo alone */
	struct lp_memo records[2];
};
static __thread struct lp_thread this_thread
	__attribute__((tls_model("initial-exec")));

/* --- loader generation ------------------------------------------------ */

static int
read_generation_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	if (size < offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
		return -1;
	*(uint64_t *)data = info->dlpi_adds + info->dlpi_subs;
	return 1;
}

static uint64_t
read_generation(void)
{
	uint64_t g = UINT64_MAX;

	dl_iterate_phdr(read_generation_cb, &g);
	return g;
}

/* Forget every volatile rule.  CAS, not store: a rule written meanwhile
 * by another thread is newer than what we saw. */
static void
flush_volatile(void)
{
	for (uint64_t i = 0; i < SLOT_COUNT; i++) {
		uint64_t w = __atomic_load_n(&cache[i], __ATOMIC_RELAXED);
		if (w & RULE_VOLATILE)
			__atomic_compare_exchange_n(&cache[i], &w, 0, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
}

/* Confirm the loader generation is still walk_gen.  If not, publish the
 * new one (it only grows) and drop the volatile rules: stamps have 4
 * bits, a rule must not outlive 16 generations. */
static LP_NOINLINE bool
confirm_generation(uint64_t walk_gen)
{
	uint64_t now = read_generation();
	if (now == walk_gen)
		return true;

	uint64_t seen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
	while (seen < now) {
		if (__atomic_compare_exchange_n(&generation, &seen, now, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			flush_volatile();
			break;
		}
	}
	return false;
}

/* The modules loaded at lp_fast_unwind_init: their rules are permanent. */
static int
note_module_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME &&
		    permanent_count < PERMANENT_MAX)
			permanent[permanent_count++] =
				info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
	}
	return 0;
}

static bool
is_permanent(uintptr_t eh_frame_hdr)
{
	for (int i = 0; i < permanent_count; i++)
		if (permanent[i] == eh_frame_hdr)
			return true;
	return false;
}

/* --- the rule cache --------------------------------------------------- */

/* Miss: derive the rule and publish it.  A pc in no module (a JIT's code,
 * or something mapped there later) is stepped by the frame pointer and
 * not cached.  A volatile rule is stamped with the generation the walk
 * started under, and withdrawn if the published generation moved
 * meanwhile (a flush may have run before our store). */
static LP_NOINLINE uint64_t
fill_rule(uintptr_t pc, uint64_t slot, uint64_t tag, uint64_t walk_gen)
{
	struct dl_find_object mod;

	if (_dl_find_object((void *)pc, &mod) != 0)
		return RULE_FRAME_POINTER;
	uint64_t rule = lp_cfi_rule(pc, &mod);
	/* A module without .eh_frame_hdr is never one of the permanent
	 * ones (noted by theirs): volatile, as a later module's. */
	if (!mod.dlfo_eh_frame || !is_permanent((uintptr_t)mod.dlfo_eh_frame))
		rule |= RULE_VOLATILE | (walk_gen & 15) << RULE_STAMP_SHIFT;
	if (slot >= SLOT_COUNT)
		return rule;
	uint64_t w = tag << RULE_BITS | rule;
	__atomic_store_n(&cache[slot], w, __ATOMIC_RELAXED);
	if ((rule & RULE_VOLATILE) &&
	    __atomic_load_n(&generation, __ATOMIC_ACQUIRE) != walk_gen)
		__atomic_compare_exchange_n(&cache[slot], &w, 0, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	return rule;
}

static inline uint64_t
lookup_rule(uintptr_t pc, uint64_t walk_gen)
{
	if (lp_unlikely(pc >= PC_LIMIT))
		return fill_rule(pc, SLOT_COUNT, 0, walk_gen);
	uint64_t h = (pc * HASH_MUL) & (PC_LIMIT - 1);
	uint64_t slot = h >> TAG_BITS, tag = h & ((UINT64_C(1) << TAG_BITS) - 1);
	uint64_t w = __atomic_load_n(&cache[slot], __ATOMIC_RELAXED);
	if (lp_likely(w >> RULE_BITS == tag && (w & RULE_KIND) != RULE_EMPTY) &&
	    (!(w & RULE_VOLATILE) ||
	     ((w >> RULE_STAMP_SHIFT) & 15) == (walk_gen & 15)))
		return w;
	return fill_rule(pc, slot, tag, walk_gen);
}

/* --- the stack a walk runs on ----------------------------------------- */

/* sp lies outside this thread's known stack: the top of the read-write
 * mapping holding sp (stack_bounds.c), 0 if there is none or it cannot
 * be known now. */
static LP_COLD uintptr_t
locate_stack(uintptr_t sp)
{
	struct lp_thread *ts = &this_thread;

	/* A signal handler that interrupted this thread's locate_stack
	 * gives up: the bounds are being rewritten under it. */
	if (ts->locating)
		return 0;
	ts->locating = true;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	uintptr_t top = lp_stack_bounds_locate(&ts->stacks, sp);
	/* A memo recorded under another bound is not replayed under this
	 * one (its steps read up to its own top).  A walk on the thread's
	 * stack needs no such check: no state of a memo recorded on another
	 * mapping lies on it. */
	if (top && !ts->walking && ts->memo && ts->memo->top != top)
		ts->memo->gen = UINT64_MAX;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ts->locating = false;
	return top;
}

/* --- initialisation --------------------------------------------------- */

static void
init_once_fn(void)
{
	struct dl_find_object mine;

	void *m = lp_own_mmap(NULL, SLOT_COUNT * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return;
	/* The modules loaded now can never be unloaded (they are the
	 * program and its startup dependencies, as long as we are
	 * initialised before the program's first dlopen). */
	dl_iterate_phdr(note_module_cb, NULL);
	uint64_t gen = read_generation();
	__atomic_store_n(&generation, gen, __ATOMIC_RELEASE);
	if (gen == UINT64_MAX ||
	    _dl_find_object((void *)(uintptr_t)&init_once_fn, &mine) != 0 ||
	    !mine.dlfo_eh_frame) {
		lp_own_munmap(m, SLOT_COUNT * sizeof(uint64_t));
		return;
	}
	__atomic_store_n(&cache, (uint64_t *)m, __ATOMIC_RELEASE);
	init_ok = true;
}

bool
lp_fast_unwind_init(void)
{
	pthread_once(&init_once, init_once_fn);
	return init_ok;
}

/* --- the walk --------------------------------------------------------- */

static inline uintptr_t
load_word(uintptr_t addr)
{
	uintptr_t v;

	memcpy(&v, (const void *)addr, sizeof(v));
	return v;
}

/* Whether the walk recorded in m uses the rbp of its state i: a step
 * from there on uses rbp before one reads it from the stack (or the walk
 * goes on past the memo). */
static bool
memo_needs_bp(const struct lp_memo *m, int i)
{
	if (i >= m->bp_free_from)
		return !m->ends;
	for (; i < m->count; i++) {
		unsigned flags = m->step[i].flags;
		if (flags & STEP_USES_BP)
			return true;
		if (flags & STEP_BP_SLOT)
			return false;
	}
	return !m->ends;
}

/* Replay steps of a memo while the stack words they read still hold
 * what they held (rbp's only where the rest of the walk uses it); ips
 * receives their return addresses, *bp follows rbp, rec[0, rec_count)
 * receives the steps as this walk reads them.  The CFAs of the steps rise
 * and none exceeds the thread's top: checking the first one against the
 * floor bounds them.  Returns the steps replayed. */
static inline __attribute__((always_inline)) int
replay_steps(const struct lp_memo *m, int at, int count, void **ips, uintptr_t floor,
	     uintptr_t *bp, struct lp_memo_step *rec, int rec_count)
{
	const struct lp_memo_step *step = m->step + at;
	uintptr_t cur = *bp;
	int i = 0;

	if (count <= 0 || step[0].cfa - 8 < floor)
		return 0;
	for (; i < count; i++) {
		const struct lp_memo_step *st = &step[i];
		unsigned flags = st->flags;
		if (lp_unlikely(flags & STEP_CFA_SLOT) &&
		    (st->cfa + st->cfa_slot < floor || load_word(st->cfa + st->cfa_slot) != st->cfa))
			break;
		if (load_word(st->cfa - 8) != st->ra)
			break;
		if (flags & STEP_BP_SLOT) {
			if (st->cfa + st->bp_slot < floor)
				break;
			uintptr_t v = load_word(st->cfa + st->bp_slot);
			if (lp_unlikely(v != st->bp) && memo_needs_bp(m, at + i + 1))
				break;
			cur = v;
		}
		ips[i] = (void *)st->ra;
		if (i < rec_count) {
			rec[i] = *st;
			rec[i].bp = cur;
		}
	}
	*bp = cur;
	return i;
}

/* The state before step i of a memo: (pc to look up, sp, rbp), and
 * whether the rest of the walk depends on that rbp. */
static inline uintptr_t
memo_sp(const struct lp_memo *m, int i)
{
	return i ? m->step[i - 1].cfa : m->sp;
}

static inline uintptr_t
memo_pc(const struct lp_memo *m, int i)
{
	return i ? m->step[i - 1].ra - 1 : m->pc;
}

static inline bool
memo_matches_bp(const struct lp_memo *m, int i, uintptr_t bp)
{
	int k = i;

	while (k > 0 && !(m->step[k - 1].flags & STEP_BP_SLOT))
		k--;
	return (k ? m->step[k - 1].bp : m->bp) == bp || !memo_needs_bp(m, i);
}

static inline int
min_int(int a, int b)
{
	return a < b ? a : b;
}

/* Where a walk starts: this frame's pc, sp, rbp; every load lies in
 * [floor, top - 8], the mapped stack above the walk's own frame. */
struct lp_walk_start {
	uintptr_t pc, sp, bp, top;
	uint64_t gen; /* loader generation of the rules it may use */
	bool own_memo;
};

#define WALK_STALE (-2) /* the loader generation moved: walk again */

/* The rule a guessed frame steps by: CFA = rbp + 16, rbp saved at CFA -
 * 16 (slot -2), the return address at CFA - 8, as gcc's frame pointer
 * prologue (push %rbp; mov %rsp, %rbp) leaves them. */
#define RULE_AS_FRAME_POINTER                                                   \
	(RULE_STANDARD | RULE_CFA_RBP | RULE_RBP_SAVED | 16 |                      \
	 ((uint64_t)-2 & 0x7f) << RULE_SLOT_SHIFT)

/* A rule that is not RULE_STANDARD, for the frame at (sp, bp) on a
 * stack ending at top: what the walk does with it.  RULE_UNSUPPORTED:
 * give up; RULE_LAST: the outermost frame; RULE_EMPTY: end here, a guess
 * that failed (its end depends on rbp: not one the memo may skip to);
 * RULE_AS_FRAME_POINTER: step by the frame pointer.  Out of line: the
 * walk's loop keeps its registers.
 *
 * No CFI: rbp may be the frame's base if libunwind would think so (at or
 * above sp, within FP_FRAME_MAX of it), it is aligned and its two words
 * lie on the stack; rbp 0 marks the outermost frame (the x86-64 ABI).
 * The return address above it must be code, not an address on the
 * stack.  The walk then reads that word again, as any CFI step's. */
static LP_NOINLINE uint64_t
rule_without_cfi(uint64_t rule, uintptr_t sp, uintptr_t bp, uintptr_t top)
{
	if ((rule & RULE_KIND) != RULE_LAST)
		return RULE_UNSUPPORTED;
	if ((rule & RULE_FRAME_POINTER) != RULE_FRAME_POINTER)
		return RULE_LAST;
	if (!bp || (bp & 7) || bp < sp || bp - sp > FP_FRAME_MAX || bp > top - 16)
		return RULE_EMPTY;
	uintptr_t ra = load_word(bp + 8);
	if (ra >= sp && ra < top)
		return RULE_EMPTY;
	return RULE_AS_FRAME_POINTER;
}

/* Walk the stack from start.  Returns the number of frames, -1 (give
 * up) or WALK_STALE, recording the walk (in t->spare, which then becomes
 * the memo) on success. */
static inline __attribute__((always_inline)) int
walk_stack(struct lp_thread *t, const struct lp_walk_start *start, void **ips, int max)
{
	const uintptr_t floor = start->sp, top = start->top;
	const struct lp_memo *m = t->memo;
	struct lp_memo *rec = t->spare;
	int room = start->own_memo ? MEMO_STEPS : 0;
	/* next: the first state of m not below sp; -1: m matches nothing.
	 * tried: a state whose replay stopped at once (its first step differs
	 * from this walk's): walked, not tried again. */
	int next = start->own_memo && m->gen == start->gen ? 0 : -1, tried = -1;
	/* checked: the generation was confirmed, volatile rules are
	 * current (their modules have frames on this stack: they stay). */
	bool checked = false, used_volatile = false, ends = false;
	uintptr_t lookup = start->pc, sp = start->sp, bp = start->bp;
	int n = 0, ret = -1;

	/* Step frame by frame.  Postcondition of each step: sp, bp are the
	 * caller's CFA and rbp, lookup its pc, ips[0..n) the return
	 * addresses so far, rec->step[0..min(n, room)) the steps. */
	for (;;) {
		while (next >= 0 && next <= m->count && memo_sp(m, next) < sp)
			next++;
		if (next > m->count)
			next = -1;
		if (next >= 0 && next != tried && memo_sp(m, next) == sp &&
		    memo_pc(m, next) == lookup && memo_matches_bp(m, next, bp)) {
			if (m->volatile_rules && !checked) {
				if (!confirm_generation(start->gen)) {
					ret = WALK_STALE;
					goto fail;
				}
				checked = true;
			}
			used_volatile |= m->volatile_rules;
			/* From here this walk is m's, as long as the words m
			 * read still hold what it read. */
			int done = replay_steps(m, next, min_int(m->count - next, max - n),
						ips + n, floor, &bp, n < room ? rec->step + n : NULL,
						room - n);
			n += done;
			next += done;
			if (next == m->count && m->ends && n < max) {
				ends = true;
				break;
			}
			if (done) {
				sp = m->step[next - 1].cfa;
				lookup = m->step[next - 1].ra - 1;
			}
			/* The step from state next differs: walk it. */
			tried = next;
			if (n >= max)
				break;
		}
		if (n >= max)
			break;
		uint64_t rule = lookup_rule(lookup, start->gen);
		if (lp_unlikely(rule & RULE_VOLATILE) && !checked) {
			if (!confirm_generation(start->gen)) {
				ret = WALK_STALE;
				goto fail;
			}
			checked = true;
		}
		used_volatile |= (rule & RULE_VOLATILE) != 0;
		if (lp_unlikely((rule & RULE_KIND) != RULE_STANDARD)) {
			rule = rule_without_cfi(rule, sp, bp, top);
			if ((rule & RULE_KIND) == RULE_UNSUPPORTED)
				goto fail;
			if ((rule & RULE_KIND) != RULE_STANDARD) {
				ends = (rule & RULE_KIND) == RULE_LAST;
				break;
			}
		}
		/* The slot field, sign-extended: rbp's slot in words, or
		 * for an aligned rule where the CFA is, in bytes. */
		int64_t slot_field = (int64_t)(rule << (57 - RULE_SLOT_SHIFT)) >> 57;
		uintptr_t cfa, cfa_at = 0, bp_at = 0;
		if (lp_likely(!(rule & RULE_ALIGNED))) {
			cfa = ((rule & RULE_CFA_RBP) ? bp : sp) + (rule & CFA_OFF_MAX);
			bp_at = cfa + (uintptr_t)(slot_field * 8);
		} else {
			cfa_at = bp + (uintptr_t)slot_field;
			if (lp_unlikely(cfa_at < floor || cfa_at > top - 8))
				goto fail;
			cfa = load_word(cfa_at);
			bp_at = bp;
		}
		/* The CFA strictly rises and stays on the stack. */
		if (lp_unlikely(cfa < sp + 8 || cfa > top))
			goto fail;
		uintptr_t ra = load_word(cfa - 8);
		if (rule & RULE_RBP_SAVED) {
			if (lp_unlikely(bp_at < floor || bp_at > top - 8))
				goto fail;
			bp = load_word(bp_at);
		}
		sp = cfa;
		if (lp_unlikely(ra < LOWEST_PC))
			break;
		if (n < room) {
			/* Slots are kept relative to the CFA, in 16 bits;
			 * a step that does not fit ends the record. */
			intptr_t cfa_rel = (intptr_t)(cfa_at - cfa), bp_rel = (intptr_t)(bp_at - cfa);
			if (((rule & RULE_ALIGNED) && (cfa_rel < INT16_MIN || cfa_rel > INT16_MAX)) ||
			    ((rule & RULE_RBP_SAVED) && (bp_rel < INT16_MIN || bp_rel > INT16_MAX)))
				room = n;
			else
				rec->step[n] = (struct lp_memo_step){
					.cfa = cfa, .ra = ra, .bp = bp,
					.bp_slot = (int16_t)bp_rel, .cfa_slot = (int16_t)cfa_rel,
					.flags = (uint8_t)(((rule & RULE_RBP_SAVED) ? STEP_BP_SLOT : 0) |
							   ((rule & RULE_ALIGNED) ? STEP_CFA_SLOT : 0) |
							   ((rule & RULE_CFA_RBP) ? STEP_USES_BP : 0)),
				};
		}
		ips[n++] = (void *)ra;
		lookup = ra - 1; /* the call, not what follows it */
	}
	if (start->own_memo) {
		int count = min_int(n, room), k = count;
		rec->pc = start->pc;
		rec->sp = start->sp;
		rec->bp = start->bp;
		rec->top = top;
		rec->gen = start->gen;
		rec->count = count;
		rec->ends = ends && n == count;
		rec->volatile_rules = used_volatile;
		while (k > 0 && !(rec->step[k - 1].flags & (STEP_BP_SLOT | STEP_USES_BP)))
			k--;
		rec->bp_free_from = k;
		t->spare = t->memo;
		t->memo = rec;
	}
	return n;

fail:
	/* The memo is untouched: the next walk may still meet it. */
	return ret;
}

/* The loader generation moved under a walk: once more, under the new
 * one (out of line: the walk is inlined once, on the hot path). */
static LP_NOINLINE int
walk_again(struct lp_thread *t, struct lp_walk_start *start, void **ips, int max)
{
	start->gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
	int n = walk_stack(t, start, ips, max);
	return n == WALK_STALE ? -1 : n;
}

LP_NOINLINE int
lp_fast_unwind(void **ips, int max)
{
	struct lp_walk_start start;

	/* pc is the instruction that reads rsp: the CFI row there
	 * describes this very frame. */
	__asm__ volatile("leaq 0(%%rip), %0\n\t"
			 "movq %%rsp, %1\n\t"
			 "movq %%rbp, %2"
			 : "=r"(start.pc), "=r"(start.sp), "=r"(start.bp));
	if (lp_unlikely(!__atomic_load_n(&cache, __ATOMIC_ACQUIRE)))
		return -1;
	if (max <= 0)
		return 0;
	struct lp_thread *t = &this_thread;
	start.top = t->stacks.hi;
	if (lp_unlikely(start.sp < t->stacks.lo || start.sp >= start.top) &&
	    !(start.top = locate_stack(start.sp)))
		return -1;

	if (lp_unlikely(!t->memo)) {
		t->memo = &t->records[0];
		t->spare = &t->records[1];
	}
	start.own_memo = LP_FAST_UNWIND_MEMO && !t->walking;
	if (start.own_memo) {
		t->walking = true;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	}
	/* A walk that met a rule of a module loaded or unloaded since the
	 * generation was last seen is walked once more. */
	start.gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
	int n = walk_stack(t, &start, ips, max);
	if (lp_unlikely(n == WALK_STALE))
		n = walk_again(t, &start, ips, max);
	if (start.own_memo) {
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		t->walking = false;
	}
	return n;
}

#else /* no _dl_find_object: libunwind does everything */

bool
lp_fast_unwind_init(void)
{
	return false;
}

int
lp_fast_unwind(void **ips, int max)
{
	(void)ips;
	(void)max;
	return -1;
}

#endif
