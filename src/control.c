/* SPDX-License-Identifier: MIT */
/*
 * control.c - start-up, and when reports are written.
 *
 *  - exit: an atexit hook registered at start-up, so it runs after the
 *    program's own hooks (LIFO), in whichever thread calls exit().
 *  - signal (LEAKPROBE_SIGNAL, default SIGUSR1): the handler only posts a
 *    semaphore (async-signal-safe, and unlike a self-pipe it has no fd the
 *    program could close or dup2 over); a worker thread started with every
 *    signal blocked writes the report while the program runs on.  A handler
 *    the program installs for the same signal, before or after us, keeps
 *    running: sigaction()/signal() are interposed and chained.
 *  - fork: every shim lock is taken before and released after, so the
 *    child starts from a consistent table; it gets its own worker and
 *    numbers its reports from 1.
 */
#include "control.h"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
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
#include "objects.h"
#include "record.h"
#include "report.h"
#include "safepoint.h"
#include "stackdepot.h"
#include "symbolize.h"
#include "unwind.h"

uint64_t lp_start_ns;

static sem_t report_sem;
static int report_signal;          /* 0: none taken over */
static struct sigaction user_action; /* what the program believes is set */
static volatile int exiting;

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

/* --- the report signal -------------------------------------------------- */

static void
chain_user_handler(int sig, siginfo_t *info, void *uc)
{
	struct sigaction a = user_action;

	if (a.sa_flags & SA_SIGINFO) {
		if (a.sa_sigaction)
			a.sa_sigaction(sig, info, uc);
	} else if (a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN) {
		if (a.sa_flags & SA_RESETHAND)
			user_action.sa_handler = SIG_DFL;
		a.sa_handler(sig);
	}
	/* SIG_DFL would terminate the process: taking the signal over is
	 * the point, so the default action is not replayed. */
}

static void
on_report_signal(int sig, siginfo_t *info, void *uc)
{
	int saved = errno;
	if (!exiting)
		sem_post(&report_sem);
	errno = saved;
	chain_user_handler(sig, info, uc);
}

/* The state letter of /proc/self/task/<tid>/stat (or of the process). */
static char
task_state(const char *path)
{
	char buf[512];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return '?';
	buf[n] = 0;
	char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren[2] : '?';
}

/* glibc ends the process when its last thread exits (main may have called
 * pthread_exit); our worker must not keep it alive.  True when the main
 * thread is a zombie and every other thread but this one has exited. */
static bool
last_thread_standing(void)
{
	if (task_state("/proc/self/stat") != 'Z')
		return false; /* main still runs: the usual case, one read */
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return false;
	pid_t self = (pid_t)syscall(SYS_gettid);
	bool alone = true;
	struct dirent *e;
	while (alone && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || atoi(e->d_name) == self)
			continue;
		char path[64];
		lp_fmt(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		char st = task_state(path);
		alone = st == 'Z' || st == 'X';
	}
	closedir(d);
	return alone;
}

static void *
worker_main(void *arg)
{
	(void)arg;
	lp_guard_enter(); /* nothing this thread allocates is the program's */
	for (;;) {
		/* This thread is always inside the shim: frees that reach it
		 * (glibc's, at most) wait until here. */
		lp_log_free_deferred();
		if (!lp_sem_wait_ms(&report_sem, 250)) {
			if (last_thread_standing())
				exit(0); /* what the last thread's exit would do */
			continue;
		}
		if (exiting)
			continue;
		/* With objects to examine, a safe point in the program writes
		 * the report; without one in time, we write it without them. */
		if (lp_cpython_signal_report())
			continue;
		if (lp_objects_in_use() && lp_safepoint_delegate(LP_REASON_SIGNAL, 1000))
			continue;
		lp_report_write_at(LP_REASON_SIGNAL, NULL, false);
	}
	return NULL;
}

static void
start_worker(void)
{
	pthread_t t;
	pthread_attr_t attr;
	sigset_t all, old;

	sem_init(&report_sem, 0, 0);
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* The thread inherits this mask: no signal is ever delivered to it. */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, &attr, worker_main, NULL) == 0)
		pthread_setname_np(t, "leakprobe");
	else
		lp_warn("cannot start the report thread: no reports on signal");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
}

static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

/* Our handler as installed: with the program's flags and mask when it
 * has a handler of its own, so its syscalls are interrupted (or restarted)
 * and its signals blocked exactly as they would be without us. */
