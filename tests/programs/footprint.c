/* footprint.c - what of the shim a program can see of its own resources.
 *
 *   keys        creates pthread keys until pthread_key_create fails:
 *               "keys N" (every key is the program's)
 *   tls         "tls N": loaded modules with a TLS segment (each one makes
 *               every thread's TLS table longer)
 *   fds         "fds 0 1 2 ...": its open descriptors (/proc/self/fd)
 *   threads     30 threads each allocate, free and exit; then "threads ok"
 * Leaks one 24-byte block in leak_once. */
#define _GNU_SOURCE
#include <dirent.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

static void __attribute__((noinline))
leak_once(void)
{
	sink = malloc(24);
}

static int
count_tls(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_TLS)
			++*(int *)data;
	return 0;
}

static void *
worker(void *arg)
{
	for (int i = 0; i < 100; i++)
		free(malloc((size_t)i + 1));
	return arg;
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	leak_once();
	if (!strcmp(mode, "keys")) {
		pthread_key_t k;
		int n = 0;
		while (n < 100000 && pthread_key_create(&k, NULL) == 0)
			n++;
		printf("keys %d\n", n);
	} else if (!strcmp(mode, "tls")) {
		int n = 0;
		dl_iterate_phdr(count_tls, &n);
		printf("tls %d\n", n);
	} else if (!strcmp(mode, "fds")) {
		DIR *d = opendir("/proc/self/fd");
		int self = d ? dirfd(d) : -1;
		struct dirent *e;
		printf("fds");
		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.' && atoi(e->d_name) != self)
				printf(" %s", e->d_name);
		printf("\n");
		if (d)
			closedir(d);
	} else if (!strcmp(mode, "threads")) {
		for (int i = 0; i < 30; i++) {
			pthread_t t;
			if (pthread_create(&t, NULL, worker, NULL) != 0 || pthread_join(t, NULL) != 0)
				return 3;
		}
		printf("threads ok\n");
	} else {
		return 2;
	}
	return 0;
}
