/* SPDX-License-Identifier: MIT */
/*
 * test_fast_unwind.c - lp_fast_unwind against libunwind's unw_backtrace.
 *
 * Both unwinders are called through one call instruction (a loop over two
 * function pointers), so their arrays must be identical, ips[0] included.
 * lp_fast_unwind may answer -1 only where the test allows it (signal
 * frames, a loader generation change); it must never answer a different
 * stack.  Stacks are built from a random mix of frame shapes: -O2 without
 * frame pointer, -O0 (chain_o0.c), alloca and VLA (CFA on rbp), a frame
 * saving rbp as a callee-saved register, two dlopen'd plugins built
 * -O0 and -O2 (plugin.c), a frame without unwind tables (no_cfi.c) and
 * JIT code in an anonymous executable mapping, both with frame pointers,
 * which both unwinders guess.  Consecutive walks share outer frames, so most
 * walks go through the memo's replay; the build with
 * -DLP_FAST_UNWIND_MEMO=0 -DLP_FAST_UNWIND_HASH_MUL=1 walks every frame
 * with every pc of a module in one cache slot (constant eviction).
 *
 * Also: threads, signal handlers (expected -1: glibc's __restore_rt is a
 * signal frame), signals landing inside walks, the main stack growing,
 * dlclose + dlopen of another module at the same address
 * (stale_a.S/stale_b.S), walks under qsort/bsearch/dl_iterate_phdr, and
 * a benchmark.  Stacks that switch: the same chains on makecontext
 * coroutine stacks (malloc'd in [heap] or in a mapping of their own,
 * mmap'd), many of them in turn, in threads, under signals, each walk
 * ending with the coroutine's own first return address (into
 * __start_context); JIT frames whose rbp is no frame pointer end the walk.
 *
 * Usage: test_fast_unwind [directory of libfu_*.so]  (default: the
 * executable's directory).
 */
#ifndef _GNU_SOURCE /* the build passes it */
#define _GNU_SOURCE
#endif
#include <alloca.h>
#include <dlfcn.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

/* Coroutine stacks are registered with valgrind (a no-op outside it),
 * which otherwise takes a switch for a huge frame. */
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define VALGRIND_STACK_REGISTER(lo, hi) 0u
#define VALGRIND_STACK_DEREGISTER(id) ((void)(id))
#endif

#include "unwind/fast_unwind.h"

int fu_frame_o0(void *plan, int (*next)(void *));
int fu_no_cfi_frame(void *plan, int (*next)(void *));
void fu_two_sites(void (*cb)(void), int which);
void fu_realigned(void (*cb)(void));

/* Walks per thread in the threads test (the collision build runs with
 * every lookup missing: far slower). */
/* Walks per thread; fewer when the maps are read as text (slower). */
static int fu_walks = 20000;

#define MAX_FRAMES 512

static int passed, failed;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (cond) {                                                    \
			passed++;                                              \
			printf("ok   ");                                       \
		} else {                                                       \
			failed++;                                              \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);            \
		}                                                              \
		printf(__VA_ARGS__);                                           \
		printf("\n");                                                  \
	} while (0)

/* --- walking with both unwinders ------------------------------------- */

struct outcome {
	int n[2]; /* [0] lp_fast_unwind, [1] unw_backtrace */
	void *ips[2][MAX_FRAMES];
};

/* libunwind's unw_step loop, as unw_backtrace runs it when its fast trace
 * gives up.  The dlclose test needs it: unw_backtrace's per-thread trace
 * cache is never invalidated (libunwind 1.6.2), unw_flush_cache does
 * reach the caches unw_step uses. */
static LP_NOINLINE int
step_backtrace(void **ips, int max)
{
	unw_context_t uc;
	unw_cursor_t cursor;
	unw_word_t ip;
	int n = 0;

	unw_getcontext(&uc);
	if (unw_init_local(&cursor, &uc) < 0)
		return 0;
	while (n < max && unw_step(&cursor) > 0 &&
	       unw_get_reg(&cursor, UNW_REG_IP, &ip) >= 0)
		ips[n++] = (void *)ip;
	return n;
}

enum { ORACLE_BACKTRACE = 1, ORACLE_STEP = 2 };
static int (*volatile walkers[3])(void **, int) = {
	lp_fast_unwind, unw_backtrace, step_backtrace
};

/* One call instruction for both: ips[0] must agree too. */
static LP_NOINLINE void
walk_with(struct outcome *o, int max, int oracle)
{
	for (volatile int k = 0; k < 2; k++)
		o->n[k] = walkers[k ? oracle : 0](o->ips[k], max);
}

static void
walk_both(struct outcome *o, int max)
{
	walk_with(o, max, ORACLE_BACKTRACE);
}

static void
print_stack(const char *who, void *const *ips, int n)
{
	printf("  %s: %d frames\n", who, n);
	for (int i = 0; i < n; i++) {
		Dl_info info;
		const char *sym = "?";
		if (dladdr(ips[i], &info) && info.dli_sname)
			sym = info.dli_sname;
		printf("    #%-3d %p %s\n", i, ips[i], sym);
	}
}

/* Compare: 0 identical, 1 fast unwinder gave up, -1 different stacks. */
static int
compare(const struct outcome *o)
{
	if (o->n[0] == -1)
		return 1;
	if (o->n[0] == o->n[1] &&
	    memcmp(o->ips[0], o->ips[1], (size_t)o->n[0] * sizeof(void *)) == 0)
		return 0;
	return -1;
}

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

static void
report_mismatch(const char *what, const struct outcome *o)
{
	pthread_mutex_lock(&report_lock);
	printf("mismatch in %s\n", what);
	print_stack("lp_fast_unwind", o->ips[0], o->n[0] < 0 ? 0 : o->n[0]);
	print_stack("unw_backtrace", o->ips[1], o->n[1]);
	pthread_mutex_unlock(&report_lock);
}

/* --- stacks of mixed frames ----------------------------------------- */

enum {
	K_O2, K_O0, K_ALLOCA, K_VLA, K_PRESSURE, K_PLUGIN_O0, K_PLUGIN_O2,
	K_REALIGNED, /* fu_realigned: gcc's realigned frame, CFA from memory */
	K_SITES, /* fu_two_sites: half of its frames make the walk give up */
	K_NO_CFI, /* fu_no_cfi_frame: no unwind tables, a frame pointer */
	K_JIT,	  /* machine code copied to an anonymous executable mapping */
	K_COUNT
};
#define K_LOCAL ((1u << K_O2) | (1u << K_O0) | (1u << K_ALLOCA) | (1u << K_VLA) | \
		 (1u << K_PRESSURE) | (1u << K_REALIGNED))
/* Frames without CFI, which both unwinders guess by the frame pointer. */
#define K_GUESSED ((1u << K_NO_CFI) | (1u << K_JIT))
#define K_ALL (K_LOCAL | K_GUESSED | (1u << K_PLUGIN_O0) | (1u << K_PLUGIN_O2))

