/* SPDX-License-Identifier: MIT */
/* control.h - when reports happen: exit hook, fork (signal: report_signal.h). */
#pragma once

#include "lp.h"
