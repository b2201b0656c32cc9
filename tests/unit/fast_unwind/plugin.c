/* SPDX-License-Identifier: MIT */
/* plugin.c - frames in a dlopen'd module for test_fast_unwind: built
 * twice (-O0 and -O2 -fomit-frame-pointer); each call adds two plugin
 * frames, then calls back into the main program. */

int fu_plugin_frame(void *plan, int (*next)(void *));

static __attribute__((noinline)) int
inner(void *plan, int (*next)(void *), int salt)
{
	volatile char buf[24 + 8 * (sizeof(void *) & 3)];
	buf[salt & 15] = (char)salt;
	int r = next(plan);
	__asm__ volatile("" ::: "memory");
	return r + buf[salt & 15];
}

int
fu_plugin_frame(void *plan, int (*next)(void *))
{
	int r = inner(plan, next, (int)(long)plan >> 4);

	__asm__ volatile("" ::: "memory");
	return r + 1;
}
