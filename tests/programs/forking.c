/* forking.c - leaks before fork, in the child after fork, in the parent
 * after fork; a thread churns malloc/free while fork() runs.
 *
 * Parent statement ($LP_TRUTH):       leak_before_fork 3 x 100 bytes,
 *                                     leak_parent_after 2 x 300 bytes.
 * Child statement ($LP_TRUTH.child):  leak_before_fork 3 x 100 bytes
 *                                     (inherited, still live),
 *                                     leak_child 5 x 200 bytes.
 * Facts: pid (each), child_pid and child_status (parent).  The child ends
 * with exit(0): its atexit hooks run. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "truth.h"

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
		free(p);
		__atomic_fetch_add(&churned, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

int
main(void)
{
	pthread_t t;

	leak_before_fork();
	if (pthread_create(&t, NULL, churner, NULL) != 0)
		return 2;
	/* fork while the thread is busy in malloc/free */
	while (__atomic_load_n(&churned, __ATOMIC_RELAXED) < 10000)
		;
	pid_t pid = fork();
	if (pid < 0)
		return 3;
	if (pid == 0) {
		/* Only this thread exists here; the heap is the parent's at
		 * the moment of fork. */
		leak_child();
		for (int i = 0; i < 1000; i++)
			free(malloc((size_t)i + 1));
		truth_fact("pid", getpid());
		truth_write_tag("child");
		exit(0);
	}
	stop = 1;
	pthread_join(t, NULL);
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return 4;
	leak_parent_after();
	truth_fact("pid", getpid());
	truth_fact("child_pid", pid);
	truth_fact("child_status", status);
	truth_write();
	return 0;
}
