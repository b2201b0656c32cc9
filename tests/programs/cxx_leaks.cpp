// cxx_leaks.cpp - C++ allocations through operator new / new[].
//
// Leaks (ground truth: truth.h, by demangled function name):
//   app::leak_arrays(int)      n x new int[100]               (n blocks, n*400 bytes)
//   app::leak_objects(int)     n x new Foo                    (n blocks, n*sizeof(Foo))
//   app::leak_containers(int)  n x new std::string(200, 'x')  and
//                              n x new std::vector<int>(300): the objects and
//                              their contents (4n blocks)
// operator new(size) calls malloc(size); std::allocator<T>::allocate(k)
// calls operator new(k * sizeof(T)); a std::string holds capacity() + 1
// bytes (the terminating NUL).  Everything else is deleted.
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
	app::leak_arrays(3);
	app::leak_objects(5);
	app::leak_containers(2);
	app::churn();
	truth_write();
	return 0;
}
