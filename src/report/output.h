/* SPDX-License-Identifier: MIT */
/*
 * output.h - where a report goes.
 *
 * A file report is written to "<final>.tmp.<pid>" created 0600 with
 * O_EXCL|O_NOFOLLOW|O_CLOEXEC, then renamed over the final name: a reader
 * never sees half a report, and a symlink planted at either name is never
 * followed (the final name is replaced only if it is a regular file).  If
 * anything fails: one warning naming the path and the reason, and the
 * report goes to stderr.
 */
#pragma once

#include "core/base.h"

struct lp_output {
	int fd;
	bool to_file;
	char final[4096];
	char tmp[4200];
};

/* Expand the pattern (%p pid, %n seq, %% percent) and open. */
void lp_output_open(struct lp_output *o, const char *pattern, unsigned seq) LP_HIDDEN;
/* Finish: rename into place (ok) or discard and fall back to stderr (the
 * caller then writes the report again to o->fd). Returns false when the
 * report must be written again to stderr. */
bool lp_output_commit(struct lp_output *o, bool write_ok) LP_HIDDEN;

/* Exposed for tests/fuzzing: expand a pattern; false if it does not fit. */
bool lp_output_expand(char *dst, size_t cap, const char *pattern, int pid,
		      unsigned seq, bool *unknown_escape) LP_HIDDEN;
