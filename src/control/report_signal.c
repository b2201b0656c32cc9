/* SPDX-License-Identifier: MIT */
/*
 * report_signal.c - the report signal: its handler, the program's own
 * handler chained behind it, and the thread that writes the reports.
 *
 *  - The handler only asks: it sets `request` and wakes the worker.  A
 *    signal that comes while a report is being written, or within
 *    LEAKPROBE_SIGNAL_COALESCE_MS after one, is folded into it (counted,
 *    never queued).  The program's own handler runs for every signal, in
 *    the thread the kernel picked, exactly as without us.
 *  - No thread of ours exists until the first report is asked for: a
 *    single-threaded program stays single-threaded (CPython 3.12+ warns at
 *    os.fork() in a multi-threaded process; glibc and libstdc++ take
 *    their single-threaded fast paths).  The first request starts the
 *    worker from the handler itself when the interrupted code holds no
 *    lock that pthread_create needs (see interrupted_where_safe()), or
 *    else from the next allocation in normal context (LP_WAKE).  Either
 *    way pthread_create allocates nothing from the heap (a stack we map,
 *    its TLS table from the bootstrap arena).
 *  - sigaction() and friends are interposed for the report signal only:
 *    the program sees the disposition it set.  Ignored stays ignored for
 *    real.  A default action the program sets itself (after start-up) is
 *    honoured: the signal then does what it would without us, and there
 *    are no signal reports while it is so.  Inherited at start-up, the
 *    default is taken over: that is what the report signal is for.
 *  - In a vfork child (it shares our memory until it execs), sigaction()
 *    passes straight through: our state belongs to the parent.
 */
#include "control/report_signal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "control/interrupted.h"
#include "core/own_memory.h"
#include "core/bootstrap.h"
#include "core/clock.h"
#include "core/guard.h"
#include "core/linewriter.h"
#include "core/options.h"
#include "core/spinlock.h"
#include "core/state.h"
#include "core/syscall.h"
#include "core/warn.h"
#include "objects/objects.h"
#include "objects/safepoint.h"
#include "python/cpython.h"
#include "record/alloc_log.h"
#include "report/report.h"
#include "unwind/fast_unwind.h"
#define WORKER_STACK (8u << 20)

enum { WORKER_NONE, WORKER_STARTING, WORKER_RUNNING };

static int report_signal;            /* 0: none taken over */
static struct sigaction user_action; /* what the program believes is set */
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
static pid_t owner_pid;              /* the process this state belongs to */

static sem_t report_sem;
static int request;                  /* a report is asked for */
static int busy;                     /* the worker is writing one */
static uint64_t quiet_until_ns;      /* coalescing window after a report */
static int worker;
static void *worker_stack;
static volatile int main_exited;     /* the main thread called pthread_exit */

static pid_t
current_pid(void)
{
	return (pid_t)syscall(SYS_getpid); /* glibc caches nothing since 2.25 */
}

/* --- the worker ----------------------------------------------------------- */

static char
task_state(const char *path)
{
	char buf[512];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		lp_close(fd);
	if (n <= 0)
		return '?';
	buf[n] = 0;
	char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren[2] : '?';
}

/* glibc ends the process when its last thread exits; our worker must not
 * keep it alive after the main thread's pthread_exit.  True when every
 * thread but this one has exited. */
