/* SPDX-License-Identifier: MIT */
/* control.h - when reports happen: exit hook, signal, fork. */
#pragma once

#include "lp.h"

/* Install the report signal handler and start the worker thread. */
void lp_control_start(void) LP_HIDDEN;
/* Has the report signal been taken over (for sigaction interposition)? */
int lp_control_signal(void) LP_HIDDEN;
