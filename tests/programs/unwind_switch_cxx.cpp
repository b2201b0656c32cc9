// unwind_switch_cxx.cpp - C++ objects allocated on a makecontext
// coroutine's stack (malloc'd: 256 KiB, above the mmap threshold, a
// mapping of its own), through operator new:
//   app::make_widgets(int)   3 x new Widget (3 blocks, 3 * sizeof(Widget))
// Facts: chain.<function> the frames above malloc, innermost first,
// separated by '|': operator new, then the program's chain up to the
// coroutine's entry; end.<function> "libc" (the entry returns into glibc's
// __start_context, which ends the chain).
#include <cstdint>
#include <cstdlib>
#include <ucontext.h>

#include "truth.h"

static void *volatile sink;
static ucontext_t main_uc, co_uc;

namespace app {

struct Widget {
	long v[9];
	Widget() : v{} {}
	virtual ~Widget() {} // a vtable pointer: sizeof(Widget) is 80
};

__attribute__((noinline)) void
make_widgets(int n)
{
	for (int i = 0; i < n; i++)
		sink = new Widget;
	truth_leak("app::make_widgets(int)", n, n * sizeof(Widget));
}

__attribute__((noinline)) void
co_mid()
{
	make_widgets(3);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void
co_entry()
{
	co_mid();
	__asm__ volatile("" ::: "memory");
}

} // namespace app

int
main()
{
	size_t size = 256 << 10;
	void *stack = malloc(size);

	getcontext(&co_uc);
	co_uc.uc_stack.ss_sp = stack;
	co_uc.uc_stack.ss_size = size;
	co_uc.uc_link = &main_uc;
	makecontext(&co_uc, app::co_entry, 0);
	swapcontext(&main_uc, &co_uc);
	truth_fact_str("chain.app::make_widgets(int)",
		       "operator new(unsigned long)|app::make_widgets(int)|app::co_mid()|"
		       "app::co_entry()");
	truth_fact_str("end.app::make_widgets(int)", "libc");
	truth_write();
	free(stack);
	return 0;
}
