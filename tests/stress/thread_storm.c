/* thread_storm.c - waves of short-lived threads.
 *
 * usage: thread_storm [waves=150] [per-wave=16]
 *
 * Each wave starts per-wave threads, half joinable and half detached.
 * Each thread churns a little, keeps a block in a pthread_key whose
 * destructor frees it at thread exit, leaks one 33-byte block from
 * thread_leak(), and ends by returning or by pthread_exit().  The main
 * thread waits for the detached ones with a counter, and sends the process
 * SIGUSR1 every 10 waves (a no-op handler without the shim: a report each
 * with it).
 *
 * Ground truth (truth.h): thread_leak leaks waves * per-wave x 33 B. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "truth.h"

static void
on_usr1(int sig)
{
	(void)sig;
}

static pthread_key_t key;
static void *volatile sink;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int detached_running;
static unsigned long checksum;

static void
key_destructor(void *p)
{
	free(p);
}

__attribute__((noinline)) static void
thread_leak(void)
{
	sink = malloc(33);
}

static void *
body(void *arg)
{
	long id = (long)arg;
	unsigned long sum = 0;
	void *p[32];

	pthread_setspecific(key, malloc(64 + (size_t)(id % 100)));
	for (int r = 0; r < 8; r++) {
		for (int i = 0; i < 32; i++) {
			p[i] = calloc(1, 1 + (size_t)((id * 31 + i * 7 + r) % 900));
			sum += ((unsigned char *)p[i])[0];
		}
		for (int i = 0; i < 32; i++)
			free(p[i]);
	}
	thread_leak();
	pthread_mutex_lock(&mu);
	checksum += sum + 1;
	pthread_mutex_unlock(&mu);
	if (id & 2)
		pthread_exit(NULL);
	return NULL;
}

static void
detached_done(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	if (--detached_running == 0)
		pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

static void *
detached_entry(void *arg)
{
	void *ret;
	/* Runs on return and on pthread_exit() inside body() alike. */
	pthread_cleanup_push(detached_done, NULL);
	ret = body(arg);
	pthread_cleanup_pop(1);
	return ret;
}

int
main(int argc, char **argv)
{
	int waves = argc > 1 ? atoi(argv[1]) : 150;
	int per = argc > 2 ? atoi(argv[2]) : 16;
	pthread_t *t = calloc((size_t)per, sizeof(*t));
	pthread_attr_t det;

	/* A no-op handler, not SIG_IGN: an ignored report signal stays
	 * ignored under the shim, a handled one is chained to. */
	signal(SIGUSR1, on_usr1);
	pthread_key_create(&key, key_destructor);
	pthread_attr_init(&det);
	pthread_attr_setdetachstate(&det, PTHREAD_CREATE_DETACHED);

	for (int w = 0; w < waves; w++) {
		for (int i = 0; i < per; i++) {
			long id = (long)w * per + i;
			if (i & 1) {
				pthread_mutex_lock(&mu);
				detached_running++;
				pthread_mutex_unlock(&mu);
				if (pthread_create(&t[i], &det, detached_entry, (void *)id) != 0)
					return 3;
			} else if (pthread_create(&t[i], NULL, body, (void *)id) != 0) {
				return 3;
			}
		}
		for (int i = 0; i < per; i += 2)
			pthread_join(t[i], NULL);
		pthread_mutex_lock(&mu);
		while (detached_running)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
		if (w % 10 == 5)
			kill(getpid(), SIGUSR1);
	}
	truth_leak("thread_leak", (unsigned long)waves * per, 33ul * waves * per);
	printf("threads %d checksum %lu\n", waves * per, checksum);
	free(t);
	truth_write();
	return 0;
}
