/* sig_malloc.c - signal handlers that call malloc and free, at a high
 * rate, while the main thread mallocs: the shim's own locks must not
 * deadlock.
 *
 * usage: sig_malloc [rounds=300000] [report-signals=10] [usr2-signals=20000]
 *
 * The main loop runs at least `rounds` rounds and until the handler has
 * run `usr2-signals` times (at most 60 s).
 *
 * Calling malloc from a handler is not async-signal-safe, and with glibc it
 * can deadlock by itself when the interrupted code holds an arena lock.
 * So that only the shim could hang, the program keeps glibc on its
 * lock-free paths: after a warm-up with the signals blocked, the main loop
 * mallocs and frees one 40-byte block (its tcache bin never runs dry) and
 * the handlers malloc and free one 200-byte block (another bin, warmed
 * with 7 blocks).  glibc 2.36 serves both from the thread cache without
 * taking a lock, so the only locks a handler can meet are the shim's:
 * shard spinlocks, depot stripes, the report mutex, the unwinder.
 *
 * A sender thread sends SIGUSR2 to the main thread every ~20 us, and every
 * so often SIGUSR1 (the shim's report signal; the program has its own
 * handler for it too, which also mallocs, and the shim must chain to it).
 *
 * The handler also frees a block the main thread allocated (handoff_alloc,
 * 120 bytes, allocated with the signals blocked, one at a time so its
 * tcache bin never fills): landing while the main thread is inside the
 * shim, that free must wait until the thread leaves it, and happen then.
 *
 * Ground truth (truth.h): sig_leak() leaks 6 x 72 B before the storm;
 * handoff_alloc() leaks nothing (every block it made was freed, most by
 * the handler).  stderr: "handled USR2 N USR1 M rounds R handed H".
 * stdout: "ok". */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "truth.h"

static void *volatile sink;
static void *volatile handoff;
static volatile sig_atomic_t handled_usr2, handled_usr1, handed, done;
static pthread_t main_thread;
static long rounds = 300000, report_signals = 10, want_usr2 = 20000;

static void
on_signal(int sig)
{
	int saved = errno;
	char *p = malloc(200);
	if (p) {
		memset(p, sig, 200);
		free(p);
	}
	void *h = handoff;
	if (h) {
		handoff = NULL;
		free(h);
		handed++;
	}
	if (sig == SIGUSR2)
		handled_usr2++;
	else
		handled_usr1++;
	errno = saved;
}

__attribute__((noinline)) static void
sig_leak(void)
{
	for (int i = 0; i < 6; i++)
		sink = malloc(72);
	truth_leak("sig_leak", 6, 6 * 72);
}

__attribute__((noinline)) static void *
handoff_alloc(void)
{
	return malloc(120);
}

static void *
sender(void *arg)
{
	struct timespec ts = { 0, 20000 };
	long n = 0, every = 0;
	(void)arg;
	while (!done) {
		pthread_kill(main_thread, SIGUSR2);
		/* ~50000 signals a second; a few report signals spread over
		 * the first seconds. */
		if (report_signals && ++every == 3000 && n < report_signals) {
			kill(getpid(), SIGUSR1);
			n++;
			every = 0;
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	sigset_t both;
	struct sigaction sa;
	pthread_t t;

	if (argc > 1)
		rounds = atol(argv[1]);
	if (argc > 2)
		report_signals = atol(argv[2]);
	if (argc > 3)
		want_usr2 = atol(argv[3]);
	main_thread = pthread_self();

	sigemptyset(&both);
	sigaddset(&both, SIGUSR1);
	sigaddset(&both, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &both, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);

	/* Warm-up, signals blocked: the leaks, the tcache bins. */
	sig_leak();
	void *warm[7];
	for (int i = 0; i < 7; i++)
		warm[i] = malloc(200);
	for (int i = 0; i < 7; i++)
		free(warm[i]);
	for (int i = 0; i < 7; i++)
		warm[i] = malloc(120);
	for (int i = 0; i < 7; i++)
		free(warm[i]);
	free(malloc(40));

	pthread_create(&t, NULL, sender, NULL); /* inherits the blocked mask */
	pthread_sigmask(SIG_UNBLOCK, &both, NULL);
	time_t start = time(NULL);
	long i;
	for (i = 0; i < rounds || (handled_usr2 < want_usr2 && time(NULL) - start < 60); i++) {
		char *p = malloc(40);
		p[0] = (char)i;
		free(p);
		if ((i & 63) == 0 && !handoff) {
			pthread_sigmask(SIG_BLOCK, &both, NULL);
			handoff = handoff_alloc();
			pthread_sigmask(SIG_UNBLOCK, &both, NULL);
		}
	}
	pthread_sigmask(SIG_BLOCK, &both, NULL);
	done = 1;
	pthread_join(t, NULL);
	free(handoff);
	truth_leak("handoff_alloc", 0, 0);

	fprintf(stderr, "handled USR2 %d USR1 %d rounds %ld handed %d\n", (int)handled_usr2,
		(int)handled_usr1, i, (int)handed);
	printf("ok\n");
	truth_write();
	return 0;
}
