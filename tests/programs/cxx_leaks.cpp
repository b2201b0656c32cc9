// cxx_leaks.cpp - C++ allocations through operator new / new[].
//
// Leaks (ground truth: truth.h, by demangled function name):
//   app::leak_arrays(int)      n x new int[100]               (n blocks, n*400 bytes)
//   app::leak_objects(int)     n x new Foo                    (n blocks, n*sizeof(Foo))
//   app::leak_containers(int)  n x new std::string(200, 'x')  and
//                              n x new std::vector<int>(300): the objects and
//                              their contents (4n blocks)
//   app::leak_aligned(int)     n x new Wide, an over-aligned type (C++17
//                              aligned operator new: aligned_alloc(64, 192))
// Also: a failing new throws std::bad_alloc, nothrow new returns nullptr
// (printed: the same with and without the shim).
// operator new(size) calls malloc(size); std::allocator<T>::allocate(k)
// calls operator new(k * sizeof(T)); a std::string holds capacity() + 1
// bytes (the terminating NUL).  Everything else is deleted.
#include <cstdint>
#include <cstdio>
#include <new>
#include <string>
#include <vector>

#include "truth.h"

static void *volatile sink;

namespace app {

struct Foo {
	long a[5];
	Foo() : a{} {}
	virtual ~Foo() {} // a vtable pointer: sizeof(Foo) is 48
};

__attribute__((noinline)) void
leak_arrays(int n)
{
	int at = 0;
	for (int i = 0; i < n; i++) {
		sink = new int[100]; at = __LINE__;
	}
	truth_leak_at("app::leak_arrays(int)", n, n * 100 * sizeof(int), at);
}

__attribute__((noinline)) void
leak_objects(int n)
{
	int at = 0;
	for (int i = 0; i < n; i++) {
		sink = new Foo; at = __LINE__;
	}
	truth_leak_at("app::leak_objects(int)", n, n * sizeof(Foo), at);
}

__attribute__((noinline)) void
leak_containers(int n)
{
	unsigned long bytes = 0;
	for (int i = 0; i < n; i++) {
		std::string *s = new std::string(200, 'x');
		std::vector<int> *v = new std::vector<int>(300);
		bytes += sizeof(std::string) + s->capacity() + 1;
		bytes += sizeof(std::vector<int>) + v->capacity() * sizeof(int);
		sink = s;
		sink = v;
	}
	truth_leak("app::leak_containers(int)", 4ul * n, bytes);
}

struct alignas(64) Wide {
	char c[150]; // sizeof(Wide) is 192: a multiple of the alignment
};

__attribute__((noinline)) void
leak_aligned(int n)
{
	for (int i = 0; i < n; i++) {
		Wide *w = new Wide;
		if (reinterpret_cast<std::uintptr_t>(w) % alignof(Wide))
			std::printf("misaligned Wide\n");
		sink = w;
	}
	truth_leak("app::leak_aligned(int)", n, n * sizeof(Wide));
}

__attribute__((noinline)) void
failing_new()
{
	volatile std::size_t huge = SIZE_MAX / 2;
	try {
		sink = new char[huge];
		std::printf("new char[huge]: returned\n");
	} catch (const std::bad_alloc &) {
		std::printf("new char[huge]: std::bad_alloc\n");
	}
	sink = new (std::nothrow) char[huge];
	std::printf("nothrow new char[huge]: %s\n", sink ? "non-null" : "nullptr");
	truth_leak("app::failing_new()", 0, 0);
}

// Allocates and frees through every path: nothing of this is live at exit.
__attribute__((noinline)) void
churn()
{
	for (int i = 0; i < 200; i++) {
		Foo *f = new Foo;
		delete f;
		int *a = new int[i + 1];
		delete[] a;
		Foo *fs = new Foo[3]; // new[] with a cookie, delete[] frees it
		delete[] fs;
		std::string s(100 + i, 'y');
		std::vector<std::string> v;
		for (int k = 0; k < 20; k++)
			v.push_back(s + std::to_string(k));
	}
}

} // namespace app

int
main()
{
	std::printf("cxx_leaks\n"); // stdout's buffer: allocated here, not in a leak_* function
	app::leak_arrays(3);
	app::leak_objects(5);
	app::leak_containers(2);
	app::leak_aligned(3);
	app::failing_new();
	app::churn();
	std::fflush(stdout);
	truth_write();
	return 0;
}
