/* SPDX-License-Identifier: MIT */
/* api.c - the public API, include/leakprobe.h. */
#include "../include/leakprobe.h"

#include "lp.h"
#include "report.h"

LP_EXPORT int
leakprobe_report(const char *label)
{
	if (lp_state != LP_TRACKING)
		return -1;
	lp_report_write(LP_REASON_API, label);
	return 0;
}
