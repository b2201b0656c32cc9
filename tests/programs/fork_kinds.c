/* fork_kinds.c - leak kinds in a forked child, for valgrind's verdict on
 * the same child: blocks the parent made before fork (one still held, one
 * the child drops, one the parent had already dropped), and the child's
 * own (one held, one dropped).  The child exits normally (its exit
 * report); the parent waits for it, then exits too.  Built -O0, stores
 * through volatile pointers, as leak_kinds.c. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile parent_keeps, *volatile child_drops, *volatile child_keeps;

__attribute__((noinline)) void *case_parent_held(void) { return malloc(31); }
__attribute__((noinline)) void *case_parent_lost(void) { return malloc(32); }
__attribute__((noinline)) void *case_dropped_in_child(void) { return malloc(33); }
__attribute__((noinline)) void *case_child_held(void) { return malloc(34); }
__attribute__((noinline)) void *case_child_lost(void) { return malloc(35); }

__attribute__((noinline)) static void
child(void)
{
	void *volatile p = case_child_lost();
	p = NULL;
	(void)p;
	child_keeps = case_child_held();
	child_drops = NULL;
	volatile char scrub[4096];
	memset((char *)scrub, 0, sizeof(scrub));
	exit(0);
}

int
main(void)
{
	void *volatile p = case_parent_lost();
	p = NULL;
	(void)p;
	parent_keeps = case_parent_held();
	child_drops = case_dropped_in_child();
	pid_t pid = fork();
	if (pid == 0)
		child();
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