struct plan {
	int depth;	/* frames still to build */
	uint32_t seed;	/* picks the shape of each frame */
	unsigned kinds; /* shapes allowed */
	int max;	/* walk's max */
	int repeat;	/* walks at the leaf */
	bool raise;	/* walk from a signal handler instead */
	int extra;	/* uncompared fast walks before each compared one */
	void *const *last; /* if set: a whole walk must end with *last */
	struct outcome *out;
	int same, gave_up, differ;
};

static int (*plugin_frame[2])(void *, int (*)(void *)); /* -O0, -O2 */

/* --- a tiny JIT ------------------------------------------------------ */

/* Code no module covers, so no unwinder has CFI for it.
 * jit_with_fp(arg, fn, next) calls fn(arg, next) under a JIT's frame
 * pointer prologue: push %rbp; mov %rsp, %rbp; mov %rsi, %rax;
 * mov %rdx, %rsi; call *%rax; pop %rbp; ret.
 * jit_rbp_from_rdx(arg, fn, value) calls fn(arg) with rbp = value, no
 * frame pointer: push %rbp; mov %rdx, %rbp; call *%rsi; pop %rbp; ret. */
typedef int (*jit_fn)(void *arg, void *fn, uintptr_t third);

static const uint8_t jit_with_fp[] = {
	0x55, 0x48, 0x89, 0xe5, 0x48, 0x89, 0xf0, 0x48, 0x89, 0xd6, 0xff, 0xd0, 0x5d, 0xc3,
};
static const uint8_t jit_rbp_from_rdx[] = {
	0x55, 0x48, 0x89, 0xd5, 0xff, 0xd6, 0x5d, 0xc3,
};

/* Copies of the code in one executable page: libunwind's trace cache
 * keeps what it decided per address, so each use has its own copy. */
enum { JIT_PLAN, JIT_BAD_RBP, JIT_COPIES = JIT_BAD_RBP + 8 };
static uint8_t *jit_page;

static jit_fn
jit_code(int copy)
{
	return (jit_fn)(void *)(jit_page + 64 * copy);
}

static bool
jit_init(void)
{
	uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	for (int i = 0; i < JIT_COPIES; i++) {
		if (i == JIT_PLAN)
			memcpy(p + 64 * i, jit_with_fp, sizeof(jit_with_fp));
		else
			memcpy(p + 64 * i, jit_rbp_from_rdx, sizeof(jit_rbp_from_rdx));
	}
	if (mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0)
		return false;
	jit_page = p;
	return true;
}

static bool
in_jit(const void *ip)
{
	return jit_page && (const uint8_t *)ip >= jit_page && (const uint8_t *)ip < jit_page + 4096;
}

static int descend(void *p);

static LP_NOINLINE int
frame_o2(struct plan *p)
{
	int r = descend(p);
	__asm__ volatile("" ::: "memory");
	return r + 1;
}

static LP_NOINLINE int
frame_alloca(struct plan *p)
{
	size_t len = 16 + (p->seed & 255);
	char *buf = alloca(len);
	memset(buf, 1, len);
	int r = descend(p);
	__asm__ volatile("" : : "r"(buf) : "memory");
	return r + buf[3];
}

static LP_NOINLINE int
frame_vla(struct plan *p)
{
	char vla[8 + (p->depth & 63)];
	vla[0] = 1;
	int r = descend(p);
	__asm__ volatile("" : : "r"(vla) : "memory");
	return r + vla[0];
}

/* Enough values live across the call that rbp holds one of them. */
static LP_NOINLINE int
frame_pressure(struct plan *p)
{
	uint64_t a = p->seed, b = a * 3, c = a ^ 0x55, d = a + 7, e = a * a,
		 f = a >> 3, g = ~a, h = a * 11;
	int r = descend(p);
	return r + (int)((a + b * c + d * e + f * g + h * (a ^ b)) & 0xff);
}

static __thread struct plan *sites_plan;

static void
sites_next(void)
{
	descend(sites_plan);
}

static LP_NOINLINE int
frame_realigned(struct plan *p)
{
	sites_plan = p;
	fu_realigned(sites_next);
	__asm__ volatile("" ::: "memory");
	return 1;
}

static LP_NOINLINE int
frame_sites(struct plan *p)
{
	sites_plan = p;
	fu_two_sites(sites_next, (int)(p->seed & 1));
	__asm__ volatile("" ::: "memory");
	return 1;
}

