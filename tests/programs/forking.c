/* forking.c - leaks before fork, in each child after fork, in the parent
 * after fork; threads churn malloc/free while fork() runs.
 *
 * argv[1]: number of children, forked one after the other (default 1);
 * argv[2]: number of churning threads (default 1);
 * argv[3] == "signal": child 1 prints "child ready" and waits for a line on
 * stdin (the parent is in waitpid meanwhile), after its leak (checkpoint
 * "child_signal"): the test sends it the report signal.
 * Parent statement ($LP_TRUTH):        leak_before_fork 3 x 100 bytes,
 *                                      leak_parent_after 2 x 300 bytes.
 * Child k's statement ($LP_TRUTH.child<k>, k = 1..N):
 *                                      leak_before_fork 3 x 100 bytes
 *                                      (inherited, still live),
 *                                      leak_child 5 x 200 bytes.
 * Facts: pid (each), children, child<k>_pid and child<k>_status (parent).
 * Children end with exit(0): their atexit hooks run.
 * Before the first fork the parent asks for a report (leakprobe_report,
 * declared weak: nothing happens without the shim), so its own numbering
 * is at 1 when the children start theirs.  Fact api_rc. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <leakprobe.h>

#include "truth.h"

#define MAX_CHILDREN 64
#define MAX_THREADS 8

static void *volatile sink;
static volatile int stop;
static volatile unsigned long churned;

__attribute__((noinline)) static void
leak_before_fork(void)
{
	for (int i = 0; i < 3; i++)
		sink = malloc(100);
	truth_leak("leak_before_fork", 3, 300);
}

__attribute__((noinline)) static void
leak_child(void)
{
	for (int i = 0; i < 5; i++)
		sink = malloc(200);
	truth_leak("leak_child", 5, 1000);
}

__attribute__((noinline)) static void
leak_parent_after(void)
{
	for (int i = 0; i < 2; i++)
		sink = malloc(300);
	truth_leak("leak_parent_after", 2, 600);
}

static void *
churner(void *arg)
{
	(void)arg;
	while (!stop) {
		void *p = malloc(64);
		p = realloc(p, 200);
		free(p);
		__atomic_fetch_add(&churned, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	static char tags[MAX_CHILDREN][16], pid_names[MAX_CHILDREN][32], status_names[MAX_CHILDREN][32];
	pthread_t t[MAX_THREADS];
	int n = argc > 1 ? atoi(argv[1]) : 1;
	int nthreads = argc > 2 ? atoi(argv[2]) : 1;
	int child_waits = argc > 3 && strcmp(argv[3], "signal") == 0;

	if (n < 1 || n > MAX_CHILDREN || nthreads < 1 || nthreads > MAX_THREADS)
		return 2;
	leak_before_fork();
	truth_checkpoint("before_fork");
	truth_fact("api_rc", leakprobe_report ? leakprobe_report("before fork") : -2);
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, churner, NULL) != 0)
			return 2;
	for (int k = 1; k <= n; k++) {
		/* fork while the threads are busy in malloc/free */
		unsigned long seen = __atomic_load_n(&churned, __ATOMIC_RELAXED);
		while (__atomic_load_n(&churned, __ATOMIC_RELAXED) < seen + 2000)
			;
		pid_t pid = fork();
		if (pid < 0)
			return 3;
		if (pid == 0) {
			/* Only this thread exists here; the heap is the
			 * parent's at the moment of fork. */
			leak_child();
			for (int i = 0; i < 1000; i++)
				free(malloc((size_t)i + 1));
			if (k == 1 && child_waits) {
				char c = 0;
				truth_checkpoint("child_signal");
				(void)!write(1, "child ready\n", 12);
				while (c != '\n')
					if (read(0, &c, 1) <= 0)
						break;
			}
			truth_fact("pid", getpid());
			snprintf(tags[k - 1], sizeof(tags[0]), "child%d", k);
			truth_write_tag(tags[k - 1]);
			exit(0);
		}
		int status = 0;
		if (waitpid(pid, &status, 0) != pid)
			return 4;
		snprintf(pid_names[k - 1], sizeof(pid_names[0]), "child%d_pid", k);
		snprintf(status_names[k - 1], sizeof(status_names[0]), "child%d_status", k);
		truth_fact(pid_names[k - 1], pid);
		truth_fact(status_names[k - 1], status);
	}
	stop = 1;
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	leak_parent_after();
	truth_fact("pid", getpid());
	truth_fact("children", n);
	truth_write();
	return 0;
}
