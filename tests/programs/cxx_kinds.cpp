// cxx_kinds.cpp - the C++ cases of the leak verdict, compared with
// valgrind by tests/integration/test_leak_kinds.py: memcheck's default
// heuristics (new[] of a class with a destructor, multiple inheritance)
// and std::string.  One extern "C" case_* function per allocation.
#include <string>

struct Dtor {
	long v;
	~Dtor() { v = 0; }
};
struct A {
	virtual ~A() {}
	long a = 1;
};
struct B {
	virtual ~B() {}
	long b = 2;
};
struct C : A, B {
	long c = 3;
};

Dtor *volatile held_array;   // points 8 bytes in: past the element count
B *volatile held_second_base; // points at the B part of a C
std::string *volatile held_string; // never destroyed: alive at exit

extern "C" {
__attribute__((noinline)) Dtor *case_new_array_held() { return new Dtor[5]; }
__attribute__((noinline)) Dtor *case_new_array_lost() { return new Dtor[3]; }
__attribute__((noinline)) C *case_multi_held() { return new C; }
__attribute__((noinline)) C *case_multi_lost() { return new C; }
__attribute__((noinline)) std::string *case_string_held() { return new std::string(100, 'x'); }
__attribute__((noinline)) std::string *case_string_lost() { return new std::string(200, 'y'); }
}

int
main()
{
	held_array = case_new_array_held();
	Dtor *volatile lost = case_new_array_lost();
	lost = nullptr;
	held_second_base = case_multi_held();
	C *volatile lost_c = case_multi_lost();
	lost_c = nullptr;
	held_string = case_string_held();
	std::string *volatile lost_s = case_string_lost();
	lost_s = nullptr;
	(void)lost_s;
	(void)lost;
	(void)lost_c;
	return 0;
}
