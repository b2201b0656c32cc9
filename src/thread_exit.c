/* SPDX-License-Identifier: MIT */
/* thread_exit.c - see thread_exit.h. */
#include "thread_exit.h"

#include "guard.h"

extern int __cxa_thread_atexit_impl(void (*dtor)(void *), void *obj, void *dso)
	__attribute__((weak));
extern char __dso_handle;

bool
lp_at_thread_exit(void (*fn)(void *), void *arg)
{
	if (!__cxa_thread_atexit_impl)
		return false;
	lp_guard_enter(); /* it allocates its list entry */
	int rc = __cxa_thread_atexit_impl(fn, arg, &__dso_handle);
	lp_guard_leave();
	return rc == 0;
}
