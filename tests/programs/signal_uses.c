/* signal_uses.c - how a program's own life meets the report signal.
 *
 *   signal_uses MODE
 *
 * Each mode prints what it sees; everything it prints is the same with and
 * without the shim (the test compares with a plain run), except the lines
 * starting "shim:", which say what only a run under the shim can (a
 * report arrived).  The test sends SIGUSR1 from outside when the program
 * prints a line starting "send"; the program goes on when it reads a line
 * on stdin.  Leaks one 40-byte block in leak_once (a report must show it).
 *
 *   threads       "threads N" (from /proc/self/status) at start and after
 *                 allocating: a single-threaded program stays one thread
 *   blocked       no handler; blocked in read() when the signal comes
 *   blocked_eintr its own handler without SA_RESTART, blocked in read():
 *                 read() fails with EINTR, as without the shim; then it
 *                 waits for a line (the report comes meanwhile)
 *   busy_malloc   malloc/free in a tight loop when the signal comes
 *   busy_compute  arithmetic in a tight loop (no call into libc)
 *   raise         sends itself the signal with raise(), then sleeps
 *   kill          the same with kill(getpid(), ...)
 *   raise_exit    sends itself the signal, then exits at once: the report
 *                 the signal asked for must not be cut by the exit
 *   default       sets SIGUSR1 to SIG_DFL itself, then blocks in read():
 *                 the signal kills it, as without the shim
 *   resethand     its own handler with SA_RESETHAND: the first signal runs
 *                 it, the second kills the program, as without the shim
 *   vfork         its own handler; a vfork child resets every handler to
 *                 SIG_DFL before exec (as CPython's subprocess does); the
 *                 parent then sends itself the signal three times: its
 *                 handler runs three times
 *   count         its own handler with SA_RESTART; "send K" N times, each
 *                 acknowledged with "handled K" once the handler ran, then
 *                 a line read before the next
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static void *volatile sink;

static void
on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void __attribute__((noinline))
leak_once(void)
{
	sink = malloc(40);
}

static int
threads(void)
{
	char buf[4096];
	FILE *f = fopen("/proc/self/status", "r");
	int n = -1;
	while (f && fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "Threads: %d", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

static void
install(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		exit(10);
}

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Block in read() on stdin: "read N" (N bytes, or -1 and the errno). */
static void
blocking_read(void)
{
	char c[64];
	ssize_t n = read(0, c, sizeof(c));
	if (n < 0)
		say("read -1 %s", errno == EINTR ? "EINTR" : strerror(errno));
	else
		say("read %zd", n);
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Spin until a line arrives on stdin (checked with a non-blocking poll of
 * the clock only every so often: the loop itself must not call libc). */
static void
spin(bool allocate)
{
	volatile unsigned long x = 1;
	double until = now() + 3.0;
	say("send");
	while (now() < until) {
		for (int i = 0; i < 200000; i++) {
			if (allocate) {
				void *p = malloc(64 + (i & 255));
				sink = p;
				free(p);
			} else {
				x = x * 6364136223846793005ul + 1442695040888963407ul;
			}
		}
	}
	say("spun");
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	leak_once();

	if (!strcmp(mode, "threads")) {
		say("threads %d", threads());
		for (int i = 0; i < 1000; i++)
			free(malloc((size_t)i + 1));
		say("threads %d", threads());
	} else if (!strcmp(mode, "blocked")) {
		say("send");
		blocking_read();
	} else if (!strcmp(mode, "blocked_eintr")) {
		install(0);
		say("send");
		blocking_read();
		say("handled %d", (int)handled);
		blocking_read(); /* the test's "go": the report has come meanwhile */
	} else if (!strcmp(mode, "busy_malloc")) {
		spin(true);
	} else if (!strcmp(mode, "busy_compute")) {
		spin(false);
	} else if (!strcmp(mode, "raise") || !strcmp(mode, "kill")) {
		install(SA_RESTART);
		if (mode[0] == 'r')
			raise(SIGUSR1);
		else
			kill(getpid(), SIGUSR1);
		say("handled %d", (int)handled);
		struct timespec ts = { 2, 0 };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		say("slept");
	} else if (!strcmp(mode, "raise_exit")) {
		install(SA_RESTART);
		raise(SIGUSR1);
		say("handled %d", (int)handled);
	} else if (!strcmp(mode, "default")) {
		install(SA_RESTART);
		signal(SIGUSR1, SIG_DFL);
		say("send");
		blocking_read();
		say("survived the signal");
	} else if (!strcmp(mode, "resethand")) {
		install(SA_RESTART | SA_RESETHAND);
		say("send");
		blocking_read();
		say("handled %d", (int)handled);
		say("send");
		blocking_read();
		say("survived the second signal");
	} else if (!strcmp(mode, "vfork")) {
		install(SA_RESTART);
		pid_t pid = vfork();
		if (pid == 0) {
			for (int s = 1; s < NSIG; s++) {
				struct sigaction old;
				if (s != SIGKILL && s != SIGSTOP && sigaction(s, NULL, &old) == 0 &&
				    old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)
					signal(s, SIG_DFL);
			}
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		int st;
		waitpid(pid, &st, 0);
		for (int i = 0; i < 3; i++)
			raise(SIGUSR1);
		say("child %d, handled %d", WEXITSTATUS(st), (int)handled);
	} else if (!strcmp(mode, "count")) {
		install(SA_RESTART);
		int n = argc > 2 ? atoi(argv[2]) : 5;
		sigset_t usr1, old;
		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		sigprocmask(SIG_BLOCK, &usr1, &old);
		for (int k = 1; k <= n; k++) {
			say("send %d", k);
			while (handled < k)
				sigsuspend(&old);
			say("handled %d", (int)handled);
			char line[16];
			if (!fgets(line, sizeof(line), stdin)) /* the test's "go" */
				return 3;
		}
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}
