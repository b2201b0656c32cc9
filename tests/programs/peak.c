/* peak.c - a program that knows its own peak heap by construction.
 *
 * Every allocation goes through helpers that keep the bytes the program
 * has asked for and not freed (own_live) and their maximum (own_peak).
 * The work is in phases; each phase ends with everything it allocated
 * freed, and is framed by leakprobe_report() calls with labels:
 *
 *   "pre:NAME"   taken where nothing but this program's own calls changes
 *                the heap until the phase's peak (no thread is created,
 *                no stdio): the report's live_bytes there, less own_live,
 *                is the heap of others (libc, ld.so) at the peak;
 *   "end:NAME"   after the phase: its peak_bytes must be that plus the
 *                phase's own peak.
 *
 * Each phase climbs at least 1 MiB higher than every phase before it, so
 * each "end:" report's process-wide peak is that phase's.  Facts
 * (truth.h): NAME.own_pre, NAME.own_peak (own bytes at "pre:" and the
 * highest after it), NAME.threads (threads that changed the heap while
 * the peak was reached, this one included: 1 means the peak must be
 * exact).  Phases:
 *
 *   single      one thread: malloc, calloc, realloc up and down (across
 *               LEAKPROBE_LARGE, so between headered and headerless
 *               blocks), posix_memalign, aligned_alloc, small and large
 *               blocks; the peak is reached by a realloc that crosses the
 *               large threshold;
 *   handoff     100 rounds of: a new thread (or, every other round, this
 *               one) allocates ~2 MB in blocks of many sizes; another new
 *               thread frees them all, in reverse order, and ends (as in a
 *               thread-per-request server).  Then this thread alone climbs
 *               higher: exact again;
 *   concurrent  4 threads, held together by barriers, allocate 1.5-2.1 MB
 *               each and wait: the peak is their sum, reached while 4
 *               threads (and this one) hold changes of their own;
 *   fork        a thread allocates 40 000 bytes (a change it has not
 *               published) and waits; this thread forks; the child, alone,
 *               climbs 1 MiB above everything before and states its peak
 *               in $LP_TRUTH.child: exact (the parent's phases end before).
 *
 * Built with -DLEAKPROBE_WEAK_API: runs without the shim too. */
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <leakprobe.h>

#include "truth.h"

static size_t own_live, own_peak;
static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;

static void
own_change(size_t plus, size_t minus)
{
	pthread_mutex_lock(&own_lock);
	own_live = own_live + plus - minus;
	if (own_live > own_peak)
		own_peak = own_live;
	pthread_mutex_unlock(&own_lock);
}

static void *
p_malloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		abort();
	own_change(n, 0);
	return p;
}

static void *
p_calloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p)
		abort();
	own_change(n * size, 0);
	return p;
}

static void *
p_realloc(void *p, size_t old, size_t n)
{
	void *q = realloc(p, n);
	if (!q)
		abort();
	memset(q, 0x5a, n < 64 ? n : 64);
	own_change(n, old);
	return q;
}

static void *
p_memalign(size_t align, size_t n)
{
	void *p;
	if (posix_memalign(&p, align, n) != 0)
		abort();
	own_change(n, 0);
	return p;
}

static void *
p_aligned(size_t align, size_t n)
{
	void *p = aligned_alloc(align, n);
	if (!p)
		abort();
	own_change(n, 0);
	return p;
}

static void
p_free(void *p, size_t n)
{
	free(p);
	own_change(0, n);
}

static char labels[8][64];
static int nlabels;
static char fact_names[16][64]; /* truth.h keeps the pointers */
static int nfacts;

static const char *
fact_name(const char *phase, const char *what)
{
	char *f = fact_names[nfacts++ % 16];
	snprintf(f, 64, "%s.%s", phase, what);
	return f;
}

static void
report(const char *what, const char *phase)
{
	if (!leakprobe_report)
		return;
	char *l = labels[nlabels++ % 8];
	snprintf(l, 64, "%s:%s", what, phase);
	leakprobe_report(l);
}

/* "pre:": own bytes now, and the peak from here on is what counts. */
static void
phase_pre(const char *name)
{
	report("pre", name);
	pthread_mutex_lock(&own_lock);
	own_peak = own_live;
	pthread_mutex_unlock(&own_lock);
	truth_fact(fact_name(name, "own_pre"), (double)own_live);
}

static void
phase_end(const char *name, int threads)
{
	truth_fact(fact_name(name, "own_peak"), (double)own_peak);
	truth_fact(fact_name(name, "threads"), threads);
	report("end", name);
}

/* --- single ------------------------------------------------------------- */

static void
phase_single(void)
{
	void *small[1000];

	phase_pre("single");
	char *a = p_malloc(100000);
	char *b = p_calloc(1000, 300);
	char *c = p_malloc(1500000); /* above the default LEAKPROBE_LARGE */
	a = p_realloc(a, 100000, 700000);
	char *d = p_memalign(64, 200000);
	char *e = p_aligned(4096, 40960);
	for (int i = 0; i < 1000; i++)
		small[i] = p_malloc(37 + i % 50);
	for (int i = 0; i < 1000; i += 2)
		p_free(small[i], 37 + i % 50);
	/* The peak: a headered block grows past the large threshold. */
	a = p_realloc(a, 700000, 1300000);
	c = p_realloc(c, 1500000, 900000);
	b = p_realloc(b, 300000, 50);
	d = p_realloc(d, 200000, 100);
	for (int i = 1; i < 1000; i += 2)
		p_free(small[i], 37 + i % 50);
	p_free(a, 1300000);
	p_free(b, 50);
	p_free(c, 900000);
	p_free(d, 100);
	p_free(e, 40960);
	phase_end("single", 1);
}