static bool
last_thread_standing(void)
{
	if (task_state("/proc/self/stat") != 'Z')
		return false;
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

/* Postcondition: a request is pending (true), or the main thread has
 * gone and the worker should look whether it is the last thread. */
static bool
wait_for_request(void)
{
	while (!__atomic_load_n(&request, __ATOMIC_ACQUIRE)) {
		if (main_exited) {
			if (!lp_sem_wait_ms(&report_sem, 250))
				return false;
		} else if (sem_wait(&report_sem) != 0 && errno != EINTR) {
			return false;
		}
	}
	return true;
}

/* The report is complete (or none was written): the coalescing window
 * starts, and a signal from now on asks for the next report.  In the
 * thread that wrote it, which may be a Python thread at a safe point. */
static void
signal_report_written(void)
{
	__atomic_store_n(&quiet_until_ns, lp_now_ns() + lp_opt.signal_coalesce_ms * 1000000ull,
			 __ATOMIC_RELEASE);
	__atomic_store_n(&busy, 0, __ATOMIC_SEQ_CST);
}

static void
write_signal_report(void)
{
	/* With objects to examine, a safe point in the program writes the
	 * report; without one in time, we write it without them. */
	if (lp_cpython_signal_report())
		return;
	if (lp_objects_in_use() && lp_safepoint_delegate(LP_REASON_SIGNAL, 1000))
		return;
	lp_report_write_at(LP_REASON_SIGNAL, NULL, false);
}

static void *
worker_main(void *arg)
{
	(void)arg;
	lp_guard_enter(); /* nothing this thread allocates is the program's */
	pthread_setname_np(pthread_self(), "leakprobe"); /* prctl: no file */
	for (;;) {
		/* This thread is always inside the shim: frees that reach it
		 * (glibc's, at most) wait until here. */
		lp_alloc_log_free_deferred();
		if (!wait_for_request()) {
			if (main_exited && last_thread_standing())
				exit(0); /* what the last thread's exit would do */
			continue;
		}
		__atomic_store_n(&busy, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&request, 0, __ATOMIC_SEQ_CST);
		write_signal_report(); /* not written once the exit report began */
		if (__atomic_load_n(&busy, __ATOMIC_SEQ_CST))
			signal_report_written(); /* none was written */
	}
	return NULL;
}

/* Start the worker without touching the heap: callable from the report
 * signal's handler (see interrupted_where_safe) and from an allocation.
 * Postcondition: the worker runs or is starting (true), or could not be
 * started (false: retried at the next request). */
static bool
start_worker(void)
{
	int expect = WORKER_NONE;
	if (!__atomic_compare_exchange_n(&worker, &expect, WORKER_STARTING, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return true;
	int saved = errno;
	bool ok = false;
	if (!worker_stack) {
		void *s = lp_own_mmap(NULL, WORKER_STACK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
		if (s != MAP_FAILED) {
			mprotect(s, 4096, PROT_NONE); /* guard page */
			worker_stack = s;
		}
	}
	if (worker_stack) {
		pthread_attr_t attr;
		pthread_t t;
		sigset_t all, old;
		pthread_attr_init(&attr);
		pthread_attr_setstack(&attr, worker_stack, WORKER_STACK);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		/* The thread inherits this mask: no signal is ever delivered to it. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		lp_guard_enter();
		lp_bootstrap_only++; /* its TLS table: not from malloc's arenas */
		ok = pthread_create(&t, &attr, worker_main, NULL) == 0;
		lp_bootstrap_only--;
		lp_guard_leave();
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	}
	__atomic_store_n(&worker, ok ? WORKER_RUNNING : WORKER_NONE, __ATOMIC_RELEASE);
	errno = saved;
	return ok;
}

/* --- the handler ---------------------------------------------------------- */

static int install(int sig, const struct sigaction *user, bool explicit);
static bool has_handler(const struct sigaction *a);

static void
chain_user_handler(int sig, siginfo_t *info, void *uc)
{
	struct sigaction a = user_action;

	if (!has_handler(&a))
		return; /* inherited SIG_DFL: taking it over is the point */
	if (a.sa_flags & SA_RESETHAND) {
		/* What the kernel would have done: the default, for real. */
		memset(&user_action, 0, sizeof(user_action));
		user_action.sa_handler = SIG_DFL;
		install(sig, &user_action, true);
	}
	if (a.sa_flags & SA_SIGINFO)
		a.sa_sigaction(sig, info, uc);
	else
		a.sa_handler(sig);
}

static void
ask_for_report(const ucontext_t *uc)
{
	uint64_t now = lp_now_ns();
	if (__atomic_load_n(&busy, __ATOMIC_SEQ_CST) ||
	    now < __atomic_load_n(&quiet_until_ns, __ATOMIC_ACQUIRE)) {
		__atomic_add_fetch(&lp_report_signals_coalesced, 1, __ATOMIC_RELAXED);
		return;
	}
	bool first = !__atomic_exchange_n(&request, 1, __ATOMIC_SEQ_CST);
	if (!first)
		__atomic_add_fetch(&lp_report_signals_coalesced, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&worker, __ATOMIC_ACQUIRE) == WORKER_RUNNING) {
		if (first)
			sem_post(&report_sem);
	} else if (!(lp_interrupted_where_safe(uc) && start_worker())) {
		/* The next allocation in normal context starts it. */
		int expect = LP_TRACKING;
		__atomic_compare_exchange_n(&lp_state, &expect, LP_WAKE, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	}
}

static void
on_report_signal(int sig, siginfo_t *info, void *uc)
{
	/* The program's handler first: what it looks at (faulthandler dumps
	 * every thread state) must not see a worker woken by us meanwhile.
	 * A handler that never returns (siglongjmp) asks for no report. */
	chain_user_handler(sig, info, uc);
	int saved = errno;
	if (!lp_report_exit_begun() && current_pid() == owner_pid)
		ask_for_report(uc);
	errno = saved;
}

/* An allocation while LP_WAKE: normal context, outside libc's allocator
 * (free never starts it: glibc frees a thread's TLS table while holding
 * the stack list lock). */
bool
lp_tracking_resume(void)
{
	if (lp_state == LP_WAKE && !lp_guarded() && !lp_locks_held &&
	    current_pid() == owner_pid) {
		int expect = LP_WAKE;
		if (__atomic_compare_exchange_n(&lp_state, &expect, LP_TRACKING, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			start_worker();
	}
	return lp_tracking_on() && !lp_guarded();
}

/* --- installing ----------------------------------------------------------- */

static bool
has_handler(const struct sigaction *a)
{
	return (a->sa_flags & SA_SIGINFO) ? a->sa_sigaction != NULL
					  : (a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN);
}

/* Our handler as installed: with the program's flags and mask when it
 * has a handler of its own, so its syscalls are interrupted (or restarted)
 * and its signals blocked exactly as they would be without us.  explicit:
 * the program itself set this disposition. */
static int
install(int sig, const struct sigaction *user, bool explicit)
{
	struct sigaction sa;
	static bool said_ignored, said_default;

	/* Ignored (inherited, as under nohup, or set by the program): it
	 * must stay ignored for real, or programs it execs would get the
	 * default action.  No reports on this signal meanwhile. */
	if (!(user->sa_flags & SA_SIGINFO) && user->sa_handler == SIG_IGN) {
		if (!said_ignored) {
			lp_note("signal %d is ignored by this process: no reports on it while it is "
				"(LEAKPROBE_SIGNAL picks another)", sig);
			said_ignored = true;
		}
		return real_sigaction(sig, user, NULL);
	}
	if (explicit && !has_handler(user)) {
		if (!said_default) {
			lp_note("the program set signal %d to its default action: no reports on it "
				"while it is (LEAKPROBE_SIGNAL picks another)", sig);
			said_default = true;
		}
		return real_sigaction(sig, user, NULL);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_report_signal;
	if (has_handler(user)) {
		sa.sa_mask = user->sa_mask;
		sa.sa_flags = SA_SIGINFO | (user->sa_flags & (SA_RESTART | SA_ONSTACK | SA_NODEFER));
	} else {
		/* Default, inherited: nothing of the program's runs, nothing
		 * of its should be interrupted. */
		sigfillset(&sa.sa_mask);
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
	}
	return real_sigaction(sig, &sa, NULL);
}

/* The exit report is about to be written: a request the worker has not
 * taken yet is answered by it. */
static void
fold_request_into_exit(void)
{
	if (__atomic_exchange_n(&request, 0, __ATOMIC_SEQ_CST))
		__atomic_add_fetch(&lp_report_signals_coalesced, 1, __ATOMIC_RELAXED);
}

void
lp_report_signal_start(void)
{
	real_sigaction = lp_next("sigaction");
	owner_pid = current_pid();
	if (!lp_opt.signal || !real_sigaction)
		return;
	sem_init(&report_sem, 0, 0);
	lp_report_on_exit_begins(fold_request_into_exit);
	lp_report_on_signal_report_written(signal_report_written);
	lp_interrupted_learn();
	if (real_sigaction(lp_opt.signal, NULL, &user_action) != 0 ||
	    install(lp_opt.signal, &user_action, false) != 0) {
		lp_warn("cannot handle signal %d: no reports on signal", lp_opt.signal);
		return;
	}
	report_signal = lp_opt.signal;
}


void
lp_report_signal_after_fork_child(void)
{
	/* Threads do not survive fork: the child starts without a worker,
	 * and its first request starts one. */
	owner_pid = current_pid();
	if (worker_stack && worker == WORKER_RUNNING)
		lp_own_munmap(worker_stack, WORKER_STACK);
	if (worker == WORKER_RUNNING)
		worker_stack = NULL;
	worker = WORKER_NONE;
	request = 0;
	busy = 0;
	quiet_until_ns = 0;
	lp_report_signals_coalesced = 0;
	main_exited = 0;
	sem_init(&report_sem, 0, 0);
}

/* --- for the interposers (interpose/signal.c) ----------------------------- */

/* Resolved at start-up, so a vfork child resetting its handlers before
 * exec never calls dlsym (which locks and allocates in the parent's
 * memory). */
int
lp_report_signal_real_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!real_sigaction)
		real_sigaction = lp_next("sigaction");
	return real_sigaction(sig, act, old);
}

int
lp_report_signal_number(void)
{
	return report_signal;
}

bool
lp_report_signal_owned(int sig)
{
	return sig != 0 && sig == report_signal && current_pid() == owner_pid;
}

/* The program sets a handler for the report signal: remember it as the
 * one to chain to, and keep ours installed. */
void
lp_report_signal_program_action(const struct sigaction *act, struct sigaction *old)
{
	struct sigaction prev = user_action;
	if (act) {
		user_action = *act;
		install(report_signal, act, true);
	}
	if (old)
		*old = prev;
}

/* The main thread leaving by pthread_exit: from then on the worker looks
 * every 250 ms whether it is the last thread (it must not keep the
 * process alive). */
void
lp_report_signal_thread_exits(void)
{
	if ((pid_t)syscall(SYS_gettid) == current_pid()) {
		main_exited = 1;
		if (__atomic_load_n(&worker, __ATOMIC_ACQUIRE) == WORKER_RUNNING)
			sem_post(&report_sem);
	}
}
