/* unwind_switch_nocfi.c - a frame without unwind tables for
 * unwind_switch.c: built -fno-asynchronous-unwind-tables
 * -fno-unwind-tables -fno-omit-frame-pointer -g0, so no FDE covers it
 * (test_unwind_switch checks with readelf); it keeps its frame pointer. */

void nocfi_frame(void (*next)(void));

__attribute__((noinline)) void
nocfi_frame(void (*next)(void))
{
	next();
	__asm__ volatile("" ::: "memory");
}
