/* SPDX-License-Identifier: MIT */
/* chain_o0.c - a frame built at -O0 (rbp frame, CFA = rbp + 16) for
 * test_fast_unwind; compiled on its own so the main test can stay -O2. */

int fu_frame_o0(void *plan, int (*next)(void *));

int
fu_frame_o0(void *plan, int (*next)(void *))
{
	volatile int pad[5] = { 1, 2, 3, 4, 5 };
	int r = next(plan);

	return r + pad[2];
}
