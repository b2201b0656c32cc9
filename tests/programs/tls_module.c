/* tls_module.c - dlopen()ed by leak_kinds: a __thread variable of a
 * module loaded at run time (dynamic TLS, which glibc allocates when a
 * thread first touches it), the only place its block is kept. */
#include <stdlib.h>

__thread void *volatile module_tls;

__attribute__((noinline)) void *case_dlopen_tls(void) { return malloc(111); }

void
keep_in_module_tls(void)
{
	module_tls = case_dlopen_tls();
}

void
drop_module_tls(void)
{
	module_tls = NULL;
}
