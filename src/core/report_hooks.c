/* SPDX-License-Identifier: MIT */
/* report_hooks.c - see report_hooks.h. */
#include "core/report_hooks.h"

static struct lp_report_hooks hooks;

void
lp_report_hooks_connect(const struct lp_report_hooks *h)
{
	hooks = *h;
}

void
lp_report_at_safe_point(enum lp_reason reason)
{
	if (hooks.write_at_safe_point)
		hooks.write_at_safe_point(reason);
}

void
lp_report_exit_is_next(void)
{
	if (hooks.exit_begins)
		hooks.exit_begins();
}