/* --- handoff ------------------------------------------------------------ */

#define HANDOFF_BLOCKS 1200
static void *handoff_block[HANDOFF_BLOCKS];
static size_t handoff_size[HANDOFF_BLOCKS];
static unsigned handoff_round;

static void *
handoff_alloc(void *arg)
{
	(void)arg;
	for (int i = 0; i < HANDOFF_BLOCKS; i++) {
		/* 16 bytes to 2 KiB, and every 97th block 64 KiB + a bit. */
		size_t n = i % 97 == 0 ? 65536 + 16 * handoff_round
				       : 16 + (i * 37 + handoff_round * 11) % 2033;
		handoff_size[i] = n;
		handoff_block[i] = i % 3 == 0 ? p_calloc(1, n) : p_malloc(n);
	}
	return NULL;
}

static void *
handoff_free(void *arg)
{
	(void)arg;
	for (int i = HANDOFF_BLOCKS - 1; i >= 0; i--)
		p_free(handoff_block[i], handoff_size[i]);
	return NULL;
}

static void
run_thread(void *(*fn)(void *))
{
	pthread_t t;
	if (pthread_create(&t, NULL, fn, NULL) != 0 || pthread_join(t, NULL) != 0)
		abort();
}

static void
phase_handoff(size_t above)
{
	for (handoff_round = 0; handoff_round < 100; handoff_round++) {
		/* Odd rounds: this thread allocates (it lives on, as a
		 * server's accepting thread does). */
		if (handoff_round % 2)
			handoff_alloc(NULL);
		else
			run_thread(handoff_alloc);
		run_thread(handoff_free);
	}
	/* Climb alone: the threads above are gone. */
	phase_pre("handoff");
	size_t n = above + (1 << 20);
	void *big[8];
	for (int i = 0; i < 8; i++)
		big[i] = p_malloc(n / 8 + 1000);
	for (int i = 0; i < 8; i++)
		p_free(big[i], n / 8 + 1000);
	phase_end("handoff", 1);
}

/* --- concurrent --------------------------------------------------------- */

#define WORKERS 4
static pthread_barrier_t gate;

static void *
worker(void *arg)
{
	intptr_t k = (intptr_t)arg;
	size_t n = 1500000 + 200000 * (size_t)k, have = 0;
	void **blocks = NULL;
	size_t nblocks = 0;

	pthread_barrier_wait(&gate); /* after "pre:" */
	/* Blocks of 100 bytes to 9 KB, their list itself one of them. */
	blocks = p_malloc(4096 * sizeof(void *));
	have = 4096 * sizeof(void *);
	size_t sizes[4096];
	while (have < n && nblocks < 4096) {
		size_t s = 100 + (nblocks * 131 + (size_t)k * 7) % 9000;
		if (have + s > n)
			s = n - have;
		blocks[nblocks] = p_malloc(s);
		sizes[nblocks++] = s;
		have += s;
	}
	pthread_barrier_wait(&gate); /* everyone at the peak */
	for (size_t i = 0; i < nblocks; i++)
		p_free(blocks[i], sizes[i]);
	p_free(blocks, 4096 * sizeof(void *));
	return NULL;
}

static void
phase_concurrent(void)
{
	pthread_t t[WORKERS];
	pthread_barrier_init(&gate, NULL, WORKERS + 1);
	for (intptr_t k = 0; k < WORKERS; k++)
		if (pthread_create(&t[k], NULL, worker, (void *)k) != 0)
			abort();
	phase_pre("concurrent"); /* the workers wait at the gate */
	pthread_barrier_wait(&gate); /* go */
	pthread_barrier_wait(&gate); /* all at the peak: now they free */
	for (int k = 0; k < WORKERS; k++)
		pthread_join(t[k], NULL);
	phase_end("concurrent", WORKERS + 1);
}

/* --- fork --------------------------------------------------------------- */

static pthread_barrier_t pair;

static void *
fork_worker(void *arg)
{
	(void)arg;
	void *p = p_malloc(40000); /* a change it has not published */
	pthread_barrier_wait(&pair);
	pthread_barrier_wait(&pair); /* forked */
	p_free(p, 40000);
	return NULL;
}

static void
phase_fork(size_t above)
{
	pthread_t t;
	pthread_barrier_init(&pair, NULL, 2);
	if (pthread_create(&t, NULL, fork_worker, NULL) != 0)
		abort();
	pthread_barrier_wait(&pair);
	pid_t pid = fork();
	if (pid == 0) {
		/* The worker's block came along; the worker did not. */
		phase_pre("fork");
		size_t n = above + (1 << 20) - own_live;
		void *big = p_malloc(n);
		p_free(big, n);
		phase_end("fork", 1);
		truth_write_tag("child");
		_exit(0);
	}
	pthread_barrier_wait(&pair);
	pthread_join(t, NULL);
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		abort();
}

int
main(void)
{
	phase_single();
	/* Each phase climbs 1 MiB above the one before: its peak is the
	 * process's. */
	size_t single_peak = own_peak;
	phase_handoff(single_peak);
	if (own_peak < single_peak + (1 << 20) || own_peak + (1 << 20) > 7500000)
		abort(); /* the construction below relies on it */
	phase_concurrent();
	phase_fork(own_peak);
	truth_write();
	return 0;
}
