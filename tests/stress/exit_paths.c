/* exit_paths.c - the process ends in a non-main thread while others
 * allocate.
 *
 * usage: exit_paths MODE
 *   exit          a worker calls exit(42) (after a burst of SIGUSR1, so an
 *                 exit report may have to wait for signal reports)
 *   _exit         a worker calls _exit(43): no report, no hang
 *   abort         a worker calls abort(): dies of SIGABRT, no hang
 *   pthread_exit  main calls pthread_exit(); the workers finish their
 *                 loops and return; glibc calls exit(0) when the last
 *                 thread is gone, which writes the report
 *   pthread_exit_signal
 *                 main calls pthread_exit(); a thread waits until the main
 *                 thread is gone (a zombie), asks for a report (SIGUSR1),
 *                 then calls exit(0): both reports come from a process
 *                 whose main thread has ended (its /proc/self/exe no
 *                 longer resolves), and must still name exit_leak()
 *   fork_leader   a worker forks; in the child that thread is the only
 *                 one and returns through pthread_exit (as CPython's
 *                 threads do), so the child must end with status 0; the
 *                 parent waits at most 10 s and says how the child ended
 *
 * Ground truth (truth.h): exit_leak() leaks 4 x 48 B before any thread
 * starts.  stdout: one line about how the child ended (fork_leader). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "truth.h"

static void
on_usr1(int sig)
{
	(void)sig;
}

#define NWORKERS 4

static void *volatile sink;
static volatile int stop;
static const char *mode;

__attribute__((noinline)) static void
exit_leak(void)
{
	for (int i = 0; i < 4; i++)
		sink = malloc(48);
	truth_leak("exit_leak", 4, 4 * 48);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Churn: allocate and free, never leak. */
static void
churn(unsigned seed, long rounds)
{
	void *keep[64] = { 0 };
	for (long i = 0; (rounds < 0 || i < rounds) && !stop; i++) {
		unsigned k = (seed = seed * 1103515245 + 12345) >> 16;
		free(keep[k % 64]);
		keep[k % 64] = malloc(1 + k % 1500);
	}
	for (int i = 0; i < 64; i++)
		free(keep[i]);
}

static void *
churner(void *arg)
{
	churn((unsigned)(long)arg, -1);
	return NULL;
}

static void *
finite_churner(void *arg)
{
	churn((unsigned)(long)arg, 200000);
	return NULL;
}

static void *
ender(void *arg)
{
	(void)arg;
	sleep_ms(100); /* the churners are in full swing */
	if (!strcmp(mode, "exit")) {
		truth_write();
		for (int i = 0; i < 5; i++)
			kill(getpid(), SIGUSR1);
		exit(42);
	}
	if (!strcmp(mode, "_exit"))
		_exit(43);
	if (!strcmp(mode, "abort"))
		abort();
	return NULL;
}

/* Is the main thread gone (a zombie, as after its pthread_exit)? */
static int
main_is_zombie(void)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)getpid());
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'Z';
}

/* pthread_exit_signal: runs after main has gone. */
static void *
late(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200 && !main_is_zombie(); i++)
		sleep_ms(10);
	kill(getpid(), SIGUSR1);
	sleep_ms(500); /* the report thread writes meanwhile */
	exit(0);
}

/* fork_leader: runs in a worker thread. */
static void *
forker(void *arg)
{
	(void)arg;
	pid_t pid = fork();
	if (pid == 0) {
		/* The child: this thread is all there is.  Allocate a little
		 * and leave through pthread_exit, like a returning thread. */
		churn(7, 1000);
		pthread_exit(NULL);
	}
	int st = 0;
	pid_t w = 0;
	for (int i = 0; i < 1000 && w == 0; i++) {
		w = waitpid(pid, &st, WNOHANG);
		if (w == 0)
			sleep_ms(10);
	}
	if (w == 0) {
		printf("child did not end within 10 s\n");
		fflush(stdout);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	} else if (WIFEXITED(st)) {
		printf("child exited %d\n", WEXITSTATUS(st));
	} else {
		printf("child killed by signal %d\n", WTERMSIG(st));
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t t[NWORKERS + 1];

	if (argc < 2)
		return 2;
	mode = argv[1];
	/* A no-op handler, not SIG_IGN: an ignored report signal stays
	 * ignored under the shim, a handled one is chained to. */
	signal(SIGUSR1, on_usr1);
	exit_leak();

	if (!strcmp(mode, "fork_leader")) {
		fflush(stdout);
		pthread_create(&t[0], NULL, forker, NULL);
		pthread_join(t[0], NULL);
		truth_write();
		return 0;
	}
	if (!strcmp(mode, "pthread_exit_signal")) {
		truth_write();
		pthread_create(&t[0], NULL, late, NULL);
		pthread_exit(NULL);
	}
	if (!strcmp(mode, "pthread_exit")) {
		for (long i = 0; i < NWORKERS; i++)
			pthread_create(&t[i], NULL, finite_churner, (void *)i);
		truth_write();
		pthread_exit(NULL);
	}
	for (long i = 0; i < NWORKERS; i++)
		pthread_create(&t[i], NULL, churner, (void *)i);
	pthread_create(&t[NWORKERS], NULL, ender, NULL);
	pthread_join(t[NWORKERS], NULL);
	/* Not reached in the exit, _exit and abort modes. */
	stop = 1;
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(t[i], NULL);
	return 1;
}
