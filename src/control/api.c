/* SPDX-License-Identifier: MIT */
/* api.c - the public API, include/leakprobe.h. */
#include "core/base.h"
#include "core/guard.h"
#include "core/state.h"
#include "leakprobe.h"
#include "objects/objects.h"
#include "python/cpython.h"
#include "report/report.h"
LP_EXPORT int
leakprobe_report(const char *label)
{
	if (!lp_tracking_on())
		return -1;
	bool py = lp_cpython_enter_api();
	lp_report_write_at(LP_REASON_API, label, true);
	if (py)
		lp_cpython_leave_api();
	return 0;
}

LP_EXPORT long
leakprobe_collect(int generation)
{
	struct lp_pass p;

	if (!lp_tracking_on())
		return -1;
	lp_guard_enter();
	long found = lp_objects_pass(generation, true, &p);
	if (found >= 0)
		lp_objects_pass_free(&p);
	lp_guard_leave();
	return found;
}
