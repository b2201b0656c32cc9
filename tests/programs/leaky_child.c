/* leaky_child.c - a small program run by others (a wrapper script's
 * helper, the child of exec_parent.c).  Leaks helper_leak: 2 blocks of 99
 * bytes.  Writes its statement to $LP_TRUTH.<argv[1]> (default "child"),
 * with facts pid, ld_preload (its LD_PRELOAD, "" when unset) and
 * usr1_disposition (what it inherited for SIGUSR1: "SIG_IGN", "SIG_DFL" or
 * "a handler"). */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "truth.h"

static void *volatile sink;

__attribute__((noinline)) static void
helper_leak(void)
{
	for (int i = 0; i < 2; i++)
		sink = malloc(99);
	truth_leak("helper_leak", 2, 198);
}

int
main(int argc, char **argv)
{
	helper_leak();
	truth_fact("pid", getpid());
	const char *pre = getenv("LD_PRELOAD");
	truth_fact_str("ld_preload", pre ? pre : "");
	struct sigaction old;
	sigaction(SIGUSR1, NULL, &old);
	truth_fact_str("usr1_disposition", old.sa_handler == SIG_IGN ? "SIG_IGN"
					   : old.sa_handler == SIG_DFL ? "SIG_DFL" : "a handler");
	truth_write_tag(argc > 1 ? argv[1] : "child");
	return 0;
}
