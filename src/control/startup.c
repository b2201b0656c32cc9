/* SPDX-License-Identifier: MIT */
/*
 * startup.c - start-up, and the exit report and fork.
 *
 *  - exit: an on_exit hook registered at start-up, so it runs after the
 *    program's own hooks (LIFO), in whichever thread calls exit(); it
 *    sees the exit status, for LEAKPROBE_EXITCODE.
 *  - signal (LEAKPROBE_SIGNAL, default SIGUSR1): report_signal.c.
 *  - fork: every shim lock is taken before and released after, so the
 *    child starts from a consistent table; it numbers its reports from 1
 *    and starts a worker of its own at its first report signal.
 */
#include "control/startup.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "control/report_signal.h"
#include "core/bootstrap.h"
#include "core/clock.h"
#include "core/guard.h"
#include "core/linewriter.h"
#include "core/options.h"
#include "core/own_memory.h"
#include "core/report_stream.h"
#include "core/state.h"
#include "core/syscall.h"
#include "core/warn.h"
#include "detect/roots.h"
#include "objects/objects.h"
#include "objects/safepoint.h"
#include "python/cpython.h"
#include "record/alloc_log.h"
#include "record/block_header.h"
#include "record/early.h"
#include "record/heap_table.h"
#include "record/record.h"
#include "record/stackdepot.h"
#include "report/report.h"
#include "report/suppressions.h"
#include "report/symbolize.h"
#include "unwind/unwind.h"
/* --- exit and fork ------------------------------------------------------ */

/* LEAKPROBE_EXITCODE: a process that would exit 0 with leaks left exits
 * N.  exit() from an exit handler goes on with the handlers not yet run
 * (glibc), then flushes stdio, so nothing the program wrote is lost. */
static void
exit_with_leak_status(int status)
{
	uint64_t blocks, bytes, cycles;
	if (!lp_opt.exitcode || status != 0 || !lp_report_exit_leaks(&blocks, &bytes, &cycles))
		return;
	if (!(lp_opt.leak_kinds & LP_KINDS_CYCLES))
		cycles = 0;
	if (!blocks && !cycles)
		return;
	lp_warn("exit status %u (LEAKPROBE_EXITCODE): %" PRIu64 " bytes leaked in %" PRIu64
		" blocks, %" PRIu64 " unreachable groups (LEAKPROBE_LEAK_KINDS)",
		(unsigned)lp_opt.exitcode, bytes, blocks, cycles);
	exit((int)lp_opt.exitcode);
}

static void
on_exit_hook(int status, void *unused)
{
	(void)unused;
	if (!lp_tracking_on())
		return;
	if (!lp_cpython_exit_reported()) {
		lp_report_exit_begins();
		lp_report_write_at(LP_REASON_EXIT, NULL, true);
	}
	exit_with_leak_status(status);
}

static void
before_fork(void)
{
	lp_guard_enter();
	lp_report_lock();
	lp_objects_lock();
	lp_stackdepot_lock_all();
	lp_alloc_log_lock_all();
	lp_heap_lock_all();
}

static void
after_fork_parent(void)
{
	lp_heap_unlock_all();
	lp_alloc_log_unlock_all();
	lp_stackdepot_unlock_all();
	lp_objects_unlock();
	lp_report_unlock();
	lp_guard_leave();
}

static bool
this_process_reports(void)
{
	return lp_opt.pid == 0 || lp_opt.pid == (uint64_t)getpid();
}

static void
after_fork_child(void)
{
	lp_heap_unlock_all();
	lp_heap_after_fork_child();
	lp_alloc_log_after_fork_child();
	lp_stackdepot_unlock_all();
	lp_objects_unlock();
	lp_report_after_fork_child();
	lp_safepoint_after_fork_child();
	lp_cpython_safepoint_after_fork_child();
	lp_report_signal_after_fork_child();
	lp_report_stream_after_fork_child();
	lp_own_after_fork_child();
	if (!this_process_reports()) {
		/* Under the launcher only the program it started reports. */
		__atomic_store_n(&lp_state, LP_RESOLVED, __ATOMIC_RELEASE);
	}
	lp_guard_leave();
}

/* --- start-up ----------------------------------------------------------- */

