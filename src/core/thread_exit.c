/* SPDX-License-Identifier: MIT */
/* thread_exit.c - see thread_exit.h. */
#include "core/thread_exit.h"

#include "core/guard.h"

extern int __cxa_thread_atexit_impl(void (*dtor)(void *), void *obj, void *dso)
	__attribute__((weak));
extern char __dso_handle;

#define HOOKS_MAX 4

/* This thread's functions, run by one glibc entry (allocated once per
 * thread: glibc's own list entry is the only allocation). */
static __thread struct {
	void (*fn)(void *);
	void *arg;
} hooks[HOOKS_MAX] __attribute__((tls_model("initial-exec")));
static __thread unsigned nhooks __attribute__((tls_model("initial-exec")));
static __thread bool armed __attribute__((tls_model("initial-exec")));
__thread bool lp_thread_exit_entry_next __attribute__((tls_model("initial-exec")));

static void
run_hooks(void *unused)
{
	(void)unused;
	armed = false;
	while (nhooks) {
		nhooks--;
		hooks[nhooks].fn(hooks[nhooks].arg);
	}
	/* glibc frees its list entry right after this returns. */
	lp_thread_exit_entry_next = true;
}

bool
lp_at_thread_exit(void (*fn)(void *), void *arg)
{
	if (nhooks == HOOKS_MAX || !__cxa_thread_atexit_impl)
		return false;
	if (!armed) {
		lp_guard_enter(); /* glibc allocates its list entry */
		armed = __cxa_thread_atexit_impl(run_hooks, NULL, &__dso_handle) == 0;
		lp_guard_leave();
		if (!armed)
			return false;
	}
	hooks[nhooks].fn = fn;
	hooks[nhooks].arg = arg;
	nhooks++;
	return true;
}
