/* storm.c - threads x random malloc-family calls, forks from the worker
 * threads mid-storm, SIGUSR1 sent to the process during the storm.
 *
 * usage: storm [threads=8] [ops=200000] [signals=25] [forks-per-thread=2]
 *
 * Each worker keeps 256 slots and, driven by its own deterministic PRNG,
 * allocates (malloc, calloc, realloc(NULL), posix_memalign, aligned_alloc;
 * 1 B - 2 KiB, one in 20000 is 64 MiB), reallocs or frees them.  Every
 * block carries a pattern that is checked when it is realloc'ed (content
 * kept) or freed, so a shim that corrupts user memory changes the output.
 *
 * Thread 0 sends SIGUSR1 to the process (kill, like `kill -USR1 PID`) at
 * evenly spaced points of its storm; the main thread blocks it, so the
 * kernel delivers it to the allocating workers.  The program's own
 * SIGUSR1 handler counts them (the shim must chain to it).
 *
 * Each worker forks at evenly spaced points; the child (one thread, in the
 * middle of someone else's storm) allocates, frees, leaks 3 x 100 B from
 * child_leak(), writes its ground truth to $LP_TRUTH.<pid> and exit()s,
 * which writes its own report.  The worker waits for it.
 *
 * Ground truth (truth.h): worker t leaks 3 + t blocks of 100 + t bytes from
 * storm_leak().  stdout is identical with and without the shim; stderr
 * gets "usr1 N" (signals handled). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "truth.h"

#define NSLOTS 256
#define HUGE_SIZE (64u << 20)

struct slot {
	unsigned char *p;
	size_t size;
	unsigned char tag;
};

struct worker {
	int id;
	pthread_t thread;
	uint64_t rng;
	struct slot slots[NSLOTS];
	unsigned long allocs, frees, reallocs, huge, checksum, bad;
	int forks, forks_ok;
};

static int nthreads = 8, nsignals = 25, forks_per_thread = 2;
static long nops = 200000;
static volatile sig_atomic_t usr1_handled;
static void *volatile sink;

static void
on_usr1(int sig)
{
	(void)sig;
	usr1_handled++;
}

static uint64_t
next(struct worker *w)
{
	/* xorshift64*: deterministic per worker */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545F4914F6CDD1Dull;
}

static void
fill(struct slot *s)
{
	size_t n = s->size < 32 ? s->size : 32;
	for (size_t k = 0; k < n; k++)
		s->p[k] = (unsigned char)(s->tag + k);
	s->p[s->size - 1] = (unsigned char)(s->tag ^ 0x5a);
}

/* Check the first min(size, upto) bytes (and the last byte when whole). */
static void
verify(struct worker *w, struct slot *s, size_t upto)
{
	size_t n = s->size < 32 ? s->size : 32;
	if (n > upto)
		n = upto;
	for (size_t k = 0; k < n; k++) {
		w->checksum = w->checksum * 31 + s->p[k];
		if (s->p[k] != (unsigned char)(s->tag + k) && !(k == s->size - 1))
			w->bad++;
	}
	if (upto >= s->size && s->p[s->size - 1] != (unsigned char)(s->tag ^ 0x5a))
		w->bad++;
}

static size_t
pick_size(struct worker *w)
{
	if (next(w) % 20000 == 0) {
		w->huge++;
		return HUGE_SIZE;
	}
	return 1 + next(w) % 2048;
}

static void
allocate(struct worker *w, struct slot *s)
{
	static const size_t aligns[] = { 8, 16, 32, 64, 128, 256, 4096 };
	size_t size = pick_size(w);
	size_t align = aligns[next(w) % 7];
	void *p = NULL;

	switch (next(w) % 5) {
	case 0:
		p = malloc(size);
		break;
	case 1: {
		size_t n = size % 7 == 0 ? 7 : 1;
		unsigned char *c = calloc(n, size / n);
		size = n * (size / n);
		if (c)
			for (size_t k = 0; k < size; k += size > 4096 ? 4093 : 1)
				if (c[k])
					w->bad++;
		p = c;
		break;
	}
	case 2:
		p = realloc(NULL, size);
		break;
	case 3:
		if (posix_memalign(&p, align, size) != 0)
			p = NULL;
		if (p && ((uintptr_t)p & (align - 1)))
			w->bad++;
		break;
	case 4:
		size = (size + align - 1) / align * align;
		p = aligned_alloc(align, size);
		if (p && ((uintptr_t)p & (align - 1)))
			w->bad++;
		break;
	}
	if (!p) {
		w->bad++;
		return;
	}
	s->p = p;
	s->size = size;
	s->tag = (unsigned char)next(w);
	fill(s);
	w->allocs++;
}

static void
release(struct worker *w, struct slot *s)
{
	verify(w, s, SIZE_MAX);
	free(s->p);
	s->p = NULL;
	w->frees++;
}