/* LEAKPROBE_CHILDREN=0: drop libleakprobe from LD_PRELOAD so programs we
 * exec are not traced.  Other preloaded libraries stay. */
static void
untrace_children(void)
{
	const char *v = getenv("LD_PRELOAD");
	size_t n = 0;

	if (!v)
		return;
	char *out = lp_real.malloc(strlen(v) + 1); 
	if (!out) {
		lp_warn("LEAKPROBE_CHILDREN=0: out of memory; children stay traced");
		return;
	}
	for (const char *p = v; *p;) {
		size_t len = strcspn(p, ": ");
		if (len && !memmem(p, len, "libleakprobe", 12)) {
			if (n)
				out[n++] = ':';
			memcpy(out + n, p, len);
			n += len;
		}
		p += len;
		if (*p)
			p++;
	}
	out[n] = 0;
	if (n)
		setenv("LD_PRELOAD", out, 1);
	else
		unsetenv("LD_PRELOAD");
	lp_real.free(out);
}

static void
read_command(void)
{
	static char cmd[4096];
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, cmd, sizeof(cmd) - 1) : -1;

	if (fd >= 0)
		lp_close(fd);
	if (n <= 0)
		n = 0;
	while (n > 0 && cmd[n - 1] == 0)
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (cmd[i] == 0)
			cmd[i] = ' ';
	cmd[n] = 0;
	lp_report_set_command(cmd);
}

__thread int lp_malloc_probe;

/* If the executable (or a library ahead of us) defines malloc, our hooks
 * are never called: say so rather than report an empty heap.  The address
 * dlsym gives is not proof (a non-PIE executable that takes &malloc has a
 * canonical PLT address): call through it and see whether we ran. */
static void
check_interposition(void)
{
	void *(*m)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "malloc");
	void (*f)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "free");
	if (!m || !f || lp_unwind_is_self((uintptr_t)m))
		return;
	lp_malloc_probe = 1;
	void *p = m(1);
	bool ours = !lp_malloc_probe;
	lp_malloc_probe = 0;
	f(p);
	if (!ours) {
		Dl_info info;
		const char *who = dladdr(m, &info) && info.dli_fname && info.dli_fname[0]
					  ? info.dli_fname : "the executable";
		static char msg[512];
		lp_fmt(msg, sizeof(msg),
		       "malloc is defined by %s, ahead of libleakprobe.so: its allocations are not seen",
		       who);
		lp_warn("%s", msg);
		lp_report_set_warning(msg);
	}
}

/* Safe points below report/ (objects/, python/) write through these. */
static void
write_at_safe_point(enum lp_reason reason)
{
	lp_report_write_at(reason, NULL, true);
}

static const struct lp_report_hooks report_hooks = {
	.write_at_safe_point = write_at_safe_point,
	.exit_begins = lp_report_exit_begins,
};

static void
init(void)
{
	lp_start_ns = lp_now_ns();
	lp_roots_note_main_thread();
	lp_guard_enter();
	lp_report_stream_init(); /* before anything of ours is written */
	lp_options_load();
	if (lp_opt.help)
		lp_options_print_help(2);
	if (!lp_opt.children)
		untrace_children();
	if (!this_process_reports())
		goto out; /* inert: the interposers pass everything through */
	if (!lp_stackdepot_init()) {
		lp_warn("cannot reserve memory for the stack depot: not tracking");
		goto out;
	}
	lp_heap_init(lp_opt.large);
	lp_real_allocator_detect();
	if (lp_opt.headers && lp_alloc_log_init())
		lp_header_limit = lp_opt.large < UINT32_MAX ? (size_t)lp_opt.large : UINT32_MAX;
	lp_unwind_init();
	lp_symbolize_init();
	lp_suppressions_load(lp_opt.suppressions);
	check_interposition();
	read_command();
	lp_report_hooks_connect(&report_hooks);
	on_exit(on_exit_hook, NULL);
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
	lp_report_signal_start();
	lp_early_start_tracking(); /* the blocks made before, then LP_TRACKING */
	lp_cpython_init();
out:
	lp_early_close();
	lp_guard_leave();
}

__attribute__((constructor(101))) static void
lp_constructor(void)
{
	lp_resolve();
	init();
}