static int
install_locked(int sig, const struct sigaction *user)
{
	struct sigaction sa;
	static bool said;

	/* Ignored (inherited, as under nohup, or set by the program): it
	 * must stay ignored for real, or programs it execs would get the
	 * default action.  No reports on this signal meanwhile. */
	if (!(user->sa_flags & SA_SIGINFO) && user->sa_handler == SIG_IGN) {
		if (!said) {
			lp_note("signal %d is ignored by this process: no reports on it while it is "
				"(LEAKPROBE_SIGNAL picks another)", sig);
			said = true;
		}
		return real_sigaction(sig, user, NULL);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_report_signal;
	bool has_handler = (user->sa_flags & SA_SIGINFO)
				   ? user->sa_sigaction != NULL
				   : (user->sa_handler != SIG_DFL && user->sa_handler != SIG_IGN);
	if (has_handler) {
		sa.sa_mask = user->sa_mask;
		sa.sa_flags = SA_SIGINFO | (user->sa_flags & (SA_RESTART | SA_ONSTACK | SA_NODEFER));
	} else {
		/* Default or ignored: nothing of the program's runs, nothing
		 * of its should be interrupted. */
		sigfillset(&sa.sa_mask);
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
	}
	return real_sigaction(sig, &sa, NULL);
}

void
lp_control_start(void)
{
	real_sigaction = dlsym(RTLD_NEXT, "sigaction");
	if (!lp_opt.signal || !real_sigaction)
		return;
	/* The worker (and its semaphore) first: the signal may come at once. */
	start_worker();
	if (real_sigaction(lp_opt.signal, NULL, &user_action) != 0 ||
	    install_locked(lp_opt.signal, &user_action) != 0) {
		lp_warn("cannot handle signal %d: no reports on signal", lp_opt.signal);
		return;
	}
	report_signal = lp_opt.signal;
}

int
lp_control_signal(void)
{
	return report_signal;
}

/* The program sets a handler for the report signal: remember it as the
 * one to chain to, and keep ours installed. */
LP_EXPORT int
sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!real_sigaction)
		real_sigaction = dlsym(RTLD_NEXT, "sigaction");
	if (sig != report_signal || sig == 0)
		return real_sigaction(sig, act, old);
	struct sigaction prev = user_action;
	if (act) {
		user_action = *act;
		install_locked(sig, act);
	}
	if (old)
		*old = prev;
	return 0;
}

LP_EXPORT sighandler_t
signal(int sig, sighandler_t handler)
{
	static sighandler_t (*real_signal)(int, sighandler_t);
	struct sigaction act, old;

	if (sig != report_signal || sig == 0) {
		if (!real_signal)
			real_signal = (sighandler_t (*)(int, sighandler_t))dlsym(RTLD_NEXT, "signal");
		return real_signal(sig, handler);
	}
	/* glibc's signal(): BSD semantics, the signal blocked in its handler. */
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	act.sa_flags = SA_RESTART;
	sigaddset(&act.sa_mask, sig);
	if (sigaction(sig, &act, &old) != 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* The System V and BSD variants go to glibc's internal sigaction, around
 * our interposer: route them through it for the report signal. */
static sighandler_t
set_handler(int sig, sighandler_t handler, int flags, const char *real_name)
{
	struct sigaction act, old;

	if (sig != report_signal || sig == 0) {
		sighandler_t (*real)(int, sighandler_t) =
			(sighandler_t (*)(int, sighandler_t))dlsym(RTLD_NEXT, real_name);
		return real ? real(sig, handler) : SIG_ERR;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	act.sa_flags = flags;
	if (sigaction(sig, &act, &old) != 0)
		return SIG_ERR;
	return old.sa_handler;
}

LP_EXPORT sighandler_t
sysv_signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, SA_RESETHAND | SA_NODEFER, "sysv_signal");
}

LP_EXPORT sighandler_t
bsd_signal(int sig, sighandler_t handler)
{
	return signal(sig, handler);
}

/* sigset(): System V; SIG_HOLD blocks the signal, anything else installs
 * the disposition and unblocks it.  Returns SIG_HOLD if it was blocked. */
LP_EXPORT sighandler_t
sigset(int sig, sighandler_t disp)
{
	sigset_t one, old_mask;

	if (sig != report_signal || sig == 0) {
		sighandler_t (*real)(int, sighandler_t) =
			(sighandler_t (*)(int, sighandler_t))dlsym(RTLD_NEXT, "sigset");
		return real ? real(sig, disp) : SIG_ERR;
	}
	sigemptyset(&one);
	sigaddset(&one, sig);
	if (disp == SIG_HOLD) {
		struct sigaction cur;
		sigprocmask(SIG_BLOCK, &one, &old_mask);
		sigaction(sig, NULL, &cur);
		return sigismember(&old_mask, sig) ? SIG_HOLD : cur.sa_handler;
	}
	sighandler_t prev = set_handler(sig, disp, 0, "sigset");
	sigprocmask(SIG_UNBLOCK, &one, &old_mask);
	return sigismember(&old_mask, sig) ? SIG_HOLD : prev;
}

/* --- exit and fork ------------------------------------------------------ */

static void
on_exit_hook(void)
{
	if (lp_state != LP_TRACKING || lp_cpython_exit_reported())
		return;
	exiting = 1;
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
	if (!this_process_reports()) {
		/* Under the launcher only the program it started reports. */
		__atomic_store_n(&lp_state, LP_RESOLVED, __ATOMIC_RELEASE);
	} else if (report_signal) {
		start_worker();
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
	lp_control_start();
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
