/* SPDX-License-Identifier: MIT */
/* log.h - warnings on stderr, without malloc or stdio. */
#pragma once

#include "lp.h"

/* "leakprobe: warning: ..." on stderr.  Callers warn once per cause. */
void lp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2))) LP_HIDDEN;
/* "leakprobe: ..." on stderr. */
void lp_note(const char *fmt, ...) __attribute__((format(printf, 1, 2))) LP_HIDDEN;
