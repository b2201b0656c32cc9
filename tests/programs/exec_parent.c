/* exec_parent.c - runs CHILD (argv[2]) and waits for it.
 *
 * argv[1]: "exec"   fork, then execv(CHILD, {CHILD, "child"}) in the child
 *          "system" system("CHILD child")
 * Leaks (truth.h): parent_leak, 1 block of 123 bytes.  Facts: child_status
 * (the exit status of the child), pid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "truth.h"

static void *volatile sink;

__attribute__((noinline)) static void
parent_leak(void)
{
	sink = malloc(123);
	truth_leak("parent_leak", 1, 123);
}

int
main(int argc, char **argv)
{
	int status = -1;

	if (argc < 3)
		return 2;
	parent_leak();
	if (strcmp(argv[1], "exec") == 0) {
		pid_t pid = fork();
		if (pid < 0)
			return 3;
		if (pid == 0) {
			char *args[] = { argv[2], "child", NULL };
			execv(argv[2], args);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) != pid)
			return 4;
	} else {
		char cmd[4200];
		snprintf(cmd, sizeof(cmd), "'%s' child", argv[2]);
		status = system(cmd);
	}
	printf("child exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	fflush(stdout);
	truth_fact("child_status", status);
	truth_fact("pid", getpid());
	truth_write();
	return 0;
}