static void
resize(struct worker *w, struct slot *s)
{
	size_t size = pick_size(w);
	verify(w, s, SIZE_MAX);
	unsigned char *q = realloc(s->p, size);
	if (!q) {
		w->bad++;
		return;
	}
	s->p = q;
	size_t old = s->size;
	s->size = size;
	verify(w, s, old < size ? old - 1 : size - 1); /* content kept */
	fill(s);
	w->reallocs++;
}

__attribute__((noinline)) static void
child_leak(void)
{
	for (int i = 0; i < 3; i++)
		sink = malloc(100);
}

/* In the forked child: one thread, the others' storm frozen mid-flight. */
static void
child_work(struct worker *w)
{
	void *keep[200];
	for (int k = 0; k < 200; k++)
		keep[k] = malloc(1 + (size_t)k * 7 % 500);
	for (int k = 0; k < 200; k++)
		free(keep[k]);
	/* The blocks inherited from this worker are ours to free. */
	for (int i = 0; i < NSLOTS; i++)
		if (w->slots[i].p)
			release(w, &w->slots[i]);
	child_leak();

	char path[4096];
	const char *t = getenv("LP_TRUTH");
	if (t) {
		snprintf(path, sizeof(path), "%s.%d", t, (int)getpid());
		FILE *f = fopen(path, "w");
		if (f) {
			fprintf(f, "{\"leaks\": [{\"function\": \"child_leak\", \"blocks\": 3, \"bytes\": 300}]}\n");
			fclose(f);
		}
	}
	exit(0);
}

static void
do_fork(struct worker *w)
{
	pid_t pid = fork();
	if (pid == 0)
		child_work(w);
	w->forks++;
	if (pid < 0)
		return;
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		w->forks_ok++;
	else
		fprintf(stderr, "child %d of worker %d: status 0x%x\n", (int)pid, w->id, st);
}

__attribute__((noinline)) static void
storm_leak(struct worker *w)
{
	for (int i = 0; i < 3 + w->id; i++)
		sink = malloc(100 + (size_t)w->id);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	long sig_every = nsignals ? nops / (nsignals + 1) : 0;
	long fork_every = forks_per_thread ? nops / (forks_per_thread + 1) : 0;
	int sent = 0, forked = 0;

	for (long op = 1; op <= nops; op++) {
		struct slot *s = &w->slots[next(w) % NSLOTS];
		if (!s->p)
			allocate(w, s);
		else if (next(w) % 3 == 0)
			resize(w, s);
		else
			release(w, s);
		if (w->id == 0 && sig_every && op % sig_every == 0 && sent < nsignals) {
			kill(getpid(), SIGUSR1);
			sent++;
		}
		if (fork_every && op % fork_every == 0 && forked < forks_per_thread) {
			do_fork(w);
			forked++;
		}
	}
	for (int i = 0; i < NSLOTS; i++)
		if (w->slots[i].p)
			release(w, &w->slots[i]);
	storm_leak(w);
	return NULL;
}

int
main(int argc, char **argv)
{
	if (argc > 1)
		nthreads = atoi(argv[1]);
	if (argc > 2)
		nops = atol(argv[2]);
	if (argc > 3)
		nsignals = atoi(argv[3]);
	if (argc > 4)
		forks_per_thread = atoi(argv[4]);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);

	struct worker *ws = calloc((size_t)nthreads, sizeof(*ws));
	fflush(stdout); /* nothing buffered for the children to flush again */
	for (int t = 0; t < nthreads; t++) {
		ws[t].id = t;
		ws[t].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(t + 1);
		pthread_create(&ws[t].thread, NULL, worker_main, &ws[t]);
	}
	/* Workers inherited an open mask; the main thread now refuses
	 * SIGUSR1 so it lands in the middle of allocations. */
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);

	unsigned long leaked_blocks = 0, leaked_bytes = 0;
	int forks = 0, forks_ok = 0;
	/* Print only once every worker is done: a child forked meanwhile
	 * would flush a copy of anything buffered. */
	for (int t = 0; t < nthreads; t++)
		pthread_join(ws[t].thread, NULL);
	for (int t = 0; t < nthreads; t++) {
		struct worker *w = &ws[t];
		printf("worker %d: allocs %lu frees %lu reallocs %lu huge %lu checksum %016lx bad %lu\n",
		       t, w->allocs, w->frees, w->reallocs, w->huge, w->checksum, w->bad);
		forks += w->forks;
		forks_ok += w->forks_ok;
		leaked_blocks += 3 + (unsigned long)t;
		leaked_bytes += (3ul + (unsigned long)t) * (100ul + (unsigned long)t);
	}
	truth_leak("storm_leak", leaked_blocks, leaked_bytes);
	printf("forks %d ok %d\n", forks, forks_ok);
	printf("leaked %lu blocks %lu bytes\n", leaked_blocks, leaked_bytes);
	fprintf(stderr, "usr1 %d\n", (int)usr1_handled);
	free(ws);
	truth_write();
	return 0;
}
