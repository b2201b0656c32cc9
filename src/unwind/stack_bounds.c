/* SPDX-License-Identifier: MIT */
/*
 * stack_bounds.c - see stack_bounds.h.
 *
 * The walk follows the stack the code runs on.  This thread's own stack
 * is learnt once (pthread_getattr_np, or the main thread's mapping, which
 * may grow).  A stack pointer outside it (a coroutine's stack from
 * makecontext or boost.context, a sigaltstack) is looked up in
 * /proc/self/maps (PROCMAP_QUERY where the kernel has it, else the text,
 * read with read(2) into a buffer on the stack), and the read-write
 * mapping holding it is kept in a small per-thread cache: the walk is
 * bounded by that mapping (for a stack from malloc, the heap's).  A
 * thread switching between more stacks than it caches looks at most one
 * up every LEARN_EVERY walks (after the first LEARN_FREE lookups); the
 * other walks give up.
 *
 * A cached mapping is the one /proc/self/maps showed when it was learnt;
 * it is learnt again when a stack pointer falls outside every cached one.
 * A mapping that shrinks after it was learnt leaves a bound above its new
 * end: loads up there need a walk that leaves the running stack's own
 * frames (its outermost frame not ending the chain), which makecontext's
 * stacks (ended at __start_context), a null return address and thread
 * stacks never do.
 *
 * The rest of the unwinder: fast_unwind.c (the walk, its rule cache and
 * memo), cfi.c (rules from .eh_frame).
 */
#ifndef _GNU_SOURCE /* the build passes it */
#define _GNU_SOURCE
#endif
#include "unwind/stack_bounds.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/syscall.h"
#include "unwind/fast_unwind.h"

/* A thread that keeps switching between more stacks than it caches would
 * read /proc/self/maps at every switch: after LEARN_FREE lookups, one per
 * LEARN_EVERY walks off its own stack; the others give up. */
#define LEARN_FREE 64
#define LEARN_EVERY 64

extern void *__libc_stack_end;

/* The kernel's struct procmap_query (linux/fs.h, Linux 6.11): the mapping
 * holding an address, by ioctl on /proc/self/maps. */
struct lp_procmap_query {
	uint64_t size, query_flags, query_addr;
	uint64_t vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define LP_PROCMAP_QUERY _IOWR('f', 17, struct lp_procmap_query)
#define LP_PROCMAP_READABLE 1
#define LP_PROCMAP_WRITABLE 2

/* 1 PROCMAP_QUERY answers, -1 the kernel has none, 0 not tried yet. */
static int procmap_query_works;

void
lp_fast_unwind_read_maps_as_text(void)
{
	procmap_query_works = -1;
}

struct lp_mapping {
	uintptr_t lo, hi;
	bool rw; /* readable and writable */
};

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parse /proc/self/maps from fd, with plain read(2) (stdio would
 * allocate), up to the line holding addr: "lo-hi rwxp ...".  Lines come
 * in address order: one starting above addr ends the search. */
static bool
find_mapping_text(int fd, uintptr_t addr, struct lp_mapping *m)
{
	char buf[2048];
	uintptr_t a = 0, b = 0;
	int field = 0; /* 0 start, 1 end, 2 permissions, 3 rest of the line */
	char perm[2] = { 0, 0 };
	unsigned nperm = 0;

	for (;;) {
		ssize_t len = read(fd, buf, sizeof(buf));
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			return false;
		for (ssize_t i = 0; i < len; i++) {
			char c = buf[i];
			int d = hex_digit(c);
			if (field == 0 && d >= 0) {
				a = a << 4 | (uintptr_t)d;
			} else if (field == 0) {
				if (a > addr)
					return false;
				field = 1;
			} else if (field == 1 && d >= 0) {
				b = b << 4 | (uintptr_t)d;
			} else if (field == 1) {
				field = 2;
			} else if (field == 2) {
				if (nperm < 2)
					perm[nperm++] = c;
				else
					field = 3;
			}
			if (field == 3 && a <= addr && addr < b) {
				m->lo = a;
				m->hi = b;
				m->rw = perm[0] == 'r' && perm[1] == 'w';
				return true;
			}
			if (c == '\n') {
				field = 0;
				a = b = 0;
				nperm = 0;
			}
		}
	}
}

/* Find the mapping holding addr: PROCMAP_QUERY (one lookup in the
 * kernel), else the text.  The caller has cancellation disabled (open
 * and read are cancellation points) and keeps errno. */
static bool
find_mapping(uintptr_t addr, struct lp_mapping *m)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;

