/* SPDX-License-Identifier: MIT */
/*
 * suppressions.h - leaks the user (or the runtime) keeps on purpose, in
 * LeakSanitizer's format.
 *
 * LEAKPROBE_SUPPRESSIONS=FILE[:FILE...]; each line is `leak:PATTERN`
 * (matched against every frame of a lost site's stack: its function, its
 * file and its module) or `cycle:TYPE` (a Python unreachable group with a
 * member of that type); `#` starts a comment.  PATTERN matches anywhere in
 * the name unless it begins with `^` or ends with `$`; `*` stands for any
 * run of characters.  Built-in suppressions cover what glibc and the
 * dynamic loader keep for the life of the process.  A bad line: one
 * warning naming the file and line; the rest applies.
 */
#pragma once

#include "core/base.h"
#include "record/stackdepot.h"

#define LP_SUPPRESSIONS_MAX 256

struct lp_suppression {
	const char *pattern; /* after "leak:" or "cycle:" */
	bool cycle;
	bool builtin;
	uint64_t hits, bytes; /* this report's, reset by lp_suppressions_reset */
};

/* Start-up: read the files LEAKPROBE_SUPPRESSIONS names (stdio-free). */
void lp_suppressions_load(const char *files) LP_HIDDEN;
/* Before a report applies them: every count back to 0. */
void lp_suppressions_reset(void) LP_HIDDEN;
/* The leak suppression that matches stack id (its frames named), or
 * NULL; counts it (blocks, bytes). */
struct lp_suppression *lp_suppressions_match_stack(uint32_t stack, uint64_t blocks,
						   uint64_t bytes) LP_HIDDEN;
/* The cycle suppression naming type name, or NULL; counts it. */
struct lp_suppression *lp_suppressions_match_type(const char *type) LP_HIDDEN;
/* For the report: suppression i (NULL past the last). */
const struct lp_suppression *lp_suppression_at(size_t i) LP_HIDDEN;
/* Exposed for the unit test. */
bool lp_suppression_pattern_matches(const char *pattern, const char *name) LP_HIDDEN;
