/* SPDX-License-Identifier: MIT */
/* interpose_dl.c - remember modules before dlclose can unmap them, so
 * their frames still symbolize in later reports. */
#include <dlfcn.h>

#include "core/base.h"
#include "core/bootstrap.h"
#include "core/guard.h"
#include "core/state.h"
#include "report/modules.h"
#include "unwind/unwind.h"
LP_EXPORT int
dlclose(void *handle)
{
	if (!lp_resolve() || !lp_real.dlclose)
		return -1;
	if (lp_tracking_on()) {
		lp_guard_enter();
		lp_modules_remember();
		lp_guard_leave();
	}
	int rc = lp_real.dlclose(handle);
	if (lp_tracking_on())
		lp_unwind_forget_modules();
	return rc;
}
