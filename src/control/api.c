/* SPDX-License-Identifier: MIT */
/* api.c - the public API, include/leakprobe.h. */
#include "core/base.h"
#include "core/guard.h"
#include "core/state.h"
#include "leakprobe.h"
#include "objects/objects.h"
#include "python/cpython.h"
#include "report/report.h"
/* Without the GIL (ctypes.CDLL releases it) the live interpreter cannot
 * be read: the report says so instead of leaving the Python part out in
 * silence. */
static int
report_from_api(const char *label, const char *json_path, unsigned flags)
{
	if (!lp_tracking_on())
		return -1;
	bool py = lp_cpython_enter_api();
	if (!py && lp_cpython_open())
		lp_report_note_next("no Python section: leakprobe_report() was called without "
				    "the GIL (ctypes.CDLL releases it; ctypes.PyDLL or the leakprobe "
				    "module keep it)");
	bool copied = lp_report_write_with_json(LP_REASON_API, label, true, json_path, flags);
	if (py)
		lp_cpython_leave_api();
	return json_path && !copied ? 1 : 0;
}

LP_EXPORT int
leakprobe_report(const char *label)
{
	return report_from_api(label, NULL, 0);
}

LP_EXPORT int
leakprobe_report_json(const char *label, const char *json_path, unsigned flags)
{
	return report_from_api(label, json_path ? json_path : "", flags);
}

LP_EXPORT int
leakprobe_active(void)
{
	return lp_tracking_on() ? 1 : 0;
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
