/* SPDX-License-Identifier: MIT */
/* warn.h - warnings on the report stream, notes in the reports; without
 * malloc or stdio. */
#pragma once

#include "core/base.h"

/* "leakprobe: warning: ..." on the report stream (stderr as it was at
 * start-up).  Callers warn once per cause. */
void lp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2))) LP_HIDDEN;
/* A note for the reports (header lines, JSON "notes"): what the shim
 * decided that the user may want to know.  Never on the program's stderr. */
void lp_note(const char *fmt, ...) __attribute__((format(printf, 1, 2))) LP_HIDDEN;
/* The i-th note (NULL past the last). */
const char *lp_note_at(unsigned i) LP_HIDDEN;

/* A broken invariant of the shim's own: the message, then abort. */
_Noreturn void lp_die(const char *msg) LP_HIDDEN;

#ifdef LP_DEBUG
#define lp_assert(x)                                                           \
	do {                                                                   \
		if (!(x))                                                      \
			lp_die("assertion failed: " #x);                       \
	} while (0)
#else
#define lp_assert(x) do {} while (0)
#endif