static uint32_t
next_random(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static struct outcome signal_outcome;

static void
on_signal(int sig)
{
	(void)sig;
	walk_both(&signal_outcome, MAX_FRAMES);
}

static LP_NOINLINE void
leaf(struct plan *p)
{
	for (int i = 0; i < p->repeat; i++) {
		for (int e = 0; e < p->extra; e++) {
			void *ips[MAX_FRAMES];
			if (lp_fast_unwind(ips, MAX_FRAMES) < 0)
				p->gave_up++;
		}
		if (p->raise) {
			raise(SIGUSR1);
			*p->out = signal_outcome;
		} else {
			walk_both(p->out, p->max);
		}
		int c = compare(p->out);
		/* The stack's own end (a coroutine's first frame), whatever
		 * libunwind says. */
		if (c == 0 && p->last && p->max == MAX_FRAMES &&
		    (p->out->n[0] < 1 || p->out->ips[0][p->out->n[0] - 1] != *p->last)) {
			c = -1;
			printf("expected the walk to end with %p\n", *p->last);
		}
		if (c == 0)
			p->same++;
		else if (c == 1)
			p->gave_up++;
		else if (p->differ++ == 0)
			report_mismatch("a mixed stack", p->out);
	}
}

static LP_NOINLINE int
descend(void *arg)
{
	struct plan *p = arg;

	if (p->depth-- <= 0) {
		leaf(p);
		return 0;
	}
	int k;
	do
		k = (int)(next_random(&p->seed) % K_COUNT);
	while (!(p->kinds & (1u << k)) ||
	       ((k == K_PLUGIN_O0 || k == K_PLUGIN_O2) && !plugin_frame[k - K_PLUGIN_O0]));
	switch (k) {
	case K_O2:
		return frame_o2(p);
	case K_O0:
		return fu_frame_o0(p, descend);
	case K_ALLOCA:
		return frame_alloca(p);
	case K_VLA:
		return frame_vla(p);
	case K_PRESSURE:
		return frame_pressure(p);
	case K_SITES:
		return frame_sites(p);
	case K_REALIGNED:
		return frame_realigned(p);
	case K_NO_CFI:
		return fu_no_cfi_frame(p, descend);
	case K_JIT: /* two frames without CFI in a row */
		return jit_code(JIT_PLAN)(p, (void *)fu_no_cfi_frame, (uintptr_t)descend);
	default:
		return plugin_frame[k - K_PLUGIN_O0](p, descend);
	}
}

static void
run_plan(struct plan *p)
{
	struct outcome out;

	p->out = &out;
	p->same = p->gave_up = p->differ = 0;
	descend(p);
}

/* --- the tests ------------------------------------------------------- */

static void
test_chains(void)
{
	static const struct {
		const char *name;
		unsigned kinds;
	} shapes[] = {
		{ "-O2 chain", 1u << K_O2 },
		{ "-O0 chain", 1u << K_O0 },
		{ "alloca chain", 1u << K_ALLOCA },
		{ "VLA chain", 1u << K_VLA },
		{ "rbp-saving chain", 1u << K_PRESSURE },
		{ "realigned-frame chain", 1u << K_REALIGNED },
		{ "plugin -O0 chain", 1u << K_PLUGIN_O0 },
		{ "plugin -O2 chain", 1u << K_PLUGIN_O2 },
		{ "chain without unwind tables (frame pointers)", 1u << K_NO_CFI },
		{ "JIT chain (frame pointers)", 1u << K_JIT },
		{ "mixed local chain", K_LOCAL },
		{ "mixed chain with plugins and code without CFI", K_ALL },
		{ "mixed chain, some walks giving up", K_LOCAL | (1u << K_SITES) },
	};

	for (size_t s = 0; s < LP_ARRAY_LENGTH(shapes); s++) {
		int same = 0, gave_up = 0, differ = 0;
		for (int depth = 1; depth <= 200; depth++) {
			for (int m = 0; m < 3; m++) {
				int max = m == 0 ? MAX_FRAMES : m == 1 ? depth / 2 + 1 : 3;
				struct plan p = {
					.depth = depth, .seed = (uint32_t)(depth * 7919 + 1),
					.kinds = shapes[s].kinds, .max = max, .repeat = 2,
				};
				run_plan(&p);
				same += p.same;
				gave_up += p.gave_up;
				differ += p.differ;
			}
		}
		bool may_give_up = shapes[s].kinds & (1u << K_SITES);
		CHECK(differ == 0 && (may_give_up ? same > gave_up / 4 : gave_up == 0),
		      "%s: %d same, %d gave up, %d differ", shapes[s].name, same, gave_up,
		      differ);
	}
}

static void
test_max(void)
{
	void *ips[4];

	CHECK(lp_fast_unwind(ips, 0) == 0, "max 0 gives 0 frames");
	CHECK(lp_fast_unwind(ips, -3) == 0, "negative max gives 0 frames");
	struct plan p = { .depth = 10, .seed = 5, .kinds = K_LOCAL, .max = 1, .repeat = 1 };
	run_plan(&p);
	CHECK(p.same == 1, "max 1: %d same, %d gave up, %d differ", p.same, p.gave_up, p.differ);
}

/* The main thread's stack grows beyond the mapping seen at the first
 * walk: the bounds must follow it. */
static LP_NOINLINE int
deep_frame(struct plan *p)
{
	char *big = alloca(64 * 1024);
	memset(big, 0, 64 * 1024);
	int r = p->depth-- > 0 ? deep_frame(p) : (leaf(p), 0);
	__asm__ volatile("" : : "r"(big) : "memory");
	return r + big[5];
}

static void
test_stack_growth(void)
{
	struct outcome out;
	struct plan p = { .depth = 60, .seed = 1, .max = MAX_FRAMES, .repeat = 1, .out = &out };

	deep_frame(&p);
	CHECK(p.same == 1, "main stack grown by 3.8 MiB: %d same, %d gave up, %d differ",
	      p.same, p.gave_up, p.differ);
}

static void
test_signal(bool altstack)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = altstack ? SA_ONSTACK : 0 };
	stack_t ss = { .ss_size = 256 * 1024 }, old;

	if (altstack) {
		ss.ss_sp = mmap(NULL, ss.ss_size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		sigaltstack(&ss, &old);
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	struct plan p = { .depth = 12, .seed = 3, .kinds = K_LOCAL, .max = MAX_FRAMES,
			  .repeat = 5, .raise = true };
	run_plan(&p);
	CHECK(p.differ == 0 && p.same + p.gave_up == 5,
	      "signal handler%s: %d same, %d gave up (-1 expected), %d differ",
	      altstack ? " on sigaltstack" : "", p.same, p.gave_up, p.differ);
	signal(SIGUSR1, SIG_DFL);
	if (altstack) {
		old.ss_flags = SS_DISABLE;
		sigaltstack(&old, NULL);
		munmap(ss.ss_sp, ss.ss_size);
	}
}

/* --- threads --------------------------------------------------------- */

struct worker {
	pthread_t thread;
	uint32_t seed;
	unsigned kinds;
	int walks, extra;
	bool random_max; /* walks with a max from 1 to 64 */
	volatile int *until; /* with until_min: walk on until it reaches it */
	int until_min;
	int same, gave_up, differ;
	volatile bool done;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	for (int done = 0; done < w->walks ||
			   (w->until && *w->until < w->until_min && done < 20 * w->walks);
	     done += 4) {
		struct plan p = {
			.depth = 1 + (int)(next_random(&w->seed) % 60),
			.seed = next_random(&w->seed), .kinds = w->kinds,
			.max = w->random_max ? 1 + (int)(next_random(&w->seed) % 64) : MAX_FRAMES,
			.repeat = 4, .extra = w->extra,
		};
		run_plan(&p);
		w->same += p.same;
		w->gave_up += p.gave_up;
		w->differ += p.differ;
	}
	w->done = true;
	return NULL;
}

static volatile bool churn_stop;
static const char *lib_dir;

static void *
churn_main(void *arg)
{
	char path[4096];
	int *cycles = arg;

	snprintf(path, sizeof(path), "%s/libfu_stale_a.so", lib_dir);
	while (!churn_stop) {
		void *h = dlopen(path, RTLD_NOW);
		if (h)
			dlclose(h);
		++*cycles;
	}
	return NULL;
}

/* 8 threads x 20k walks; with churn, another thread keeps loading and
 * unloading a module, so walks through plugin frames may give up. */
static void
test_threads(unsigned kinds, bool churn, bool user_stack, bool random_max, const char *what)
{
	enum { THREADS = 8 };
	const int WALKS = fu_walks;
	struct worker w[THREADS];
	pthread_t churner;
	int cycles = 0;
	void *stack = NULL;
	size_t stack_size = 1 << 20;

	churn_stop = false;
	if (churn)
		pthread_create(&churner, NULL, churn_main, &cycles);
	for (int i = 0; i < THREADS; i++) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		if (user_stack && i == 0) {
			/* Bounds from pthread_getattr_np of a stack we own. */
			stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			pthread_attr_setstack(&attr, stack, stack_size);
		}
		w[i] = (struct worker){ .seed = 0x9e3779b9u * (uint32_t)(i + 1),
					.kinds = kinds, .walks = WALKS, .random_max = random_max };
		pthread_create(&w[i].thread, &attr, worker_main, &w[i]);
		pthread_attr_destroy(&attr);
	}
	int same = 0, gave_up = 0, differ = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(w[i].thread, NULL);
		same += w[i].same;
		gave_up += w[i].gave_up;
		differ += w[i].differ;
	}
	churn_stop = true;
	if (churn)
		pthread_join(churner, NULL);
	if (stack)
		munmap(stack, stack_size);
	if (churn)
		CHECK(differ == 0 && same > 0,
		      "%s: %d same, %d gave up, %d differ (%d dlopen/dlclose cycles)",
		      what, same, gave_up, differ, cycles);
	else
		CHECK(differ == 0 && gave_up == 0, "%s: %d same, %d gave up, %d differ",
		      what, same, gave_up, differ);
}

