/* sym_host.c - a program whose reports start leakprobe-symbolizer, and
 * which watches for anything of it: its own SIGCHLD handler, its own
 * wait()s, its own mappings.  Built with -DLEAKPROBE_WEAK_API (runs with
 * and without the shim) and exported symbols (dladdr can name
 * leak_exported, never the static leak_static).
 *
 * usage: sym_host MODE
 *   plain     leak and exit
 *   maps      leak, leakprobe_report(), then print "map PATH" for every
 *             file mapped and "tls NAME" for every module with TLS
 *   sigchld   count SIGCHLD (handler), fork a child and reap it, two
 *             leakprobe_report(), print "ready", wait for a line on stdin
 *             (the test sends the report signal meanwhile), then print
 *             "sigchld N" and what wait() says with no child left
 *   waiter    a thread blocks in wait() while leakprobe_report() runs
 *             twice; then the program's own child exits: print what each
 *             wait() returned ("reaped own", "reaped other PID", "EINTR",
 *             "ECHILD")
 *   ignore    SIGCHLD ignored (children reaped by the kernel), a child of
 *             its own, leakprobe_report()
 *   seccomp   execve and execveat fail with EPERM from now on (seccomp),
 *             then leak and exit
 *   signals DIR  count SIGUSR2 (handler), chdir to DIR (where the test's
 *             fake helper writes), print "ready", leakprobe_report() (the
 *             test sends SIGUSR2 twice while it runs), print "usr2 N"
 *
 * Leaks (truth.h): leak_static 2 x 32 bytes, leak_exported 3 x 16 bytes. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <leakprobe.h>

#include "truth.h"

static void *volatile sink;
static volatile sig_atomic_t sigchld_count, usr2_count;

__attribute__((noinline)) static void
leak_static(void)
{
	for (int i = 0; i < 2; i++)
		sink = malloc(32);
	truth_leak("leak_static", 2, 64);
}

__attribute__((noinline)) void
leak_exported(void)
{
	for (int i = 0; i < 3; i++)
		sink = malloc(16);
	truth_leak("leak_exported", 3, 48);
}

static void
report(const char *label)
{
	if (leakprobe_report)
		leakprobe_report(label);
}

static void
on_sigchld(int sig)
{
	(void)sig;
	sigchld_count++;
}

static void
on_usr2(int sig)
{
	(void)sig;
	usr2_count++;
}

static int
signals(const char *dir)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	if (dir && chdir(dir) != 0)
		return 3;
	printf("ready\n");
	fflush(stdout);
	report("signals");
	printf("usr2 %d\n", (int)usr2_count);
	return 0;
}

static int
print_tls(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size, (void)data;
	if (info->dlpi_tls_modid)
		printf("tls %s\n", info->dlpi_name[0] ? info->dlpi_name : "(main)");
	return 0;
}

static int
maps(void)
{
	char line[4096], last[4096] = "";
	report("maps");
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return 3;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');
		if (!path)
			continue;
		path[strcspn(path, "\n")] = 0;
		if (strcmp(path, last))
			printf("map %s\n", path);
		snprintf(last, sizeof(last), "%s", path);
	}
	fclose(f);
	dl_iterate_phdr(print_tls, NULL);
	return 0;
}

static const char *
wait_says(void)
{
	static char buf[64];
	int st;
	errno = 0;
	pid_t p = wait(&st);
	if (p < 0)
		return errno == ECHILD ? "ECHILD" : errno == EINTR ? "EINTR" : "other error";
	snprintf(buf, sizeof(buf), "reaped %d", (int)p);
	return buf;
}

static int
sigchld(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	report("sigchld 1");
	report("sigchld 2");
	printf("ready\n");
	fflush(stdout);
	char buf[16];
	while (!fgets(buf, sizeof(buf), stdin) && errno == EINTR)
		;
	usleep(50000); /* a late SIGCHLD would arrive by now */
	printf("sigchld %d\n", (int)sigchld_count);
	printf("wait: %s\n", wait_says());
	return 0;
}

static pid_t own_child;
static char waiter_log[512];

static void *
waiter_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < 8; i++) {
		int st;
		errno = 0;
		pid_t p = wait(&st);
		size_t n = strlen(waiter_log);
		if (p == own_child)
			snprintf(waiter_log + n, sizeof(waiter_log) - n, "reaped own; ");
		else if (p > 0)
			snprintf(waiter_log + n, sizeof(waiter_log) - n, "reaped other %d; ", (int)p);
		else {
			snprintf(waiter_log + n, sizeof(waiter_log) - n, "%s; ",
				 errno == ECHILD ? "ECHILD" : errno == EINTR ? "EINTR" : "error");
			if (errno == ECHILD)
				break;
		}
	}
	return NULL;
}

static int
waiter(void)
{
	int fds[2];
	if (pipe(fds) != 0)
		return 3;
	own_child = fork();
	if (own_child == 0) {
		char c;
		close(fds[1]);
		while (read(fds[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(fds[0]);
	pthread_t t;
	pthread_create(&t, NULL, waiter_main, NULL);
	usleep(100000); /* the waiter is blocked in wait() by now */
	report("waiter 1");
	report("waiter 2");
	usleep(100000);
	close(fds[1]); /* the child reads EOF and exits */
	pthread_join(t, NULL);
	printf("waiter: %s\n", waiter_log);
	return 0;
}

static int
ignore(void)
{
	signal(SIGCHLD, SIG_IGN);
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	report("ignore");
	usleep(50000);
	printf("wait: %s\n", wait_says());
	return 0;
}

static int
no_exec(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execveat, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
	};
	struct sock_fprog prog = { sizeof(filter) / sizeof(filter[0]), filter };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		printf("seccomp unavailable: %s\n", strerror(errno));
		return 0;
	}
	printf("execve now fails: %s\n", execl("/bin/true", "true", (char *)NULL) ? strerror(errno) : "?");
	return 0;
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "plain";
	int rc = 2;

	leak_static();
	leak_exported();
	if (!strcmp(mode, "plain"))
		rc = 0;
	else if (!strcmp(mode, "maps"))
		rc = maps();
	else if (!strcmp(mode, "sigchld"))
		rc = sigchld();
	else if (!strcmp(mode, "waiter"))
		rc = waiter();
	else if (!strcmp(mode, "ignore"))
		rc = ignore();
	else if (!strcmp(mode, "seccomp"))
		rc = no_exec();
	else if (!strcmp(mode, "signals"))
		rc = signals(argc > 2 ? argv[2] : NULL);
	truth_write();
	fflush(stdout);
	return rc;
}
