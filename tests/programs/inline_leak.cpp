// inline_leak.cpp - the C++ side of inline_leak.c: a member function
// template inlined into a member of a class in a namespace, and a plain
// member; their frames must carry demangled names equal to
// addr2line -C's.  Built by tests/integration/test_symbolizer_oracle.py.
//
// Leaks (truth.h): cache::store<int>::put(int) 2 x 64 bytes (inlined
// into cache::store<int>::fill(int)), cache::keep(unsigned long)
// 1 x 24 bytes (not inlined).
#include <cstdlib>

#include "truth.h"

void *volatile sink[8];
static volatile int slot;

namespace cache {

template <typename T> struct store {
	__attribute__((always_inline)) inline void
	put(T v)
	{
		sink[slot++] = std::malloc(64 + 0 * sizeof(v));
	}
	__attribute__((noinline)) void
	fill(T n)
	{
		for (T i = 0; i < n; i++)
			put(i);
	}
};

__attribute__((noinline)) void
keep(unsigned long n)
{
	sink[slot++] = std::malloc(n);
}

} // namespace cache

int
main()
{
	cache::store<int> s;
	s.fill(2);
	cache::keep(24);
	truth_leak("cache::store<int>::put(int)", 2, 128);
	truth_leak("cache::keep(unsigned long)", 1, 24);
	truth_write();
	return 0;
}
