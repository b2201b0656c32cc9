/* SPDX-License-Identifier: MIT */
/* state.h - where the shim is in its life; read on every hot path. */
#pragma once

#include "core/base.h"

/* 0 nothing resolved, 1 resolving, 2 real functions known, 3 tracking
 * (tables, options, unwinder ready), 4 tracking, and the next allocation
 * starts the report worker (control/report_signal.c): the hot paths test
 * for LP_TRACKING alone and find LP_WAKE on their slow path.  Defined in
 * bootstrap.c, which makes the first steps. */
enum lp_state { LP_UNRESOLVED, LP_RESOLVING, LP_RESOLVED, LP_TRACKING, LP_WAKE };
extern volatile int lp_state LP_HIDDEN;

static inline bool
lp_tracking_on(void)
{
	return lp_state >= LP_TRACKING;
}