	bool found = false;
	int works = __atomic_load_n(&procmap_query_works, __ATOMIC_RELAXED);
	if (works >= 0) {
		struct lp_procmap_query q = { .size = sizeof(q), .query_addr = addr };
		if (ioctl(fd, LP_PROCMAP_QUERY, &q) == 0) {
			__atomic_store_n(&procmap_query_works, 1, __ATOMIC_RELAXED);
			found = q.vma_start <= addr && addr < q.vma_end;
			m->lo = (uintptr_t)q.vma_start;
			m->hi = (uintptr_t)q.vma_end;
			m->rw = (q.vma_flags & (LP_PROCMAP_READABLE | LP_PROCMAP_WRITABLE)) ==
				(LP_PROCMAP_READABLE | LP_PROCMAP_WRITABLE);
			goto done;
		}
		if (errno == ENOENT) /* nothing mapped there */
			goto done;
		if (works == 0 && (errno == ENOTTY || errno == EINVAL))
			__atomic_store_n(&procmap_query_works, -1, __ATOMIC_RELAXED);
	}
	found = find_mapping_text(fd, addr, m);
done:
	lp_close(fd);
	return found;
}

/* Learn the bounds of this thread's stack.  Postcondition: lo == hi
 * when nothing could be learnt. */
static void
learn_stack(struct lp_stack_bounds *ts)
{
	ts->lo = ts->hi = ts->floor = 0;
	if (gettid() == getpid()) {
		/* The main thread: the mapping holding the initial stack
		 * pointer; it may grow down to the rlimit (capped). */
		struct lp_mapping m;
		struct rlimit rl;
		if (!find_mapping((uintptr_t)__libc_stack_end, &m))
			return;
		uint64_t room = UINT64_C(1) << 30;
		if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur < room)
			room = rl.rlim_cur;
		ts->lo = m.lo;
		ts->hi = m.hi;
		ts->floor = m.hi - m.lo > room ? m.lo : m.hi - room;
		return;
	}
	/* Any other thread: its whole stack block is mapped.  This
	 * allocates (the caller's guard keeps it out of the trace), once
	 * per thread. */
	pthread_attr_t attr;
	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return;
	void *addr;
	size_t size;
	if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
		ts->lo = ts->floor = (uintptr_t)addr;
		ts->hi = (uintptr_t)addr + size;
	}
	pthread_attr_destroy(&attr);
}

/* Remember m, a stack other than the thread's.  Postcondition: no other
 * entry overlaps it (one that does describes a mapping since replaced). */
static void
remember_other_stack(struct lp_stack_bounds *ts, const struct lp_mapping *m)
{
	for (int i = 0; i < LP_OTHER_STACKS; i++)
		if (ts->other[i].lo < m->hi && m->lo < ts->other[i].hi)
			ts->other[i] = (struct lp_stack_mapping){ 0, 0 };
	ts->other[ts->other_next++ % LP_OTHER_STACKS] =
		(struct lp_stack_mapping){ m->lo, m->hi };
}

/* The slow part of lp_stack_bounds_locate: learn the thread's stack,
 * follow the main stack's growth, or look sp's mapping up. */
static uintptr_t
learn_bounds(struct lp_stack_bounds *ts, uintptr_t sp)
{
	int saved_errno = errno, cancel_state;
	uintptr_t top = 0;
	struct lp_mapping m;

	/* open and read are cancellation points: not inside malloc. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	if (!ts->stack_known) {
		learn_stack(ts);
		ts->stack_known = true;
	}
	if (sp < ts->lo && sp >= ts->floor && find_mapping((uintptr_t)__libc_stack_end, &m) &&
	    m.hi == ts->hi && m.lo < ts->lo)
		ts->lo = m.lo;
	if (sp >= ts->lo && sp < ts->hi) {
		top = ts->hi;
	} else if (ts->lookups < LEARN_FREE + ts->other_walks / LEARN_EVERY) {
		ts->lookups++;
		if (find_mapping(sp, &m) && m.rw) {
			remember_other_stack(ts, &m);
			top = m.hi;
		}
	}
	pthread_setcancelstate(cancel_state, NULL);
	errno = saved_errno;
	return top;
}

uintptr_t
lp_stack_bounds_locate(struct lp_stack_bounds *ts, uintptr_t sp)
{
	ts->other_walks++;
	for (int i = 0; i < LP_OTHER_STACKS; i++)
		if (sp >= ts->other[i].lo && sp < ts->other[i].hi)
			return ts->other[i].hi;
	return learn_bounds(ts, sp);
}
