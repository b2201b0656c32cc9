/* SPDX-License-Identifier: MIT */
/*
 * modules.h - the modules a report's addresses lie in: those loaded now
 * (dl_iterate_phdr) and those remembered before each dlclose, so stacks
 * captured in a plugin still resolve after it is gone.  Each with its load
 * bias, address range and the GNU build-id read from its notes in memory
 * (what the file on disk must still carry to be named from).
 *
 * The table is rebuilt by each report (under the report mutex, guard
 * held); paths are pooled and outlive it.
 */
#pragma once

#include "core/base.h"

#define LP_BUILD_ID_MAX 32 /* SHA-1 ids are 20 bytes */

struct lp_module {
	const char *path; /* pooled (strpool.h): equal paths, equal pointers */
	uintptr_t bias, lo, hi;
	bool current;     /* still loaded */
	uint8_t build_id_len;
	uint8_t build_id[LP_BUILD_ID_MAX];
};

/* Start-up: learn the executable's path while /proc/self/exe still
 * resolves (it stops once the main thread has exited). */
void lp_modules_init(void) LP_HIDDEN;
/* Remember every loaded module before a dlclose may unmap some. */
void lp_modules_remember(void) LP_HIDDEN;

/* A report: the modules loaded now and those remembered.  False when
 * memory ran out (some are missing). */
bool lp_modules_begin(void) LP_HIDDEN;
unsigned lp_modules_count(void) LP_HIDDEN;
struct lp_module *lp_module(unsigned i) LP_HIDDEN;
/* The module holding pc: in the load with this bias when it is known
 * (LP_BIAS_UNKNOWN: a loaded module first, else a closed one); NULL if
 * none. */
struct lp_module *lp_module_at(uintptr_t pc, uintptr_t bias) LP_HIDDEN;
