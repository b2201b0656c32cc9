/* SPDX-License-Identifier: MIT */
/* unwind.c - see unwind.h. */
#include "unwind/unwind.h"

#include <dlfcn.h>
#include <link.h>

#include "core/guard.h"
#include "core/options.h"
#include "core/warn.h"
#include "unwind/fast_unwind.h"

#define UNW_CACHE_PER_THREAD 2 /* libunwind.h's unw_caching_policy_t */

static int (*unw_backtrace_fn)(void **, int);
static void (*unw_flush_fn)(void *, uintptr_t, uintptr_t);
static void *unw_local_as;
static uintptr_t self_lo, self_hi;
static bool fast_ok;

static int
find_self(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t target = (uintptr_t)data;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	(void)size;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	if (target < lo || target >= hi)
		return 0;
	self_lo = lo;
	self_hi = hi;
	return 1;
}

bool
lp_unwind_init(void)
{
	dl_iterate_phdr(find_self, (void *)(uintptr_t)&lp_unwind_init);
	if (lp_opt.unwinder == 0) {
		/* libunwind is not loaded at all: it keeps a pipe open for
		 * memory validation (two fds in every process, read and
		 * written behind the program's back after it closes and
		 * reuses its fds).  The cached unwinder stands alone; where it
		 * cannot go on, the allocating call is the stack. */
		fast_ok = lp_fast_unwind_init();
		return fast_ok;
	}

	/* RTLD_LOCAL keeps libunwind's _Unwind_RaiseException and friends
	 * out of the global scope. */
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		lp_warn("cannot load libunwind.so.8 (%s): allocations are recorded without stacks",
			dlerror());
		return false;
	}
	unw_backtrace_fn = (int (*)(void **, int))dlsym(h, "unw_backtrace");
	int (*set_caching)(void *, int) =
		(int (*)(void *, int))dlsym(h, "_ULx86_64_set_caching_policy");
	void *local_as = dlsym(h, "_ULx86_64_local_addr_space");
	if (set_caching && local_as)
		set_caching(*(void **)local_as, UNW_CACHE_PER_THREAD);
	unw_flush_fn = (void (*)(void *, uintptr_t, uintptr_t))dlsym(h, "_Ux86_64_flush_cache");
	unw_local_as = local_as ? *(void **)local_as : NULL;
	if (!unw_backtrace_fn) {
		lp_warn("libunwind.so.8 has no unw_backtrace: allocations are recorded without stacks");
		return false;
	}
	return true;
}

void
lp_unwind_forget_modules(void)
{
	/* libunwind's per-thread caches keep unwind info of unloaded modules
	 * (a new module at the same address then unwinds wrongly); flushing
	 * bumps the generation they check. */
	if (unw_flush_fn && unw_local_as)
		unw_flush_fn(unw_local_as, 0, 0);
}

bool
lp_unwind_is_self(uintptr_t ip)
{
	return ip >= self_lo && ip < self_hi;
}

LP_NOINLINE int
lp_unwind_libunwind(void **ips, int max)
{
	return unw_backtrace_fn ? unw_backtrace_fn(ips, max) : 0;
}

unsigned
lp_unwind_capture(void **ips, unsigned max, unsigned *first_out)
{
	int n = -1;

	*first_out = 0;
	if (max > LP_MAX_DEPTH)
		max = LP_MAX_DEPTH;
	if (fast_ok)
		n = lp_fast_unwind(ips, (int)max + LP_UNWIND_SLACK);
	if (n < 0)
		n = lp_unwind_libunwind(ips, (int)max + LP_UNWIND_SLACK);
	if (n <= 0)
		return 0;

	int first = 0;
	while (first < n && lp_unwind_is_self((uintptr_t)ips[first]))
		first++;
	/* Trailing NULL frames carry nothing (libunwind ends some walks
	 * with one). */
	while (n > first && !ips[n - 1])
		n--;
	unsigned depth = (unsigned)(n - first);
	if (depth > max)
		depth = max;
	*first_out = (unsigned)first;
	return depth;
}
