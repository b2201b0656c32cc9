/* SPDX-License-Identifier: MIT */
/* spawn.c - see spawn.h. */
#include "report/spawn.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436 /* Linux 5.9 */
#endif

/* --- system calls that touch no thread-local state -------------------------
 *
 * The supervisor and the helper (until execve) run in the program's memory
 * with the calling thread's thread pointer: glibc's wrappers would write
 * errno into that thread's TLS.  On x86-64 they make raw system calls,
 * which return -errno and write nothing, so the supervisor can run while
 * the calling thread waits with its signals open (a signal then reaches
 * the program at once: two of the same kind cannot merge into one while
 * it is blocked).  Elsewhere the wrappers are used and the calling thread
 * is suspended until the supervisor is done (CLONE_VFORK, signals
 * blocked), so no one reads the errno they write. */
#if defined(__x86_64__)
#define CONCURRENT 1

static inline long
sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* clone(2) that runs fn(arg) on stack_top in the child, then exits with
 * its return value.  fn and arg travel on the child's stack: after the
 * system call the child has only its registers and that stack. */
static long
clone_fn(unsigned long flags, char *stack_top, int (*fn)(void *), void *arg)
{
	void **sp = (void **)stack_top;
	*--sp = arg;
	*--sp = (void *)fn;
	register long r10 __asm__("r10") = 0; /* child_tid */
	register long r8 __asm__("r8") = 0;   /* tls */
	long ret;
	__asm__ volatile("syscall\n\t"
			 "testq %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xorl %%ebp, %%ebp\n\t"
			 "popq %%rax\n\t"
			 "popq %%rdi\n\t"
			 "call *%%rax\n\t"
			 "movq %%rax, %%rdi\n\t"
			 "movl %[exit], %%eax\n\t"
			 "syscall\n\t"
			 "hlt\n"
			 "1:"
			 : "=a"(ret)
			 : "0"((long)SYS_clone), "D"(flags), "S"(sp), "d"(0L), "r"(r10), "r"(r8),
			   [exit] "i"(SYS_exit)
			 : "rcx", "r11", "memory");
	return ret;
}
#else
#define CONCURRENT 0

static inline long
sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(n, a, b, c, d, e, f);
	return r < 0 ? -errno : r;
}

static long
clone_fn(unsigned long flags, char *stack_top, int (*fn)(void *), void *arg)
{
	long r = clone(fn, stack_top, (int)flags, arg);
	return r < 0 ? -errno : r;
}
#endif

#define sys0(n) sys6(n, 0, 0, 0, 0, 0, 0)
#define sys1(n, a) sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

/* The kernel's struct sigaction (x86-64, and the generic layout). */
struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

struct job {
	const char *const *paths;
	unsigned npaths;
	char *argv[3];
	int fd;
	int maxfd;
	unsigned timeout_ms;
	/* Results, written by the supervisor (and the helper's child side
	 * before execve) in memory shared with the caller. */
	volatile int outcome, status, err, exec_failed;
};

/* Reports are serialised (the report mutex): one job at a time. */
static struct job job;
static char supervisor_stack[16384] __attribute__((aligned(64)));
static char helper_stack[16384] __attribute__((aligned(64)));
static char *const empty_env[] = { NULL };

static _Noreturn void
sys_exit(int code)
{
	for (;;)
		sys1(SYS_exit, code);
}

/* The helper's side until execve, on helper_stack in the program's memory
 * (the supervisor is suspended meanwhile): system calls only. */
static int
helper_main(void *arg)
{
	struct job *j = arg;
	uint64_t none = 0;

	/* Its own process group: a ^C meant for the program does not end
	 * the helper half-way; it dies with its supervisor. */
	sys2(SYS_setpgid, 0, 0);
	sys2(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
	sys4(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none));
	for (unsigned i = 0; i < j->npaths; i++) {
		j->argv[0] = (char *)j->paths[i];
		j->err = (int)-sys3(SYS_execve, j->paths[i], j->argv, empty_env);
	}
	j->exec_failed = 1;
	sys_exit(127);
}

