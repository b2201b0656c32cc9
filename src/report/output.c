/* SPDX-License-Identifier: MIT */
/* output.c - see output.h. */
#include "report/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/linewriter.h"
#include "core/report_stream.h"
#include "core/syscall.h"
#include "core/warn.h"

bool
lp_output_expand(char *dst, size_t cap, const char *pattern, int pid,
		 unsigned seq, bool *unknown_escape)
{
	size_t n = 0;
	*unknown_escape = false;
	if (!cap)
		return false;

	for (const char *p = pattern; *p; p++) {
		char num[32];
		const char *piece = num;
		size_t len;
		if (*p != '%') {
			num[0] = *p;
			len = 1;
		} else if (p[1] == 'p') {
			len = lp_fmt(num, sizeof(num), "%d", pid);
			p++;
		} else if (p[1] == 'n') {
			len = lp_fmt(num, sizeof(num), "%u", seq);
			p++;
		} else if (p[1] == '%') {
			num[0] = '%';
			len = 1;
			p++;
		} else {
			/* Kept literally, and the caller warns. */
			*unknown_escape = true;
			num[0] = '%';
			len = 1;
		}
		if (n + len >= cap)
			return false;
		memcpy(dst + n, piece, len);
		n += len;
	}
	dst[n] = 0;
	return n > 0;
}

/* Keep clear of fds 0-2: the program may have closed them, and a report
 * must not land in whatever it opens there next. */
static int
above_stdio(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	lp_close(fd);
	return hi;
}

static void
fall_back(struct lp_output *o, const char *why, int err)
{
	if (err)
		lp_warn("cannot write report to %s: %s (%s); writing it to stderr",
			o->final[0] ? o->final : "(empty path)", why, strerror(err));
	else
		lp_warn("cannot write report to %s: %s; writing it to stderr",
			o->final[0] ? o->final : "(empty path)", why);
	o->fd = lp_report_stream();
	o->to_file = false;
}

void
lp_output_open(struct lp_output *o, const char *pattern, unsigned seq)
{
	bool unknown;

	o->fd = lp_report_stream();
	o->to_file = false;
	o->final[0] = 0;
	if (!pattern || !pattern[0])
		return;
	if (!lp_output_expand(o->final, sizeof(o->final), pattern, getpid(),
			      seq, &unknown)) {
		lp_fmt(o->final, sizeof(o->final), "%.200s...", pattern);
		fall_back(o, "the path is too long", ENAMETOOLONG);
		return;
	}
	if (unknown)
		lp_warn("LEAKPROBE_OUTPUT=\"%s\": only %%p, %%n and %%%% are "
			"expanded; other %% characters are kept as they are",
			pattern);
	/* A device or a FIFO the user named (/dev/null, a named pipe) is
	 * written directly: there is nothing to replace atomically. */
	struct stat st;
	if (lstat(o->final, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
		int dfd = above_stdio(open(o->final, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
		if (dfd < 0) {
			fall_back(o, "cannot open it", errno);
			return;
		}
		/* The name may have been swapped (a hard link to a victim
		 * file) between lstat and open: check what was opened. */
		struct stat opened;
		if (fstat(dfd, &opened) != 0 ||
		    !(S_ISCHR(opened.st_mode) || S_ISFIFO(opened.st_mode))) {
			lp_close(dfd);
			fall_back(o, "it changed into a regular file while being opened", 0);
			return;
		}
		fcntl(dfd, F_SETFL, 0);
		o->fd = dfd;
		o->to_file = true;
		o->tmp[0] = 0;
		return;
	}
	lp_fmt(o->tmp, sizeof(o->tmp), "%s.tmp.%d", o->final, (int)getpid());
	/* A leftover from a crashed earlier process with our pid: only ever
	 * a regular file we created, or a planted link that unlink removes
	 * without following. */
	unlink(o->tmp);
	int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      0600);
	if (fd < 0) {
		fall_back(o, "cannot create the temporary file", errno);
		return;
	}
	fd = above_stdio(fd);
	if (fd < 0) {
		unlink(o->tmp);
		fall_back(o, "no file descriptor above 2 available", errno);
		return;
	}
	o->fd = fd;
	o->to_file = true;
}

bool
lp_output_commit(struct lp_output *o, bool write_ok)
{
	struct stat st;

	if (!o->to_file)
		return true;
	lp_close(o->fd);
	if (!o->tmp[0] && write_ok)
		return true; /* a device or FIFO, written in place */
	if (!write_ok) {
		if (!o->tmp[0]) {
			fall_back(o, "write failed", 0);
			return false;
		}
		unlink(o->tmp);
		fall_back(o, "write failed", 0);
		return false;
	}
	if (lstat(o->final, &st) == 0 && !S_ISREG(st.st_mode)) {
		unlink(o->tmp);
		fall_back(o, "it exists and is not a regular file (not replaced)", 0);
		return false;
	}
	if (rename(o->tmp, o->final) != 0) {
		int err = errno;
		unlink(o->tmp);
		fall_back(o, "cannot rename the temporary file into place", err);
		return false;
	}
	return true;
}