/* --- stacks that switch: makecontext coroutines ---------------------- */

/* A coroutine runs fn(arg) on a stack of the test's choosing, entered
 * with swapcontext.  Its first frame (co_entry) returns into glibc's
 * __start_context, a return address makecontext pushed by hand: the
 * chain ends there, for libunwind and for the program (co_entry learns
 * that return address from __builtin_return_address). */
struct coroutine {
	ucontext_t uc, back;
	void (*fn)(void *);
	void *arg;
	void *start_ra;
};
static __thread struct coroutine *co_current;

static LP_NOINLINE void
co_entry(void)
{
	struct coroutine *c = co_current;

	c->start_ra = __builtin_return_address(0);
	c->fn(c->arg);
	__asm__ volatile("" ::: "memory");
}

/* Run fn(arg) on [stack, stack + size).  rbp: the value of rbp the
 * coroutine starts with, 0 for the one getcontext saved (the caller's:
 * what a coroutine library leaves there). */
static void
co_run(void *stack, size_t size, uintptr_t rbp, void (*fn)(void *), void *arg)
{
	struct coroutine c = { .fn = fn, .arg = arg };
	struct coroutine *outer = co_current;

	getcontext(&c.uc);
	c.uc.uc_stack.ss_sp = stack;
	c.uc.uc_stack.ss_size = size;
	c.uc.uc_link = &c.back;
	if (rbp)
		c.uc.uc_mcontext.gregs[REG_RBP] = (greg_t)rbp;
	makecontext(&c.uc, co_entry, 0);
	unsigned id = VALGRIND_STACK_REGISTER(stack, (uint8_t *)stack + size);
	co_current = &c;
	swapcontext(&c.back, &c.uc);
	co_current = outer;
	VALGRIND_STACK_DEREGISTER(id);
}

/* The line of /proc/self/maps holding addr: its name ("[heap]", "" for
 * an anonymous mapping) and bounds. */
static bool
mapping_of(const void *addr, char *name, size_t name_size, uintptr_t *lo, uintptr_t *hi)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		int off = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s%n", &a, &b, &off) < 2)
			continue;
		if ((uintptr_t)addr < a || (uintptr_t)addr >= b)
			continue;
		const char *n = line + off;
		while (*n == ' ')
			n++;
		snprintf(name, name_size, "%s", n);
		name[strcspn(name, "\n")] = '\0';
		*lo = a;
		*hi = b;
		found = true;
	}
	fclose(f);
	return found;
}

enum { STACK_HEAP, STACK_MALLOC_MAPPED, STACK_MMAP_GUARD, STACK_KINDS };
#define CO_STACK_SIZE (1u << 20)

static const char *const stack_names[STACK_KINDS] = {
	"a malloc'd stack inside [heap]",
	"a malloc'd stack in a mapping of its own",
	"an mmap'd stack above a guard page",
};

static void
stack_free(int kind, void *release)
{
	if (kind == STACK_MMAP_GUARD)
		munmap(release, CO_STACK_SIZE + 4096);
	else
		free(release);
}

/* glibc's malloc, not a sanitizer's or valgrind's (whose heaps are
 * mappings of their own, never [heap]). */
static bool
glibc_malloc(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return false;
#else
	const char *preload = getenv("LD_PRELOAD");
	return !preload || !strstr(preload, "vgpreload");
#endif
}

/* A stack of one kind; *release frees it.  The shape is checked against
 * /proc/self/maps: the test must test what it says. */
static void *
stack_alloc(int kind, void **release)
{
	char name[256];
	uintptr_t lo, hi;
	void *s = NULL;

	*release = NULL;
	switch (kind) {
	case STACK_HEAP:
		/* Below the mmap threshold: carved from the main arena. */
		mallopt(M_MMAP_THRESHOLD, 64 << 20);
		s = *release = malloc(CO_STACK_SIZE);
		mallopt(M_MMAP_THRESHOLD, 128 << 10);
		break;
	case STACK_MALLOC_MAPPED:
		/* Above the mmap threshold, and larger than any free chunk
		 * of the heap (which malloc would rather reuse). */
		s = *release = malloc(4 * CO_STACK_SIZE);
		break;
	case STACK_MMAP_GUARD: {
		uint8_t *m = mmap(NULL, CO_STACK_SIZE + 4096, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return NULL;
		mprotect(m, 4096, PROT_NONE);
		*release = m;
		s = m + 4096;
		break;
	}
	}
	if (!s || !mapping_of(s, name, sizeof(name), &lo, &hi))
		return NULL;
	/* Anonymous mappings side by side are one to the kernel: "own"
	 * means anonymous, outside the heap. */
	bool heap = strcmp(name, "[heap]") == 0;
	bool own = !name[0] && (uintptr_t)s + CO_STACK_SIZE <= hi;
	if (kind == STACK_HEAP ? !heap && (glibc_malloc() || !own) : !own) {
		printf("%s: the stack %p lies in %lx-%lx '%s'\n", stack_names[kind], s,
		       (unsigned long)lo, (unsigned long)hi, name);
		stack_free(kind, *release);
		return NULL;
	}
	return s;
}


static void
plan_on_coroutine(void *arg)
{
	struct plan *p = arg;

	p->last = &co_current->start_ra;
	run_plan(p);
}

/* test_chains on coroutine stacks: every frame of the coroutine, ending
 * with __start_context's return address. */
static void
test_coroutine_chains(void)
{
	for (int kind = 0; kind < STACK_KINDS; kind++) {
		void *release;
		void *stack = stack_alloc(kind, &release);
		if (!stack) {
			CHECK(false, "%s: not the stack the test wants", stack_names[kind]);
			continue;
		}
		const unsigned kinds[2] = { K_LOCAL, K_ALL };
		for (int k = 0; k < 2; k++) {
			int same = 0, gave_up = 0, differ = 0;
			for (int depth = 1; depth <= 200; depth++) {
				for (int m = 0; m < 3; m++) {
					int max = m == 0 ? MAX_FRAMES : m == 1 ? depth / 2 + 1 : 3;
					struct plan p = {
						.depth = depth, .seed = (uint32_t)(depth * 7919 + 1 + k),
						.kinds = kinds[k], .max = max, .repeat = 2,
					};
					co_run(stack, CO_STACK_SIZE, 0, plan_on_coroutine, &p);
					same += p.same;
					gave_up += p.gave_up;
					differ += p.differ;
				}
			}
			CHECK(differ == 0 && gave_up == 0,
			      "%s, %s frames: %d same, %d gave up, %d differ", stack_names[kind],
			      k ? "mixed (plugins, no CFI, JIT)" : "local", same, gave_up, differ);
		}
		stack_free(kind, release);
	}
}

/* More stacks than the per-thread cache holds, in turn with the thread's
 * own; then one stack unmapped and another, smaller, mapped at its
 * address (the cached bound now lies above the new mapping's end). */
static void
test_coroutine_switching(void)
{
	enum { STACKS = 20, ROUNDS = 3 }; /* more than the 16 a thread caches */
	void *release[STACKS], *stack[STACKS];
	int same = 0, gave_up = 0, differ = 0;
	bool shaped = true;

	for (int i = 0; i < STACKS; i++)
		shaped &= (stack[i] = stack_alloc(STACK_MMAP_GUARD, &release[i])) != NULL;
	if (!shaped) {
		CHECK(false, "coroutine switching: stacks not allocated");
		return;
	}
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < STACKS; i++) {
			struct plan p = { .depth = 5 + 3 * i, .seed = (uint32_t)(r * 31 + i + 1),
					  .kinds = K_ALL, .max = MAX_FRAMES, .repeat = 2 };
			co_run(stack[i], CO_STACK_SIZE, 0, plan_on_coroutine, &p);
			struct plan q = { .depth = 4 + i, .seed = (uint32_t)(r * 17 + i + 3),
					  .kinds = K_ALL, .max = MAX_FRAMES, .repeat = 1 };
			run_plan(&q);
			same += p.same + q.same;
			gave_up += p.gave_up + q.gave_up;
			differ += p.differ + q.differ;
		}
	}
	CHECK(differ == 0 && gave_up == 0,
	      "%d coroutine stacks in turn with the thread's own: %d same, %d gave up, %d differ",
	      STACKS, same, gave_up, differ);

	/* Replace stack 0's mapping by a smaller one at the same address. */
	uint8_t *old = release[0];
	munmap(old, CO_STACK_SIZE + 4096);
	uint8_t *m = mmap(old, CO_STACK_SIZE / 4, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	same = gave_up = differ = 0;
	if (m == old) {
		for (int i = 0; i < 20; i++) {
			struct plan p = { .depth = 3 + i, .seed = (uint32_t)(i + 5), .kinds = K_ALL,
					  .max = MAX_FRAMES, .repeat = 2 };
			co_run(m, CO_STACK_SIZE / 4, 0, plan_on_coroutine, &p);
			same += p.same;
			gave_up += p.gave_up;
			differ += p.differ;
		}
		munmap(m, CO_STACK_SIZE / 4);
	}
	CHECK(m == old && differ == 0 && gave_up == 0,
	      "a stack mapped again, smaller, at a cached stack's address: %d same, %d gave up, "
	      "%d differ", same, gave_up, differ);
	for (int i = 1; i < STACKS; i++)
		stack_free(STACK_MMAP_GUARD, release[i]);
}

