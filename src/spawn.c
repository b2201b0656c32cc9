/* SPDX-License-Identifier: MIT */
/* spawn.c - see spawn.h. */
#include "spawn.h"

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

/* The helper's side until execve, on helper_stack in the program's memory
 * (the supervisor is suspended meanwhile): system calls only. */
static int
helper_main(void *arg)
{
	struct job *j = arg;

	/* Its own process group: a ^C meant for the program does not end
	 * the helper half-way; it dies with its supervisor. */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	uint64_t none = 0;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none));
	for (unsigned i = 0; i < j->npaths; i++) {
		j->argv[0] = (char *)j->paths[i];
		execve(j->paths[i], j->argv, empty_env);
		j->err = errno;
	}
	j->exec_failed = 1;
	_exit(127);
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The supervisor: a clone child that never calls execve, so it stays one
 * (execve would make its exit signal SIGCHLD: the kernel resets it).  It
 * starts the helper as its own child, waits for it (bounded), and exits;
 * the helper's SIGCHLD goes to it, never to the program.  It runs on
 * supervisor_stack in the program's memory while the calling thread is
 * suspended (CLONE_VFORK): system calls only, every signal blocked (so no
 * handler of the program can run here), no lock, no shim state. */
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
		if (syscall(SYS_rt_sigaction, sig, NULL, &old, sizeof(uint64_t)) == 0 &&
		    (sig == SIGCHLD || (old.handler != (void *)SIG_DFL &&
					old.handler != (void *)SIG_IGN)))
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(uint64_t));
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Of the program's descriptors (this is a copy of its table) only
	 * the exchange file is kept, as fd 0: the program's pipes and
	 * sockets must not stay open in here, nor reach the helper. */
	if (dup2(j->fd, 0) != 0) {
		j->err = errno;
		j->outcome = LP_SPAWN_NO_PROCESS;
		_exit(0);
	}
	if (syscall(SYS_close_range, 1u, ~0u, 0u) != 0)
		for (int fd = 1; fd < j->maxfd; fd++)
			close(fd);
	/* CLONE_VFORK: returns once the helper has called execve or exited. */
	pid_t pid = clone(helper_main, helper_stack + sizeof(helper_stack),
			  CLONE_VM | CLONE_VFORK | SIGCHLD, j);
	if (pid < 0) {
		j->err = errno;
		j->outcome = LP_SPAWN_NO_PROCESS;
		_exit(0);
	}
	uint64_t deadline = mono_ms() + j->timeout_ms;
	long delay_us = 50;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			j->outcome = LP_SPAWN_LOST;
			_exit(0);
		}
		if (mono_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			j->outcome = LP_SPAWN_TIMED_OUT;
			_exit(0);
		}
		struct timespec ts = { 0, delay_us * 1000 };
		nanosleep(&ts, NULL);
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
	_exit(0);
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
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof(all));
	/* Exit signal 0: no SIGCHLD for the program, invisible to its
	 * wait()s.  CLONE_VFORK: returns once the supervisor has exited. */
	pid_t pid = clone(supervisor_main, supervisor_stack + sizeof(supervisor_stack),
			  CLONE_VM | CLONE_VFORK, &job);
	int clone_errno = errno;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(old));
	if (pid < 0) {
		*status = 0;
		*err = clone_errno;
		errno = saved_errno;
		return LP_SPAWN_NO_PROCESS;
	}
	/* Reap it (a zombie by now).  ECHILD: the program reaped it with a
	 * __WALL wait; the results are in job all the same. */
	int st;
	while (waitpid(pid, &st, __WCLONE) < 0 && errno == EINTR)
		;
	*status = job.status;
	*err = job.err;
	errno = saved_errno;
	return (enum lp_spawn_outcome)job.outcome;
}
