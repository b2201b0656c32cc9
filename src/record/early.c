/* SPDX-License-Identifier: MIT */
/* early.c - see early.h. */
#include "record/early.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <string.h>

#include "core/guard.h"
#include "core/options.h"
#include "core/spinlock.h"
#include "core/state.h"
#include "record/heap_table.h"
#include "record/record.h"
#include "record/stackdepot.h"
/* A C++ program with many static constructors of its own allocates after
 * our constructor (the executable's initialisers run last): what comes
 * earlier is libraries' start-up, a handful of blocks.  160 bytes each,
 * in BSS: pages never touched cost nothing. */
#define EARLY_MAX 2048
#define EARLY_DEPTH 16
/* Frames of ours below the allocating call: capture, lp_early_alloc, the
 * untracked path, the interposer (when not a tail call). */
#define OWN_FRAMES_MAX 8

struct early_block {
	uintptr_t ptr;
	uint64_t size;
	uint32_t depth;
	void *ips[EARLY_DEPTH];
};

bool lp_early_open = true;
static lp_spinlock lock;
static struct early_block blocks[EARLY_MAX];
static uint32_t count;
static uint64_t dropped, dropped_bytes;

/* libgcc's unwinder, when the process has it (every C++ process: libstdc++
 * needs it).  The cached unwinder cannot serve here: every walk from a
 * start-up constructor ends in ld.so's _dl_start_user, which has no
 * unwind rule to stop at, and a walk that meets a frame it cannot unwind
 * gives up whole.  libgcc hands over each frame as it goes.  Looked up
 * once, in the first early allocation (where lp_resolve's own dlsym has
 * just run), and only from libgcc_s itself: a _Unwind_Backtrace of
 * libunwind's would open its validation pipe behind the program's back.
 * (Every dl call clears the thread's pending dlerror(), a failed one sets
 * it: the failure is cleared again, nothing of the program's is lost that
 * the lookup itself had not cleared.) */
struct _Unwind_Context;
typedef int (*trace_fn)(struct _Unwind_Context *, void *);
static int (*unwind_backtrace)(trace_fn, void *);
static uintptr_t (*unwind_get_ip)(struct _Unwind_Context *);
static uintptr_t libgcc_lo, libgcc_hi;
static int libgcc_state; /* 0 not looked up, 1 found, 2 absent */

/* fn lies in libgcc_s: its text range, else false. */
static bool
in_libgcc(void *fn, uintptr_t *lo, uintptr_t *hi)
{
	struct dl_find_object o;
	if (!fn || _dl_find_object(fn, &o) != 0 || !o.dlfo_link_map ||
	    !o.dlfo_link_map->l_name)
		return false;
	const char *name = o.dlfo_link_map->l_name;
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	*lo = (uintptr_t)o.dlfo_map_start;
	*hi = (uintptr_t)o.dlfo_map_end;
	return strncmp(base, "libgcc_s.so", 11) == 0;
}

static bool
find_libgcc(void)
{
	if (libgcc_state == 0) {
		void *bt = dlsym(RTLD_DEFAULT, "_Unwind_Backtrace");
		void *ip = dlsym(RTLD_DEFAULT, "_Unwind_GetIP");
		uintptr_t lo, hi, lo2, hi2;
		if (!bt || !ip)
			dlerror(); /* no failure of ours left for the program's dlerror() */
		if (in_libgcc(bt, &lo, &hi) && in_libgcc(ip, &lo2, &hi2)) {
			unwind_backtrace = (int (*)(trace_fn, void *))bt;
			unwind_get_ip = (uintptr_t (*)(struct _Unwind_Context *))ip;
			libgcc_lo = lo;
			libgcc_hi = hi;
			libgcc_state = 1;
		} else {
			libgcc_state = 2;
		}
	}
	return libgcc_state == 1;
}

struct walk {
	void **ips;
	int n, max;
};

static int
one_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct walk *w = arg;
	if (w->n == w->max)
		return 5; /* _URC_END_OF_STACK: enough */
	w->ips[w->n++] = (void *)unwind_get_ip(ctx);
	return 0; /* _URC_NO_REASON: go on */
}

