/* SPDX-License-Identifier: MIT */
/*
 * control.c - start-up, and when reports are written.
 *
 *  - exit: an atexit hook registered at start-up, so it runs after the
 *    program's own hooks (LIFO), in whichever thread calls exit().
 *  - signal (LEAKPROBE_SIGNAL, default SIGUSR1): report_signal.c.
 *  - fork: every shim lock is taken before and released after, so the
 *    child starts from a consistent table; it numbers its reports from 1
 *    and starts a worker of its own at its first report signal.
 */
#include "control.h"

#include <dlfcn.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc_log.h"
#include "cpython.h"
#include "early.h"
#include "guard.h"
#include "heap_table.h"
#include "linewriter.h"
#include "log.h"
#include "options.h"
#include "report_stream.h"
#include "objects.h"
#include "record.h"
#include "report.h"
#include "report_signal.h"
#include "safepoint.h"
#include "stackdepot.h"
#include "symbolize.h"
#include "unwind.h"

uint64_t lp_start_ns;

uint64_t
lp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool
lp_sem_wait_ms(sem_t *sem, unsigned ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	while (sem_timedwait(sem, &until) != 0)
		if (errno != EINTR)
			return false;
	return true;
}

/* --- exit and fork ------------------------------------------------------ */

static void
on_exit_hook(void)
{
	if (!lp_tracking_on() || lp_cpython_exit_reported())
		return;
	lp_report_exit_begins();
	lp_report_write_at(LP_REASON_EXIT, NULL, true);
}

static void
before_fork(void)
{
	lp_guard_enter();
	lp_report_lock();
	lp_objects_lock();
	lp_depot_lock_all();
	lp_log_lock_all();
	lp_heap_lock_all();
}

static void
after_fork_parent(void)
{
	lp_heap_unlock_all();
	lp_log_unlock_all();
	lp_depot_unlock_all();
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
	lp_log_after_fork_child();
	lp_depot_unlock_all();
	lp_objects_unlock();
	lp_report_after_fork_child();
	lp_safepoint_after_fork_child();
	lp_cpython_safepoint_after_fork_child();
	lp_report_signal_after_fork_child();
	lp_report_stream_after_fork_child();
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
	char *out = malloc(strlen(v) + 1); /* guarded: the real malloc */
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
	free(out);
}

static void
read_command(void)
{
	static char cmd[4096];
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, cmd, sizeof(cmd) - 1) : -1;

	if (fd >= 0)
		close(fd);
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

extern __thread int lp_malloc_probe __attribute__((tls_model("initial-exec")));

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

void
lp_init(void)
{
	lp_start_ns = lp_now_ns();
	lp_guard_enter();
	lp_report_stream_init(); /* before anything of ours is written */
	lp_options_load();
	if (lp_opt.help)
		lp_options_print_help(2);
	if (!lp_opt.children)
		untrace_children();
	if (!this_process_reports())
		goto out; /* inert: the interposers pass everything through */
	if (!lp_depot_init()) {
		lp_warn("cannot reserve memory for the stack depot: not tracking");
		goto out;
	}
	lp_heap_init(lp_opt.large);
	if (lp_opt.headers && lp_log_init())
		lp_header_limit = lp_opt.large < UINT32_MAX ? (size_t)lp_opt.large : UINT32_MAX;
	lp_unwind_init();
	lp_symbolize_init();
	check_interposition();
	read_command();
	atexit(on_exit_hook);
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
	lp_init();
}
