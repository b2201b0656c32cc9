/* SPDX-License-Identifier: MIT */
/* no_cfi.c - a frame without unwind tables for test_fast_unwind: built
 * -O2 -fno-asynchronous-unwind-tables -fno-unwind-tables
 * -fno-omit-frame-pointer -g0, so no FDE (.eh_frame or .debug_frame)
 * covers it, and it keeps a frame pointer: unwinders can only guess it
 * from rbp.  The test checks the absence of unwind information with
 * libunwind's unw_get_proc_info_by_ip. */

int fu_no_cfi_frame(void *plan, int (*next)(void *));

int
fu_no_cfi_frame(void *plan, int (*next)(void *))
{
	volatile int pad[3] = { 1, 2, 3 };
	int r = next(plan);

	__asm__ volatile("" ::: "memory");
	return r + pad[1];
}
