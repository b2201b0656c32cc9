/* SPDX-License-Identifier: MIT */
/* seccomp.c - see seccomp.h. */
#include "core/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/syscall.h"

bool
lp_seccomp_filtered(void)
{
	int saved_errno = errno;
	char buf[4096];
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC);
	long got = fd < 0 ? -1 : syscall(SYS_read, fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		lp_close(fd);
	errno = saved_errno;
	if (got <= 0)
		return true;
	buf[got] = 0;
	const char *line = strstr(buf, "\nSeccomp:");
	if (!line)
		return false; /* a kernel without seccomp */
	line += strlen("\nSeccomp:");
	while (*line == ' ' || *line == '\t')
		line++;
	return *line != '0';
}
