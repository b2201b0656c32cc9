/* user_handler.c - a program with its own SIGUSR1 handler.
 *
 * argv[1] says how the handler is installed:
 *   sigaction  in main, sigaction() with sa_flags 0 (no SA_RESTART: a
 *              blocking read() is interrupted with EINTR)
 *   signal     in main, signal() (glibc: BSD semantics, SA_RESTART)
 *   preinit    sigaction() with sa_flags 0 from .preinit_array, which runs
 *              before any shared library's constructor: before the shim
 *              has started
 *   siginfo    in main, sigaction() with SA_SIGINFO | SA_RESTART: the
 *              handler checks the siginfo it gets (signal number, sender)
 *   sigset     in main, sigset() (System V, XSI; still in glibc)
 * Then three rounds: print "ready K", wait for a line on stdin (the test
 * sends SIGUSR1 meanwhile); the handler writes "handler N" with write(2);
 * the program prints whether read() was interrupted (EINTR) and its count.
 * It also prints what sigaction(SIGUSR1, NULL, &old) returns.  Everything
 * it prints is the same with and without the shim.  Leaks: leak_round,
 * 1 block of 32 bytes per round (checkpoints "round1".."round3"). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "truth.h"

static volatile sig_atomic_t count;
static void *volatile sink;

static void
on_usr1(int sig)
{
	char msg[32];
	(void)sig;
	count++;
	int n = snprintf(msg, sizeof(msg), "handler %d\n", (int)count);
	(void)!write(1, msg, (size_t)n);
}

static void
on_usr1_info(int sig, siginfo_t *info, void *uc)
{
	char msg[96];
	(void)uc;
	count++;
	int n = snprintf(msg, sizeof(msg), "handler %d (siginfo: signo %s, sender is the parent %s)\n",
			 (int)count, info && info->si_signo == sig ? "ok" : "WRONG",
			 info && info->si_pid == getppid() ? "yes" : "no");
	(void)!write(1, msg, (size_t)n);
}

static void
install_with_sigaction(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = 0;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		_exit(10);
}

static int preinit_mode;

static void
preinit(int argc, char **argv, char **envp)
{
	(void)envp;
	if (argc > 1 && strcmp(argv[1], "preinit") == 0) {
		preinit_mode = 1;
		install_with_sigaction();
	}
}
__attribute__((section(".preinit_array"), used)) static void (*preinit_hook)(int, char **, char **) = preinit;

/* h: a handler address (sa_handler or sa_sigaction, as void *). */
static const char *
describe_addr(void *h)
{
	if (h == (void *)SIG_DFL)
		return "SIG_DFL";
	if (h == (void *)SIG_IGN)
		return "SIG_IGN";
	if (h == (void *)on_usr1 || h == (void *)on_usr1_info)
		return "the program's handler";
	return "another handler";
}

static const char *
describe(void (*h)(int))
{
	return describe_addr((void *)h);
}

__attribute__((noinline)) static void
leak_round(void)
{
	sink = malloc(32);
	truth_leak("leak_round", 1, 32);
}

static void
say(const char *s)
{
	fputs(s, stdout);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct sigaction old;
	const char *mode = argc > 1 ? argv[1] : "";
	char line[128];

	memset(&old, 0, sizeof(old));
	sigaction(SIGUSR1, NULL, &old);
	printf("before main installs: %s\n", describe(old.sa_handler));
	if (strcmp(mode, "sigaction") == 0) {
		install_with_sigaction();
	} else if (strcmp(mode, "siginfo") == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_usr1_info;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGUSR1, &sa, NULL) != 0)
			return 10;
	} else if (strcmp(mode, "sigset") == 0) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		void (*prev)(int) = sigset(SIGUSR1, on_usr1);
#pragma GCC diagnostic pop
		printf("sigset() returned %s\n", describe(prev));
	} else if (strcmp(mode, "signal") == 0) {
		void (*prev)(int) = signal(SIGUSR1, on_usr1);
		printf("signal() returned %s\n", describe(prev));
	} else if (!preinit_mode) {
		return 2;
	}
	memset(&old, 0, sizeof(old));
	if (sigaction(SIGUSR1, NULL, &old) != 0)
		return 11;
	printf("sigaction query: %s, SA_RESTART %s, SA_SIGINFO %s\n",
	       describe_addr(old.sa_flags & SA_SIGINFO ? (void *)old.sa_sigaction : (void *)old.sa_handler),
	       old.sa_flags & SA_RESTART ? "set" : "clear",
	       old.sa_flags & SA_SIGINFO ? "set" : "clear");

	for (int round = 1; round <= 3; round++) {
		static const char *const names[] = { "round1", "round2", "round3" };
		leak_round();
		truth_checkpoint(names[round - 1]);
		snprintf(line, sizeof(line), "ready %d\n", round);
		say(line);
		/* read(2) a line; report EINTR if a signal interrupts it. */
		int interrupted = 0;
		size_t got = 0;
		char c = 0;
		while (c != '\n') {
			ssize_t n = read(0, &c, 1);
			if (n < 0 && errno == EINTR) {
				interrupted++;
				continue;
			}
			if (n <= 0)
				return 12;
			got++;
		}
		snprintf(line, sizeof(line), "round %d: read %s, count %d\n", round,
			 interrupted ? "interrupted (EINTR)" : "not interrupted", (int)count);
		say(line);
	}
	truth_write();
	return 0;
}
