/* SPDX-License-Identifier: MIT */
/* report_stream.c - see report_stream.h. */
#include "core/report_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/syscall.h"

static int copy_fd = -1;  /* ours, made when the program closed stderr */
static bool stream_known; /* stderr was open at start-up (or moved by dup2) */
static dev_t stream_dev;
static ino_t stream_ino;
static pid_t owner; /* a vfork child shares this memory: not its stream */

static bool
ours(void)
{
	return (pid_t)syscall(SYS_getpid) == owner;
}

/* High, so as not to take a number the program expects to get (the
 * lowest free one, or one it assigns itself). */
static int
dup_high(int fd)
{
	struct rlimit rl;
	int base = 512;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 1024)
		base = (int)rl.rlim_cur / 2;
	int hi = base > 2 ? fcntl(fd, F_DUPFD_CLOEXEC, base) : -1;
	return hi >= 0 ? hi : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

static bool
is_stream(int fd)
{
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == stream_dev && st.st_ino == stream_ino;
}

static void
learn_stream(void)
{
	struct stat st;
	stream_known = fstat(2, &st) == 0;
	stream_dev = st.st_dev;
	stream_ino = st.st_ino;
}

void
lp_report_stream_init(void)
{
	owner = (pid_t)syscall(SYS_getpid);
	learn_stream();
}

void
lp_report_stream_after_fork_child(void)
{
	owner = (pid_t)syscall(SYS_getpid);
}

int
lp_report_stream(void)
{
	if (!stream_known)
		return -1;
	if (is_stream(2))
		return 2;
	return is_stream(copy_fd) ? copy_fd : -1;
}

void
lp_report_stream_closing(int fd)
{
	int saved = errno;
	if (fd == 2 && copy_fd < 0 && stream_known && ours() && is_stream(2))
		copy_fd = dup_high(2);
	errno = saved;
}

void
lp_report_stream_dup2(int newfd)
{
	if ((newfd != 2 && newfd != copy_fd) || !ours())
		return;
	int saved = errno;
	if (newfd == 2) {
		if (is_stream(copy_fd))
			lp_close(copy_fd);
		copy_fd = -1;
		learn_stream();
	} else if (newfd == copy_fd) {
		copy_fd = -1; /* the program's now; never closed by us */
	}
	errno = saved;
}