static uint64_t
mono_ms(void)
{
	struct timespec ts = { 0, 0 };
	sys2(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
wait_pid(long pid, int *st, int options)
{
	return (int)sys4(SYS_wait4, pid, st, options, NULL);
}

/* The supervisor: a clone child that never calls execve, so it stays one
 * (execve would make its exit signal SIGCHLD: the kernel resets it).  It
 * starts the helper as its own child, waits for it (bounded), and exits;
 * the helper's SIGCHLD goes to it, never to the program.  It runs on
 * supervisor_stack in the program's memory: system calls only, every
 * signal blocked (so no handler of the program can run here), no lock, no
 * shim state, nothing of the program's memory touched. */
static int
supervisor_main(void *arg)
{
	struct job *j = arg;
	struct kernel_sigaction old, dfl = { (void *)SIG_DFL, 0, NULL, 0 };
	int st = 0;

	/* Handlers of the program stay out of the helper (it unblocks
	 * signals before execve), and an ignored or SA_NOCLDWAIT SIGCHLD
	 * must not reap the helper before we do.  Ignored signals stay
	 * ignored, as across execve. */
	for (int sig = 1; sig <= 64; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sys4(SYS_rt_sigaction, sig, NULL, &old, sizeof(uint64_t)) == 0 &&
		    (sig == SIGCHLD || (old.handler != (void *)SIG_DFL &&
					old.handler != (void *)SIG_IGN)))
			sys4(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(uint64_t));
	}
	sys2(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
	/* Of the program's descriptors (this is a copy of its table) only
	 * the exchange file is kept, as fd 0: the program's pipes and
	 * sockets must not stay open in here, nor reach the helper. */
	long r = j->fd == 0 ? 0 : sys3(SYS_dup3, j->fd, 0, 0);
	if (r != 0) {
		j->err = (int)-r;
		j->outcome = LP_SPAWN_NO_PROCESS;
		sys_exit(0);
	}
	if (sys3(SYS_close_range, 1, ~0u, 0) != 0)
		for (int fd = 1; fd < j->maxfd; fd++)
			sys1(SYS_close, fd);
	/* CLONE_VFORK: returns once the helper has called execve or exited. */
	long pid = clone_fn(CLONE_VM | CLONE_VFORK | SIGCHLD,
			    helper_stack + sizeof(helper_stack), helper_main, j);
	if (pid < 0) {
		j->err = (int)-pid;
		j->outcome = LP_SPAWN_NO_PROCESS;
		sys_exit(0);
	}
	uint64_t deadline = mono_ms() + j->timeout_ms;
	long delay_us = 50;
	for (;;) {
		int w = wait_pid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && w != -EINTR) {
			j->outcome = LP_SPAWN_LOST;
			sys_exit(0);
		}
		if (mono_ms() >= deadline) {
			sys2(SYS_kill, pid, SIGKILL);
			while (wait_pid(pid, &st, 0) == -EINTR)
				;
			j->outcome = LP_SPAWN_TIMED_OUT;
			sys_exit(0);
		}
		struct timespec ts = { 0, delay_us * 1000 };
		sys2(SYS_nanosleep, &ts, NULL);
		if (delay_us < 1000)
			delay_us *= 2;
	}
	if (j->exec_failed) {
		j->outcome = LP_SPAWN_EXEC_FAILED;
	} else if (WIFSIGNALED(st)) {
		j->status = WTERMSIG(st);
		j->outcome = LP_SPAWN_KILLED;
	} else {
		j->status = WEXITSTATUS(st);
		j->outcome = LP_SPAWN_EXITED;
	}
	sys_exit(0);
}

enum lp_spawn_outcome
lp_spawn_wait(const char *const *paths, unsigned npaths, const char *arg, int fd,
	      unsigned timeout_ms, int *status, int *err)
{
	int saved_errno = errno;
	struct rlimit rl;

	job = (struct job){ paths, npaths, { NULL, (char *)arg, NULL }, fd, 1024,
			    timeout_ms, LP_SPAWN_LOST, 0, 0, 0 };
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		job.maxfd = rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;

	/* Every signal blocked in this thread for the clone: the supervisor
	 * inherits the mask and keeps it. */
	uint64_t all = ~(uint64_t)0, old;
	sys4(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof(all));
	/* Exit signal 0: no SIGCHLD for the program, invisible to its
	 * wait()s. */
	long pid = clone_fn(CONCURRENT ? CLONE_VM : CLONE_VM | CLONE_VFORK,
			    supervisor_stack + sizeof(supervisor_stack), supervisor_main, &job);
	sys4(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(old));
	if (pid < 0) {
		*status = 0;
		*err = (int)-pid;
		errno = saved_errno;
		return LP_SPAWN_NO_PROCESS;
	}
	/* Wait for it with this thread's signals open: a handler of the
	 * program may run meanwhile (the raw wait4 is no cancellation
	 * point).  ECHILD: the program reaped it with a __WALL wait; the
	 * results are in job all the same. */
	int st;
	while (wait_pid(pid, &st, __WCLONE) == -EINTR)
		;
	*status = job.status;
	*err = job.err;
	errno = saved_errno;
	return (enum lp_spawn_outcome)job.outcome;
}