/* A thread cycling through more stacks than it caches, for longer than
 * its free lookups of /proc/self/maps last: one lookup per 64 walks off
 * its own stack, the walks that would need more give up (never a wrong
 * stack).  On a thread of its own: the counts are per thread. */
struct many_stacks {
	int same, gave_up, differ;
	bool shaped;
};

static void *
many_stacks_main(void *arg)
{
	enum { STACKS = 40, ROUNDS = 8 };
	struct many_stacks *ms = arg;
	void *release[STACKS], *stack[STACKS];

	ms->shaped = true;
	for (int i = 0; i < STACKS; i++)
		ms->shaped &= (stack[i] = stack_alloc(STACK_MMAP_GUARD, &release[i])) != NULL;
	for (int r = 0; r < ROUNDS && ms->shaped; r++) {
		for (int i = 0; i < STACKS; i++) {
			struct plan p = { .depth = 4 + i % 7, .seed = (uint32_t)(r * 41 + i + 1),
					  .kinds = K_LOCAL, .max = MAX_FRAMES, .repeat = 1 };
			co_run(stack[i], CO_STACK_SIZE, 0, plan_on_coroutine, &p);
			ms->same += p.same;
			ms->gave_up += p.gave_up;
			ms->differ += p.differ;
		}
	}
	for (int i = 0; i < STACKS; i++)
		if (stack[i])
			stack_free(STACK_MMAP_GUARD, release[i]);
	return NULL;
}

static void
test_many_stacks(void)
{
	struct many_stacks ms = { 0 };
	pthread_t t;

	pthread_create(&t, NULL, many_stacks_main, &ms);
	pthread_join(t, NULL);
	/* 320 walks on stacks not cached when their turn comes (the cache
	 * keeps the 16 last looked up): 64 free lookups, then one per 64
	 * walks; the stacks cached meanwhile are walked all along. */
	CHECK(ms.shaped && ms.differ == 0 && ms.same >= 64 && ms.gave_up > 0 &&
	      ms.same + ms.gave_up == 320,
	      "40 coroutine stacks in turn, 8 rounds: %d same, %d gave up (lookups rationed), "
	      "%d differ", ms.same, ms.gave_up, ms.differ);
}

/* Coroutines in threads: a stack malloc'd by the thread (inside its
 * arena's heap), or mmap'd; the worker loop of test_threads inside. */
struct co_worker {
	struct worker w;
	int kind;
	bool shaped;
};

static void
worker_on_coroutine(void *arg)
{
	worker_main(arg);
}

static void *
co_worker_main(void *arg)
{
	struct co_worker *cw = arg;
	void *release, *stack = NULL;

	if (cw->kind == STACK_HEAP) {
		/* This thread's arena: a heap of its own, mmap'd. */
		mallopt(M_MMAP_THRESHOLD, 64 << 20);
		stack = release = malloc(CO_STACK_SIZE);
		mallopt(M_MMAP_THRESHOLD, 128 << 10);
	} else {
		stack = stack_alloc(cw->kind, &release);
	}
	cw->shaped = stack != NULL;
	if (stack)
		co_run(stack, CO_STACK_SIZE, 0, worker_on_coroutine, &cw->w);
	cw->w.done = true;
	if (stack)
		stack_free(cw->kind == STACK_HEAP ? STACK_MALLOC_MAPPED : cw->kind, release);
	return NULL;
}

