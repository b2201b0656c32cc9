/* throw_host.c - a C program that dlopens a C++ plugin (argv[1]) whose
 * functions throw exceptions, and prints what they return: the output and
 * exit code must not change under the shim.  It also prints which library
 * provides _Unwind_RaiseException in the global scope (libgcc_s, which
 * libstdc++ uses; never the shim's privately loaded libunwind).  No leaks
 * of its own (truth: none). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "truth.h"

static const char *
provider(const char *sym)
{
	Dl_info info;
	void *p = dlsym(RTLD_DEFAULT, sym);
	if (!p)
		return "(not found)";
	if (!dladdr(p, &info) || !info.dli_fname)
		return "(unknown)";
	const char *slash = strrchr(info.dli_fname, '/');
	return slash ? slash + 1 : info.dli_fname;
}

/* 1 when a mapping of libunwind exists: the check above then means
 * something (the shim loads libunwind privately). */
static int
libunwind_mapped(void)
{
	char line[4096];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "libunwind"))
			found = 1;
	fclose(f);
	return found;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 3;
	}
	int (*throw_catch)(int) = (int (*)(int))dlsym(h, "plugin_throw_catch");
	int (*catcher)(int) = (int (*)(int))dlsym(h, "plugin_catcher");
	if (!throw_catch || !catcher)
		return 4;
	long sum = 0;
	for (int i = 0; i < 500; i++) {
		sum += throw_catch(i);
		sum += catcher(i);
	}
	printf("throw_catch(7) = %d\n", throw_catch(7));
	printf("catcher(0) = %d\n", catcher(0));
	printf("catcher(12) = %d\n", catcher(12));
	printf("sum = %ld\n", sum);
	printf("_Unwind_RaiseException from %s\n", provider("_Unwind_RaiseException"));
	printf("__cxa_throw from %s\n", provider("__cxa_throw"));
	fflush(stdout);
	truth_fact_str("unwind_provider", provider("_Unwind_RaiseException"));
	truth_fact("libunwind_mapped", libunwind_mapped());
	truth_write();
	dlclose(h);
	return 7;
}
