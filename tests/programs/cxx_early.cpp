// cxx_early.cpp - blocks allocated before the shim starts: libstdc++'s
// emergency exception pool (allocated by libstdc++'s own initialiser, in
// every C++ process) and those of early_ctor.c's constructor, which runs
// before the shim's too.  main frees early_handed's blocks, leaks one
// std::string of its own (app::leak_late) and states every leak.
#include <cstdlib>
#include <string>

#include "truth.h"

extern "C" {
extern void *early_handed_blocks[4];
extern unsigned long early_many_blocks;
}

static std::string *volatile sink;

namespace app {
__attribute__((noinline)) void
leak_late()
{
	sink = new std::string(100, 'x'); // the object and 101 bytes
	truth_leak("app::leak_late()", 2, sizeof(std::string) + 101);
}
} // namespace app

int
main()
{
	for (void *p : early_handed_blocks)
		free(p);
	app::leak_late();
	truth_leak("early_keep", 5, 5000);
	truth_leak("early_temp", 0, 0);
	truth_leak("early_grow", 1, 5000);
	truth_leak("early_zeroed", 1, 700);
	truth_leak("early_aligned", 2, 4096 + 512);
	truth_leak("early_handed", 0, 0);
	truth_fact("early_many", (double)early_many_blocks);
	truth_write();
	return 0;
}
