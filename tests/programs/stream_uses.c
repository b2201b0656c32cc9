/* stream_uses.c - a program's own use of descriptor 2, against where the
 * shim writes reports and warnings (the report stream).
 *
 *   stream_uses MODE FILE
 *
 *   reuse     fd 2 is closed when it starts (the test closes it); the
 *             first file it opens lands on descriptor 2: it writes one
 *             line there
 *   close     closes its stderr before it exits, then opens FILE, which
 *             lands on descriptor 2, and writes a line
 *   fclose    the same with fclose(stderr) (coreutils' close_stdout)
 *   moved     dup2()s FILE onto descriptor 2 and writes a line to stderr
 *   daemon    forks; the child dup2()s /dev/null over 0-2 and sleeps 3 s
 *             (a daemon); the parent exits at once.  A reader of the
 *             parent's stderr sees its end when the parent exits.
 * Each leaks one 24-byte block in leak_once. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile sink;

static void __attribute__((noinline))
leak_once(void)
{
	sink = malloc(24);
}

static void
line(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		_exit(9);
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	const char *file = argc > 2 ? argv[2] : "/dev/null";
	leak_once();
	if (!strcmp(mode, "reuse")) {
		int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd != 2)
			return 3; /* the test did not close 2 */
		line(fd, "the program's own line\n");
	} else if (!strcmp(mode, "close")) {
		close(2);
		int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd != 2)
			return 3;
		line(fd, "the program's own line\n");
	} else if (!strcmp(mode, "fclose")) {
		fclose(stderr);
		int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd != 2)
			return 3;
		line(fd, "the program's own line\n");
	} else if (!strcmp(mode, "moved")) {
		int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 2) != 2)
			return 3;
		close(fd);
		line(2, "the program's own line\n");
	} else if (!strcmp(mode, "daemon")) {
		pid_t pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_RDWR);
			for (int i = 0; i < 3; i++)
				dup2(null, i);
			if (null > 2)
				close(null);
			sleep(3);
			_exit(0);
		}
		line(1, "parent done\n");
	} else {
		return 2;
	}
	return 0;
}
