/* dl_storm.c - threads dlopen, call and dlclose plugins in a loop.
 *
 * usage: dl_storm threads iterations plugin_a.so [plugin_b.so]
 *
 * With two plugins, each thread alternates between them, so an unloaded
 * plugin's addresses are likely reused by the other.  Every call leaks a
 * known number of blocks from the plugin's leak function (plugin.c).
 * Meanwhile the main thread sends itself SIGUSR1 every 50 ms (the program
 * has a no-op handler for it): reports symbolize while modules come and
 * go.
 *
 * Ground truth (truth.h): leak_in_plugin_a / leak_in_plugin_b, summed from
 * what plugin_run() said it leaked.  stdout: loads and leaks per plugin. */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "truth.h"

static void
on_usr1(int sig)
{
	(void)sig;
}

static const char *paths[2];
static int nplugins = 1, iterations = 300;
static unsigned long loads[2], blocks[2], bytes[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int done;

static void *
worker(void *arg)
{
	long id = (long)arg;
	for (int i = 0; i < iterations; i++) {
		int which = nplugins == 2 ? (int)((i + id) & 1) : 0;
		void *h = dlopen(paths[which], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			fprintf(stderr, "dlopen: %s\n", dlerror());
			exit(3);
		}
		unsigned long (*run)(int, unsigned long *) =
			(unsigned long (*)(int, unsigned long *))dlsym(h, "plugin_run");
		unsigned long nb = 0, n = run(i, &nb);
		pthread_mutex_lock(&mu);
		loads[which]++;
		blocks[which] += nb;
		bytes[which] += n;
		pthread_mutex_unlock(&mu);
		if (dlclose(h) != 0) {
			fprintf(stderr, "dlclose: %s\n", dlerror());
			exit(3);
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	int nthreads = atoi(argv[1]);
	iterations = atoi(argv[2]);
	paths[0] = argv[3];
	if (argc > 4) {
		paths[1] = argv[4];
		nplugins = 2;
	}
	/* A no-op handler, not SIG_IGN: an ignored report signal stays
	 * ignored under the shim, a handled one is chained to. */
	signal(SIGUSR1, on_usr1);

	pthread_t *t = calloc((size_t)nthreads, sizeof(*t));
	for (long i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	/* Report signals while plugins come and go (joins below). */
	int sent = 0;
	for (;;) {
		int running = 0;
		pthread_mutex_lock(&mu);
		running = loads[0] + loads[1] < (unsigned long)nthreads * iterations;
		pthread_mutex_unlock(&mu);
		if (!running || sent >= 40)
			break;
		kill(getpid(), SIGUSR1);
		sent++;
		struct timespec ts = { 0, 50 * 1000000 };
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	free(t);
	truth_leak("leak_in_plugin_a", blocks[0], bytes[0]);
	if (nplugins == 2)
		truth_leak("leak_in_plugin_b", blocks[1], bytes[1]);
	printf("plugin a: %lu loads, %lu blocks, %lu bytes leaked\n", loads[0], blocks[0], bytes[0]);
	if (nplugins == 2)
		printf("plugin b: %lu loads, %lu blocks, %lu bytes leaked\n", loads[1], blocks[1], bytes[1]);
	fprintf(stderr, "signals sent %d\n", sent);
	truth_write();
	return 0;
}