/* The allocating call's stack, innermost first, from its return address
 * (caller) on.  The walk must pass through caller; the frames below it
 * are ours.  Without libgcc, or a walk that misses caller: caller alone,
 * shorter, never wrong.  Guard up. */
static uint32_t
capture(void **out, void *caller)
{
	void *ips[OWN_FRAMES_MAX + EARLY_DEPTH];
	struct walk w = { ips, 0, (int)LP_ARRAY_LENGTH(ips) };
	/* Not when libgcc itself allocates: it may hold the lock of its
	 * registered frames (init_object), which the walk would take again. */
	if (find_libgcc() && !((uintptr_t)caller >= libgcc_lo && (uintptr_t)caller < libgcc_hi))
		unwind_backtrace(one_frame, &w);
	int first = -1;
	for (int i = 0; i < w.n && i < OWN_FRAMES_MAX; i++) {
		if (ips[i] == caller) {
			first = i;
			break;
		}
	}
	if (first < 0) {
		out[0] = caller;
		return 1;
	}
	uint32_t depth = (uint32_t)(w.n - first);
	if (depth > EARLY_DEPTH)
		depth = EARLY_DEPTH;
	memcpy(out, ips + first, depth * sizeof(void *));
	return depth;
}

static void
forget_locked(uintptr_t p)
{
	/* Newest first: start-up frees mostly what it just made. */
	for (uint32_t i = count; i-- > 0;) {
		if (blocks[i].ptr == p) {
			blocks[i] = blocks[--count];
			return;
		}
	}
}

void
lp_early_alloc(void *p, size_t size, void *caller)
{
	/* The shim's own; or a signal handler's while this thread holds the
	 * table's lock (the block is then not kept, as if the table were
	 * full, but not counted). */
	if (!p || lp_guarded() || lp_locks_held)
		return;
	int saved = errno;
	lp_guard_enter();
	struct early_block b = { .ptr = (uintptr_t)p, .size = size };
	b.depth = capture(b.ips, caller);
	lp_spin_lock(&lock);
	bool open = lp_early_open;
	if (open && count < EARLY_MAX)
		blocks[count++] = b;
	else if (open) {
		dropped++;
		dropped_bytes += size;
	}
	lp_spin_unlock(&lock);
	lp_guard_leave();
	/* Tracking started meanwhile (another thread): record it there. */
	if (!open && lp_state == LP_TRACKING)
		lp_record_alloc(p, size, caller);
	errno = saved;
}

void
lp_early_free(void *p)
{
	/* From inside one of our locks (a signal handler's free): the entry
	 * stays, and a later block at the address replaces it. */
	if (!p || lp_locks_held)
		return;
	lp_spin_lock(&lock);
	bool open = lp_early_open;
	if (open)
		forget_locked((uintptr_t)p);
	lp_spin_unlock(&lock);
	if (!open && lp_state == LP_TRACKING)
		lp_record_free(p); /* it went to the side table meanwhile */
}

void
lp_early_realloc(void *p, void *q, size_t size, void *caller)
{
	if (!q && size)
		return; /* failed: p lives on, where it was */
	lp_early_free(p);
	lp_early_alloc(q, size, caller);
}

void
lp_early_start_tracking(void)
{
	lp_spin_lock(&lock);
	for (uint32_t i = 0; i < count; i++) {
		const struct early_block *b = &blocks[i];
		unsigned depth = b->depth < (unsigned)lp_opt.depth ? b->depth
								 : (unsigned)lp_opt.depth;
		lp_heap_insert(b->ptr, b->size, lp_stackdepot_put(b->ips, depth));
	}
	count = 0;
	lp_early_open = false;
	__atomic_store_n(&lp_state, LP_TRACKING, __ATOMIC_RELEASE);
	lp_spin_unlock(&lock);
}

void
lp_early_close(void)
{
	lp_spin_lock(&lock);
	count = 0;
	lp_early_open = false;
	lp_spin_unlock(&lock);
}

uint64_t
lp_early_dropped_blocks(void)
{
	return dropped;
}

uint64_t
lp_early_dropped_bytes(void)
{
	return dropped_bytes;
}

unsigned
lp_early_capacity(void)
{
	return EARLY_MAX;
}