static void
test_coroutine_threads(void)
{
	enum { THREADS = 4 };
	struct co_worker cw[THREADS];
	int same = 0, gave_up = 0, differ = 0;
	bool shaped = true;

	for (int i = 0; i < THREADS; i++) {
		cw[i] = (struct co_worker){
			.w = { .seed = 0x85ebca6bu * (uint32_t)(i + 1), .kinds = K_ALL,
			       .walks = fu_walks / 2, .random_max = i & 1 },
			.kind = i % 2 ? STACK_MMAP_GUARD : STACK_HEAP,
		};
		pthread_create(&cw[i].w.thread, NULL, co_worker_main, &cw[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(cw[i].w.thread, NULL);
		shaped &= cw[i].shaped;
		same += cw[i].w.same;
		gave_up += cw[i].w.gave_up;
		differ += cw[i].w.differ;
	}
	CHECK(shaped && differ == 0 && gave_up == 0,
	      "%d threads on coroutine stacks (their arenas' heaps, mmap): %d same, %d gave up, "
	      "%d differ", THREADS, same, gave_up, differ);
}

/* A signal handler run on a coroutine's stack: a signal frame (-1). */
static void
signal_on_coroutine(void *arg)
{
	struct plan *p = arg;
	run_plan(p);
}

static void
test_signal_on_coroutine(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	void *release, *stack = stack_alloc(STACK_MMAP_GUARD, &release);
	struct plan p = { .depth = 8, .seed = 11, .kinds = K_LOCAL, .max = MAX_FRAMES,
			  .repeat = 5, .raise = true };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	if (stack) {
		co_run(stack, CO_STACK_SIZE, 0, signal_on_coroutine, &p);
		stack_free(STACK_MMAP_GUARD, release);
	}
	signal(SIGUSR1, SIG_DFL);
	CHECK(stack && p.differ == 0 && p.same + p.gave_up == 5,
	      "signal handler on a coroutine stack: %d same, %d gave up (-1 expected), %d differ",
	      p.same, p.gave_up, p.differ);
}

/* The coroutine starts with rbp pointing at a frame that looks real
 * (above its stack, in the same mapping: as a stack malloc'd among other
 * blocks), whose return address is code.  libunwind guesses through
 * __start_context by that rbp and goes on; the chain ends at
 * __start_context all the same.  On a thread of its own: libunwind's
 * per-thread trace cache keeps its decision for __start_context. */
static struct outcome fake_outcome;
static void *fake_start_ra;

static void
walk_on_fake(void *arg)
{
	(void)arg;
	fake_start_ra = co_current->start_ra;
	walk_with(&fake_outcome, MAX_FRAMES, ORACLE_STEP);
	__asm__ volatile("" ::: "memory");
}

static void *
fake_frame_main(void *arg)
{
	uint8_t *region = arg;
	uintptr_t *fake = (uintptr_t *)(region + CO_STACK_SIZE + 256);

	fake[0] = 0;
	fake[1] = (uintptr_t)frame_o2 + 16; /* code with CFI */
	co_run(region, CO_STACK_SIZE, (uintptr_t)fake, walk_on_fake, NULL);
	return NULL;
}

static void
test_coroutine_fake_frame(void)
{
	uint8_t *region = mmap(NULL, 2 * CO_STACK_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pthread_t t;

	pthread_create(&t, NULL, fake_frame_main, region);
	pthread_join(t, NULL);
	munmap(region, 2 * CO_STACK_SIZE);
	const struct outcome *o = &fake_outcome;
	int n = o->n[0], k = 0;
	while (k < o->n[1] && o->ips[1][k] != fake_start_ra)
		k++;
	bool ok = n == k + 1 && k < o->n[1] &&
		  memcmp(o->ips[0], o->ips[1], (size_t)n * sizeof(void *)) == 0;
	if (!ok)
		report_mismatch("a coroutine started with a misleading rbp", o);
	CHECK(ok, "a coroutine started with rbp at a fake frame: the walk ends at "
	      "__start_context (frame %d; libunwind guessed on to %d frames)", k, o->n[1]);
}

/* --- code without CFI whose rbp is no frame pointer ------------------- */

static struct outcome bad_rbp_outcome;

static LP_NOINLINE int
bad_rbp_callee(void *arg)
{
	(void)arg;
	walk_with(&bad_rbp_outcome, MAX_FRAMES, ORACLE_BACKTRACE);
	__asm__ volatile("" ::: "memory");
	return 0;
}

/* JIT code calls with rbp holding something else than a frame pointer:
 * the walk ends at its frame, the frames before it libunwind's.  Two
 * rbp values point at words that pass libunwind's test (at or above sp,
 * near it) and read as a frame: misaligned, over a code address; and
 * aligned, over a return address that lies on the stack. */
static void
test_jit_bad_rbp(void)
{
	char local[64];
	uintptr_t here = (uintptr_t)local;
	uintptr_t code = (uintptr_t)frame_o2 + 16, zero = 0;
	uintptr_t on_stack[2];
	uint8_t misaligned[32];
	memset(misaligned, 0, sizeof(misaligned));
	memcpy(misaligned + 12, &code, 8); /* read at rbp + 8, rbp at +4 */
	memcpy(misaligned + 4, &zero, 8);
	on_stack[0] = 0;
	on_stack[1] = (uintptr_t)&on_stack[0];
	const struct {
		const char *what;
		uintptr_t rbp;
	} cases[] = {
		{ "0 (the outermost frame)", 0 },
		{ "1", 1 },
		{ "misaligned, over a code address", (uintptr_t)misaligned + 4 },
		{ "over a return address on the stack", (uintptr_t)on_stack },
		{ "below sp", here - 65536 },
		{ "1 MiB above sp", here + (1u << 20) },
		{ "off the stack", (uintptr_t)&passed },
	};
	_Static_assert(LP_ARRAY_LENGTH(cases) <= JIT_COPIES - JIT_BAD_RBP, "JIT copies");

	__asm__ volatile("" : : "r"(local), "r"(misaligned), "r"(on_stack) : "memory");
	for (size_t i = 0; i < LP_ARRAY_LENGTH(cases); i++) {
		jit_code(JIT_BAD_RBP + (int)i)(NULL, (void *)bad_rbp_callee, cases[i].rbp);
		const struct outcome *o = &bad_rbp_outcome;
		int n = o->n[0], k = 0;
		while (k < o->n[1] && !in_jit(o->ips[1][k]))
			k++;
		bool ok = n == k + 1 && k < o->n[1] &&
			  memcmp(o->ips[0], o->ips[1], (size_t)n * sizeof(void *)) == 0;
		if (!ok)
			report_mismatch("JIT code with a bad rbp", o);
		CHECK(ok, "JIT frame with rbp %s: the walk ends at it (frame %d of %d; "
		      "libunwind %d)", cases[i].what, k, n, o->n[1]);
	}
}

/* Neither the function built without unwind tables nor the JIT's code
 * has unwind information: libunwind says so. */
static void
test_no_unwind_info(void)
{
	unw_proc_info_t pi;
	int r1 = unw_get_proc_info_by_ip(unw_local_addr_space, (unw_word_t)fu_no_cfi_frame + 4,
					 &pi, NULL);
	int r2 = unw_get_proc_info_by_ip(unw_local_addr_space, (unw_word_t)jit_code(JIT_PLAN) + 4,
					 &pi, NULL);
	int r3 = unw_get_proc_info_by_ip(unw_local_addr_space, (unw_word_t)frame_o2 + 4, &pi,
					 NULL);
	CHECK(r1 < 0 && r2 < 0 && r3 == 0,
	      "no unwind information for fu_no_cfi_frame (%d) nor the JIT (%d), some for "
	      "frame_o2 (%d)", r1, r2, r3);
}

/* A walk inside a signal handler that interrupted a walk must leave the
 * interrupted walk (and the thread's memo) intact. */
static volatile int nested_walks, nested_answers;

static void
on_nested_signal(int sig)
{
	void *ips[64];

	(void)sig;
	nested_walks++;
	if (lp_fast_unwind(ips, 64) >= 0)
		nested_answers++;
}

/* on_coroutine: the walks (and the handler) run on a coroutine's stack:
 * a signal may land inside the outer walk's lookup of its bounds. */
static void
test_signals_during_walks(bool on_coroutine)
{
	struct sigaction sa = { .sa_handler = on_nested_signal, .sa_flags = SA_RESTART };
	struct co_worker cw = {
		.w = { .seed = 77, .kinds = K_LOCAL, .walks = fu_walks / 4, .extra = 30,
		       .until = &nested_walks, .until_min = 2000 },
		.kind = STACK_MMAP_GUARD, .shaped = true,
	};
	struct worker *w = &cw.w;

	nested_walks = nested_answers = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	pthread_create(&w->thread, NULL, on_coroutine ? co_worker_main : worker_main,
		       on_coroutine ? (void *)&cw : (void *)w);
	/* One signal at a time, each delivered before the next is sent
	 * (pending signals merge, a busy machine would deliver few). */
	while (!w->done) {
		int before = nested_walks;
		pthread_kill(w->thread, SIGUSR2);
		while (nested_walks == before && !w->done)
			sched_yield();
	}
	pthread_join(w->thread, NULL);
	signal(SIGUSR2, SIG_DFL);
	CHECK(cw.shaped && w->differ == 0 && w->gave_up == 0 && nested_answers == 0 &&
	      nested_walks > 0,
	      "signals inside walks%s: %d same, %d gave up, %d differ; %d walks in the "
	      "handler, %d not -1",
	      on_coroutine ? " on a coroutine stack" : "", w->same, w->gave_up, w->differ,
	      nested_walks, nested_answers);
}

/* --- dlclose, then dlopen of another module at the same address ------ */

static struct outcome stale_outcome, stale_outcome_bt;

static LP_NOINLINE void
stale_callback(void)
{
	walk_with(&stale_outcome, MAX_FRAMES, ORACLE_STEP);
	walk_with(&stale_outcome_bt, MAX_FRAMES, ORACLE_BACKTRACE);
	__asm__ volatile("" ::: "memory"); /* no tail call: same frames twice */
}

static void
test_dlclose(void)
{
	char path[2][4096];
	void *base[2] = { NULL, NULL };
	int same = 0, gave_up = 0, differ = 0, reused = 0, libunwind_stale = 0;
	const int cycles = 40; /* more than the 16 values of a rule's stamp */

	for (int v = 0; v < 2; v++)
		snprintf(path[v], sizeof(path[v]), "%s/libfu_stale_%c.so", lib_dir, 'a' + v);
	for (int c = 0; c < cycles; c++) {
		int v = c & 1;
		void *h = dlopen(path[v], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			CHECK(false, "dlopen %s: %s", path[v], dlerror());
			return;
		}
		void (*fn)(void (*)(void)) = (void (*)(void (*)(void)))dlsym(h, "fu_stale");
		struct link_map *lm;
		dlinfo(h, RTLD_DI_LINKMAP, &lm);
		base[v] = (void *)lm->l_addr;
		if (c > 0 && base[v] == base[!v])
			reused++;
		unw_flush_cache(unw_local_addr_space, 0, 0);
		for (int i = 0; i < 4; i++) {
			fn(stale_callback);
			int r = compare(&stale_outcome);
			same += r == 0;
			gave_up += r == 1;
			if (r < 0 && differ++ == 0)
				report_mismatch("a module replaced at the same address",
						&stale_outcome);
			/* Same stack, walked from the next call: compare the
			 * two libunwind answers from the callback's caller on. */
			if (stale_outcome_bt.n[1] != stale_outcome.n[1] ||
			    stale_outcome.n[1] < 2 ||
			    memcmp(stale_outcome_bt.ips[1] + 2, stale_outcome.ips[1] + 2,
				   (size_t)(stale_outcome.n[1] - 2) * sizeof(void *)))
				if (libunwind_stale++ == 0 && getenv("FU_VERBOSE")) {
					report_mismatch("unw_backtrace", &stale_outcome_bt);
					report_mismatch("unw_step", &stale_outcome);
				}
		}
		dlclose(h);
	}
	/* The first walk after a swap may answer -1, no other. */
	CHECK(differ == 0 && same >= 3 * cycles,
	      "dlclose/dlopen: %d same, %d gave up, %d differ; %d of %d loads at the "
	      "previous module's address",
	      same, gave_up, differ, reused, cycles - 1);
	printf("note: unw_backtrace (per-thread trace cache) returned a stale stack in "
	       "%d of %d walks\n", libunwind_stale, 4 * cycles);
}

/* --- a walk that replays the memo in place, then gives up ---------- */

static struct outcome sites_outcome;

static LP_NOINLINE void
sites_callback(void)
{
	walk_both(&sites_outcome, MAX_FRAMES);
	__asm__ volatile("" ::: "memory");
}

/* Walks through fu_two_sites' plain site, its expression site (-1, or
 * libunwind's answer), the plain one again: identical to the first. */
static void
test_memo_after_give_up(void)
{
	int same = 0, gave_up = 0, differ = 0;

	for (int i = 0; i < 12; i++) {
		fu_two_sites(sites_callback, i % 3 == 1);
		int c = compare(&sites_outcome);
		same += c == 0;
		gave_up += c == 1;
		if (c < 0 && differ++ == 0)
			report_mismatch("a walk after a give-up", &sites_outcome);
	}
	CHECK(differ == 0 && same >= 8,
	      "memo after a walk that gave up: %d same, %d gave up, %d differ",
	      same, gave_up, differ);
}

/* --- a call that is its function's last instruction ----------------- */

static jmp_buf noreturn_env;
static struct outcome noreturn_outcome;

static LP_NOINLINE __attribute__((noreturn)) void
walk_then_jump(void)
{
	walk_both(&noreturn_outcome, MAX_FRAMES);
	longjmp(noreturn_env, 1);
}

/* Ends with the call: its return address is the first byte after the
 * function, the rule must come from the call itself (pc - 1). */
static LP_NOINLINE __attribute__((noreturn)) void
call_noreturn_last(void)
{
	walk_then_jump();
}

static LP_NOINLINE void
walk_past_noreturn(void)
{
	if (!setjmp(noreturn_env))
		call_noreturn_last();
}

static void
test_noreturn_call(void)
{
	int same = 0, gave_up = 0, differ = 0;

	for (int i = 0; i < 3; i++) {
		walk_past_noreturn();
		int c = compare(&noreturn_outcome);
		same += c == 0;
		gave_up += c == 1;
		differ += c < 0;
	}
	CHECK(same == 3, "return address past the end of its function: %d same, %d gave up, "
	      "%d differ", same, gave_up, differ);
}

/* --- walks from inside libc --------------------------------------- */

static struct plan *callback_plan;

static int
compare_ints(const void *a, const void *b)
{
	struct plan p = *callback_plan;
	run_plan(&p);
	callback_plan->same += p.same;
	callback_plan->gave_up += p.gave_up;
	callback_plan->differ += p.differ;
	return *(const int *)a - *(const int *)b;
}

static int
on_module(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)info;
	(void)size;
	compare_ints(data, data);
	return 0;
}

/* Frames of qsort, bsearch and dl_iterate_phdr (libc and ld.so CFI) under
 * the walks; plugin frames make the walk inside dl_iterate_phdr check
 * the loader generation, itself with dl_iterate_phdr. */
static void
test_libc_callbacks(void)
{
	int v[40];
	struct plan p = { .depth = 6, .seed = 9, .kinds = K_ALL, .max = MAX_FRAMES,
			  .repeat = 1 };

	/* The modules swapped by test_dlclose moved the loader generation:
	 * the first walk through plugin rules since then answers -1. */
	struct plan warm = p;
	run_plan(&warm);
	callback_plan = &p;
	for (int i = 0; i < 40; i++)
		v[i] = (i * 7919) % 40;
	qsort(v, 40, sizeof(v[0]), compare_ints);
	int key = 17;
	bsearch(&key, v, 40, sizeof(v[0]), compare_ints);
	dl_iterate_phdr(on_module, &key);
	CHECK(p.differ == 0 && p.gave_up == 0 && p.same > 40,
	      "walks under qsort, bsearch, dl_iterate_phdr: %d same, %d gave up, %d differ",
	      p.same, p.gave_up, p.differ);
}

/* --- benchmark ------------------------------------------------------- */

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

enum { BENCH_SAME, BENCH_ALTERNATE, BENCH_PLUGIN, BENCH_KINDS };

struct bench {
	int kind, walker, frames;
	double ns; /* per walk */
	void *ips[MAX_FRAMES];
};

/* Two call paths from the same caller: a walk never repeats the previous
 * one's innermost frames. */
static LP_NOINLINE int
bench_a2(struct bench *b)
{
	b->frames = walkers[b->walker](b->ips, MAX_FRAMES);
	__asm__ volatile("" ::: "memory");
	return b->frames;
}

static LP_NOINLINE int
bench_a1(struct bench *b)
{
	int r = bench_a2(b);
	__asm__ volatile("" ::: "memory");
	return r;
}

static LP_NOINLINE int
bench_b1(struct bench *b)
{
	b->frames = walkers[b->walker](b->ips, MAX_FRAMES);
	__asm__ volatile("" ::: "memory");
	return b->frames;
}

static LP_NOINLINE void
bench_leaf(struct bench *b)
{
	const int rounds = b->walker ? 200000 : 2000000;
	double t0 = 0;

	for (int i = -1000; i < rounds; i++) {
		if (i == 0)
			t0 = now_ns();
		if (b->kind == BENCH_ALTERNATE && (i & 1))
			bench_b1(b);
		else if (b->kind == BENCH_ALTERNATE)
			bench_a1(b);
		else
			b->frames = walkers[b->walker](b->ips, MAX_FRAMES);
	}
	b->ns = (now_ns() - t0) / rounds;
}

static int bench_from_plugin(void *b);

static LP_NOINLINE int
bench_frame(struct bench *b, int depth)
{
	int r;
	if (depth == 3 && b->kind == BENCH_PLUGIN)
		r = plugin_frame[1](b, bench_from_plugin);
	else if (depth > 0)
		r = bench_frame(b, depth - 1);
	else
		r = (bench_leaf(b), 0);
	__asm__ volatile("" ::: "memory");
	return r + 1;
}

static int
bench_from_plugin(void *b)
{
	return bench_frame(b, 1);
}

static void
run_benchmark(void)
{
	static const char *names[BENCH_KINDS] = {
		"same stack", "two stacks in turn", "with 2 plugin frames",
	};

#if defined(LP_FAST_UNWIND_MEMO) && !LP_FAST_UNWIND_MEMO
	printf("benchmark (memo disabled: every frame walked)\n");
#else
	printf("benchmark\n");
#endif
	for (int kind = 0; kind < BENCH_KINDS; kind++) {
		static struct bench b[2];
		for (int k = 0; k < 2; k++) {
			b[k] = (struct bench){ .kind = kind, .walker = k };
			bench_frame(&b[k], 26);
		}
		printf("  %-22s %d frames: lp_fast_unwind %6.1f ns/walk, unw_backtrace %6.1f "
		       "ns/walk (%.1fx)\n",
		       names[kind], b[0].frames, b[0].ns, b[1].ns, b[1].ns / b[0].ns);
		CHECK(b[0].frames == b[1].frames && b[0].frames > 25,
		      "benchmark walks (%s) agree on depth", names[kind]);
	}
}

/* --- main ------------------------------------------------------------ */

static const char *
exe_dir(void)
{
	static char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return ".";
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	return buf;
}

int
main(int argc, char **argv)
{
	lib_dir = argc > 1 ? argv[1] : exe_dir();
	if (argc > 2 && strcmp(argv[2], "--maps-text") == 0) {
		lp_fast_unwind_read_maps_as_text();
		fu_walks = 2000;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	CHECK(lp_fast_unwind_init(), "lp_fast_unwind_init");
	CHECK(lp_fast_unwind_init(), "lp_fast_unwind_init twice");
	CHECK(jit_init(), "JIT code mapped");

	/* After init: these modules are volatile, as plugins are. */
	const char *names[2] = { "libfu_plugin_o0.so", "libfu_plugin_o2.so" };
	for (int i = 0; i < 2; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", lib_dir, names[i]);
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		CHECK(h != NULL, "dlopen %s: %s", path, h ? "" : dlerror());
		if (h)
			plugin_frame[i] = (int (*)(void *, int (*)(void *)))dlsym(
				h, "fu_plugin_frame");
	}
	/* The first walk through rules of a module loaded since the last
	 * walk that used such rules answers -1 (the loader generation
	 * moved); let it happen here. */
	struct plan warm = { .depth = 4, .seed = 1, .kinds = K_ALL, .max = MAX_FRAMES,
			     .repeat = 1 };
	run_plan(&warm);

	test_max();
	test_chains();
	test_stack_growth();
	test_signal(false);
	test_signal(true);
	test_threads(K_LOCAL, false, true, false, "8 threads, local frames");
	test_threads(K_ALL, false, false, true, "8 threads, with plugin frames, max 1 to 64");
	test_threads(K_ALL, true, false, false, "8 threads during dlopen/dlclose churn");
	test_threads(K_LOCAL | (1u << K_SITES), true, false, true,
		     "8 threads, some walks giving up, max 1 to 64");
	test_signals_during_walks(false);
	test_no_unwind_info();
	test_jit_bad_rbp();
	test_coroutine_chains();
	test_coroutine_switching();
	test_many_stacks();
	test_coroutine_threads();
	test_signal_on_coroutine();
	test_signals_during_walks(true);
	test_coroutine_fake_frame();
	test_dlclose();
	test_libc_callbacks();
	test_memo_after_give_up();
	test_noreturn_call();
	run_benchmark();

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
