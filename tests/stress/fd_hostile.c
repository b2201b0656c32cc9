/* fd_hostile.c - a program that is rough with file descriptors.
 *
 * usage: fd_hostile MODE DIR
 *   closed    closes fds 0, 1 and 2 and keeps them closed; asks for a report
 *             (SIGUSR1) and exits: a report must not take fd 0-2 for long
 *   reused    closes fds 0-2, then opens DIR/data0..2 (they get fds 0-2) and
 *             writes its own lines there, before and after a SIGUSR1 report
 *             and at exit: no report byte may land in those files
 *   dup2      dup2()s /dev/null over fd 1 and DIR/data2 over fd 2
 *   closefrom closes every fd above 2 (as daemons do), opens DIR/input
 *             for reading and DIR/output for writing (they get fds 3, 4),
 *             allocates from stacks of many depths, in a new thread and in
 *             a signal handler, asks for a report, then
 *             reads its input and writes it to its output: both files must
 *             be as without the shim (no byte read or written behind the
 *             program's back)
 *   nofile    lowers RLIMIT_NOFILE to 32 and opens /dev/null until EMFILE,
 *             keeps them all open through a SIGUSR1 report and exit
 *   nofile1   the same, then closes one fd before the report and exit
 * stdout gets "opened N" in the nofile modes (the shim must not hold the
 * program's descriptors: N is the same with and without it).  Progress
 * goes to DIR/log.
 *
 * Ground truth (truth.h): fd_leak() leaks 3 x 40 B. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "truth.h"

static void *volatile sink;
static char dir[3000];
static volatile sig_atomic_t usr1_seen;

__attribute__((noinline)) static void
fd_leak(void)
{
	for (int i = 0; i < 3; i++)
		sink = malloc(40);
	truth_leak("fd_leak", 3, 120);
}

static void
on_usr1(int sig)
{
	(void)sig;
	usr1_seen = 1;
}

/* Ask for a report and give the shim's thread time to write it. */
static void
report_now(void)
{
	kill(getpid(), SIGUSR1);
	struct timespec ts = { 0, 300 * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Allocations from stacks of many shapes: new stacks to capture. */
__attribute__((noinline)) static int
nested(int n)
{
	if (n == 0) {
		free(malloc(16));
		return 0;
	}
	return nested(n - 1) + 1;
}

static void
put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		_exit(5);
}

static int
open_in_dir(const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
}

/* Allocations in a signal handler: stacks through a signal frame. */
static void
on_usr2(int sig)
{
	(void)sig;
	nested(3);
}

static void *
thread_allocs(void *arg)
{
	(void)arg;
	for (int i = 0; i < 300; i++)
		nested(i % 60);
	return NULL;
}

/* First thing in main: the unwinder has not walked main's frames yet, so
 * whatever it does on a cache miss happens after the close. */
static int
closefrom_mode(void)
{
	char path[4096];
	pthread_t t;

	snprintf(path, sizeof(path), "%s/input", dir);
	close_range(3, ~0u, 0);
	int in = open(path, O_RDONLY);
	int out = open_in_dir("output");
	if (in != 3 || out != 4)
		return 3;
	fd_leak();
	truth_write();
	for (int i = 0; i < 300; i++)
		nested(i % 60);
	pthread_create(&t, NULL, thread_allocs, NULL);
	pthread_join(t, NULL);
	signal(SIGUSR2, on_usr2);
	for (int i = 0; i < 20; i++)
		raise(SIGUSR2);
	report_now();
	char buf[256];
	ssize_t n = read(in, buf, sizeof(buf));
	if (n > 0 && write(out, buf, (size_t)n) != n)
		return 5;
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	const char *mode = argv[1];
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	signal(SIGUSR1, on_usr1);
	if (!strcmp(mode, "closefrom"))
		return closefrom_mode();
	fd_leak();
	truth_write();

	if (!strcmp(mode, "closed")) {
		close(0);
		close(1);
		close(2);
		report_now();
		free(malloc(10));
		return 0;
	}
	if (!strcmp(mode, "reused")) {
		close(0);
		close(1);
		close(2);
		int fds[3];
		for (int i = 0; i < 3; i++) {
			char name[16];
			snprintf(name, sizeof(name), "data%d", i);
			fds[i] = open_in_dir(name);
		}
		for (int i = 0; i < 3; i++)
			if (fds[i] != i)
				return 3;
		for (int i = 0; i < 3; i++)
			put(i, "program line 1\n");
		report_now();
		for (int i = 0; i < 3; i++)
			put(i, "program line 2\n");
		return 0;
	}
	if (!strcmp(mode, "dup2")) {
		int null = open("/dev/null", O_WRONLY);
		int d2 = open_in_dir("data2");
		dup2(null, 1);
		dup2(d2, 2);
		close(null);
		close(d2);
		put(2, "program line 1\n");
		report_now();
		put(2, "program line 2\n");
		return 0;
	}
	if (!strcmp(mode, "nofile") || !strcmp(mode, "nofile1")) {
		int log = open_in_dir("log");
		struct rlimit rl = { 32, 32 };
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			return 4;
		int n = 0, last = -1, fd;
		while ((fd = open("/dev/null", O_RDONLY)) >= 0) {
			n++;
			last = fd;
		}
		printf("opened %d, then %s\n", n, errno == EMFILE ? "EMFILE" : "other");
		fflush(stdout);
		if (!strcmp(mode, "nofile1"))
			close(last);
		put(log, "before report\n");
		report_now();
		put(log, usr1_seen ? "after report\n" : "no signal\n");
		return 0;
	}
	return 2;
}
