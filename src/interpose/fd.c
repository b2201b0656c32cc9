/* SPDX-License-Identifier: MIT */
/* interpose_fd.c - a program that closes its stderr, or dup2()s another
 * file onto it, tells the report stream (report_stream.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

#include "core/base.h"
#include "core/bootstrap.h"
#include "core/report_stream.h"
#include "core/state.h"
/* The next definition, typed like our own. */
#define NEXT(name)                                                             \
	static __typeof__(&name) real;                                         \
	if (lp_unlikely(!real))                                                \
		real = (__typeof__(&name))lp_next(#name)

LP_EXPORT int
close(int fd)
{
	NEXT(close);
	if (lp_unlikely(fd == 2) && lp_tracking_on())
		lp_report_stream_closing(fd);
	return real(fd);
}

LP_EXPORT int
fclose(FILE *f)
{
	NEXT(fclose);
	if (lp_unlikely(f == stderr) && lp_tracking_on())
		lp_report_stream_closing(2);
	return real(f);
}

LP_EXPORT int
dup2(int oldfd, int newfd)
{
	NEXT(dup2);
	int rc = real(oldfd, newfd);
	if (rc >= 0 && lp_tracking_on())
		lp_report_stream_dup2(newfd);
	return rc;
}

LP_EXPORT int
dup3(int oldfd, int newfd, int flags)
{
	NEXT(dup3);
	int rc = real(oldfd, newfd, flags);
	if (rc >= 0 && lp_tracking_on())
		lp_report_stream_dup2(newfd);
	return rc;
}
