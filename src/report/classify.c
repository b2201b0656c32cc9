/* SPDX-License-Identifier: MIT */
/* classify.c - see classify.h. */
#include "report/classify.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/options.h"
#include "core/own_memory.h"
#include "core/seccomp.h"
#include "core/syscall.h"
#include "detect/start_index.h"
#include "detect/pymalloc.h"
#include "python/capi.h"
#include "record/block_header.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define SNAPSHOT_TIMEOUT_NS (300ull * 1000000000ull)

bool
lp_classify_wanted(bool exit_report)
{
	return lp_opt.classify == LP_CLASSIFY_ALL ||
	       (lp_opt.classify == LP_CLASSIFY_EXIT && exit_report);
}

/* The block list in one reservation that is only faulted in as it fills
 * (48 GiB of address space, 2 G blocks): growing a vec would remap it,
 * and huge pages asked for on it stall in compaction (seen: 250 ms). */
#define BLOCKS_RESERVED ((size_t)sizeof(struct lp_reach_block) * 4096 * (1u << 19))

static void
reserve_blocks(struct lp_classify *c)
{
	c->blocks = (struct lp_vec)LP_VEC_INIT(struct lp_reach_block);
	void *p = lp_own_mmap(NULL, BLOCKS_RESERVED, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return; /* strict overcommit: an ordinary vec */
	c->blocks.data = p;
	c->blocks.cap = BLOCKS_RESERVED / sizeof(struct lp_reach_block);
}

void
lp_classify_add(struct lp_classify *c, const struct lp_block *b)
{
	if (!c->blocks.elem)
		reserve_blocks(c);
	struct lp_reach_block *e = lp_vec_push(&c->blocks);
	if (!e) {
		c->failed = "out of memory";
		return;
	}
	e->ptr = b->ptr;
	e->size = b->size;
	e->tag = b->stack;
}

/* What the snapshot hands back, in shared memory before the kinds. */
struct outcome {
	int ok;
	uint64_t roots_bytes;
	uint64_t unreadable_blocks;
};

/* --- in the snapshot -------------------------------------------------- */

/* Runs in the child, in its copy of the process: nothing here may take a
 * lock another thread of the program could have held at the clone. */
static void __attribute__((noreturn))
snapshot_main(struct lp_classify *c, struct lp_roots_input *in, struct outcome *out,
	      unsigned gc_head)
{
	struct rlimit none = { 0, 0 };
	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* no scan outlives the program */
	lp_own_after_fork_child();

	struct lp_reach r;
	struct lp_roots_stats st;
	lp_reach_init(&r, c->blocks.data, c->kinds, c->blocks.len,
		      c->index.slots ? &c->index : NULL, gc_head);
	bool scanned = lp_roots_scan(in, &r, &st);
	lp_reach_finish(&r);
	out->roots_bytes = st.bytes;
	out->unreadable_blocks = r.unreadable_blocks;
	out->ok = scanned && !r.out_of_memory;
	syscall(SYS_exit_group, 0);
	__builtin_unreachable();
}

/* --- in the process --------------------------------------------------- */

/* Wait for the snapshot, bounded; a snapshot that hangs is killed.  A
 * pidfd wakes us the moment it ends (Linux 5.3); without one, polls. */
static bool
reap(long pid)
{
	uint64_t t0 = lp_now_ns();
	struct timespec pause = { 0, 200000 };
	/* pidfd_open (Linux 5.3) is not what a program's seccomp filter
	 * would expect of it: polled under one. */
	int pidfd = lp_seccomp_filtered() ? -1 : (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		int status;
		long r = syscall(SYS_wait4, pid, &status, WNOHANG | __WALL, NULL);
		if (r == pid || r < 0) {
			if (pidfd >= 0)
				lp_close(pidfd);
			/* r < 0: ECHILD, the program reaped it with a __WALL wait */
			return r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
		}
		uint64_t waited = lp_now_ns() - t0;
		if (waited > SNAPSHOT_TIMEOUT_NS) {
			syscall(SYS_kill, pid, SIGKILL);
			syscall(SYS_wait4, pid, &status, __WALL, NULL);
			if (pidfd >= 0)
				lp_close(pidfd);
			return false;
		}
		if (pidfd >= 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };
			poll(&p, 1, (int)((SNAPSHOT_TIMEOUT_NS - waited) / 1000000) + 1);
			if (p.revents & POLLNVAL)
				pidfd = -1; /* another thread closed it (closefrom): sleep instead */
			continue;
		}
		nanosleep(&pause, NULL);
		if (pause.tv_nsec < 10000000)
			pause.tv_nsec *= 2;
	}
}

