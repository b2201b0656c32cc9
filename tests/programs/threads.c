/* threads.c - 8 threads leak at once, each at its own function and depth.
 *
 * Thread i (0..7) recurses i times in leak_t<i>() and then leaks i+1
 * blocks of 16*(i+1) bytes there, while churning malloc/free.  Ground
 * truth by function: leak_t<i>: i+1 blocks, (i+1)*16*(i+1) bytes; the
 * facts leak_t<i>_frames = i+1 (frames of leak_t<i> in the stack).
 *
 * argv[1] == "wait": once every thread churns, print "churning" and keep
 * them churning until a line arrives on stdin (the test sends report
 * signals meanwhile); only then do they leak.  Checkpoint "churning": no
 * leak of leak_t<i> exists yet. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "truth.h"

#define NTHREADS 8

static pthread_barrier_t barrier, started;
static volatile int keep_churning;
static void *volatile sink;
static int lines[NTHREADS];

static void
churn(int seed)
{
	for (int k = 0; k < 20000; k++) {
		void *p = malloc((size_t)((k * 7 + seed) % 500) + 1);
		void *q = calloc(1, (size_t)(k % 64) + 1);
		p = realloc(p, (size_t)(k % 300) + 1);
		free(q);
		free(p);
	}
}

#define LEAKER(i)                                                              \
	__attribute__((noinline)) static void leak_t##i(int depth)             \
	{                                                                      \
		if (depth > 0) {                                               \
			leak_t##i(depth - 1);                                  \
			return;                                                \
		}                                                              \
		for (int k = 0; k < (i) + 1; k++) {                            \
			sink = malloc(16 * ((i) + 1)); lines[i] = __LINE__;     \
		}                                                              \
	}
LEAKER(0) LEAKER(1) LEAKER(2) LEAKER(3) LEAKER(4) LEAKER(5) LEAKER(6) LEAKER(7)

static void (*const leakers[NTHREADS])(int) = {
	leak_t0, leak_t1, leak_t2, leak_t3, leak_t4, leak_t5, leak_t6, leak_t7,
};
static const char *const names[NTHREADS] = {
	"leak_t0", "leak_t1", "leak_t2", "leak_t3", "leak_t4", "leak_t5", "leak_t6", "leak_t7",
};
static const char *const frame_facts[NTHREADS] = {
	"leak_t0_frames", "leak_t1_frames", "leak_t2_frames", "leak_t3_frames",
	"leak_t4_frames", "leak_t5_frames", "leak_t6_frames", "leak_t7_frames",
};

static void *
thread_main(void *arg)
{
	int i = (int)(long)arg;
	pthread_barrier_wait(&barrier); /* all eight allocate at the same time */
	churn(i);
	pthread_barrier_wait(&started);
	while (__atomic_load_n(&keep_churning, __ATOMIC_ACQUIRE))
		churn(i + 1000);
	leakers[i](i);
	churn(i + 100);
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t t[NTHREADS];
	int wait = argc > 1 && strcmp(argv[1], "wait") == 0;

	keep_churning = wait;
	pthread_barrier_init(&barrier, NULL, NTHREADS);
	pthread_barrier_init(&started, NULL, NTHREADS + 1);
	for (long i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, thread_main, (void *)i) != 0)
			return 2;
	pthread_barrier_wait(&started);
	if (wait) {
		char c = 0;
		truth_checkpoint("churning");
		(void)!write(1, "churning\n", 9);
		while (c != '\n')
			if (read(0, &c, 1) <= 0)
				break;
		__atomic_store_n(&keep_churning, 0, __ATOMIC_RELEASE);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < NTHREADS; i++) {
		unsigned long n = (unsigned long)i + 1;
		/* The same line in every leak_t<i>: the macro's. */
		truth_leak_at(names[i], n, n * 16 * n, lines[i]);
		truth_fact(frame_facts[i], i + 1);
	}
	truth_write();
	return 0;
}
