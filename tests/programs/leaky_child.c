/* leaky_child.c - a small program run by others (a wrapper script's
 * helper, the child of exec_parent.c).  Leaks helper_leak: 2 blocks of 99
 * bytes.  Writes its statement to $LP_TRUTH.<argv[1]> (default "child"),
 * with facts pid and ld_preload (its LD_PRELOAD, "" when unset). */
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
	truth_write_tag(argc > 1 ? argv[1] : "child");
	return 0;
}