static void
count(struct lp_classify *c)
{
	const struct lp_reach_block *b = c->blocks.data;
	for (size_t i = 0; i < c->blocks.len; i++) {
		enum lp_leak_kind k = lp_classify_kind_at(c, i);
		c->totals.blocks[k]++;
		c->totals.bytes[k] += b[i].size;
		if (c->kinds[i] & LP_REACH_HEURISTIC) {
			c->totals.heuristic_blocks++;
			c->totals.heuristic_bytes += b[i].size;
		}
	}
}

void
lp_classify_run(struct lp_classify *c, uintptr_t self_sp, const uint64_t regs[6],
		bool at_exit)
{
	int saved_errno = errno; /* the program's thread: nothing of ours shows */
	uint64_t t0 = lp_now_ns();
	if (!c->failed && !lp_real_is_glibc)
		c->failed = "the allocator under the shim is not glibc's, whose heap the scan "
			    "tells apart from the program's memory";
	if (c->failed)
		return;
	size_t n = c->blocks.len;
	lp_start_index_build(&c->index, c->blocks.data, n); /* sorts them */
	c->kinds_mapped = (sizeof(struct outcome) + n + 4095) & ~(size_t)4095;
	void *shared = lp_own_mmap(NULL, c->kinds_mapped, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct lp_roots_input *in = lp_own_mmap(NULL, sizeof(*in), PROT_READ | PROT_WRITE,
						MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED || in == MAP_FAILED) {
		c->failed = "out of memory";
		goto out;
	}
	struct outcome *out = shared;
	c->kinds = (uint8_t *)shared + sizeof(struct outcome);
	lp_roots_prepare(in, self_sp, regs, at_exit);
	c->threads = in->threads;
	c->threads_unknown_sp = in->sp_unknown;
	c->threads_sampled = in->nthread_regs;
	c->sample_errno = in->sample_errno;
	if (in->nown < 0) {
		c->failed = "the shim's own memory could not all be told apart from the program's";
		goto out;
	}

	/* CPython hands out the address just past an object's PyGC_Head.
	 * (dlsym here: in the child the loader's lock may be held.) */
	unsigned gc_head = dlsym(RTLD_DEFAULT, "Py_IsInitialized") ? 16 : 0;
	in->pymalloc_pool_size = gc_head ? lp_pymalloc_pool_size(lp_cpython_minor()) : 0;
	/* Every signal blocked across the clone: none may run the program's
	 * handler in the child. */
	sigset_t all, saved;
	sigfillset(&all);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &saved, 8);
	uint64_t t_clone = lp_now_ns();
	c->sort_seconds = (double)(t_clone - t0) / 1e9;
	long pid = syscall(SYS_clone, 0ul /* exit signal 0, no CLONE_VM */, NULL, NULL, NULL, 0);
	if (pid == 0)
		snapshot_main(c, in, out, gc_head);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &saved, NULL, 8);
	if (pid < 0) {
		c->failed = "the snapshot process could not be made";
		goto out;
	}
	bool reaped = reap(pid);
	c->snapshot_seconds = (double)(lp_now_ns() - t_clone) / 1e9;
	if (!reaped || !out->ok) {
		c->failed = "the snapshot process did not finish";
		goto out;
	}
	c->roots_bytes = out->roots_bytes;
	c->unreadable_blocks = out->unreadable_blocks;
	count(c);
	c->done = true;
out:
	if (in != MAP_FAILED)
		lp_own_munmap(in, sizeof(*in));
	lp_start_index_free(&c->index);
	if (!c->done && shared != MAP_FAILED) {
		lp_own_munmap(shared, c->kinds_mapped);
		c->kinds = NULL;
	}
	c->seconds = (double)(lp_now_ns() - t0) / 1e9;
	errno = saved_errno;
}

enum lp_leak_kind
lp_classify_kind_of(const struct lp_classify *c, uintptr_t ptr)
{
	if (!c->done)
		return LP_LEAK_KINDS;
	const struct lp_reach_block *b = c->blocks.data;
	size_t lo = 0, hi = c->blocks.len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b[mid].ptr < ptr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->blocks.len && b[lo].ptr == ptr ? lp_classify_kind_at(c, lo) : LP_LEAK_KINDS;
}

void
lp_classify_free(struct lp_classify *c)
{
	if (c->kinds)
		lp_own_munmap(c->kinds - sizeof(struct outcome), c->kinds_mapped);
	lp_vec_free(&c->blocks);
	memset(c, 0, sizeof(*c));
}
