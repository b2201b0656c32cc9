/* test_alloc_log.c - the allocation logs against a reference, with
 * threads: each owns blocks it allocates, frees some itself and hands
 * others to a neighbour to free (the locked path), while a reader thread
 * visits the logs over and over; threads exit and new ones take their
 * logs over.  Every block carries a real header in front of it, as under
 * the shim.
 *
 * Truth: a per-block "live" flag kept by the test itself.  After each
 * phase, the visited entries must be exactly the live blocks, with their
 * sizes and stacks; every live block's header must name an entry that
 * holds it (compaction rewrites them); counters must add up. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/bootstrap.h"
#include "record/alloc_log.h"
#include "record/block_header.h"
#include "unit.h"

#define THREADS 4
#define PER_THREAD 30000
#define ROUNDS 3

struct block {
	char *base;
	uint32_t size, stack;
	int live; /* 1 while allocated */
};

static struct block blocks[ROUNDS][THREADS][PER_THREAD];
static int round_now;
static volatile int reader_stop;
static uint64_t reader_passes, reader_bad;

/* Handed from thread t to thread t+1 to free. */
static struct {
	pthread_mutex_t lock;
	int n;
	struct block *b[PER_THREAD];
} mailbox[THREADS];

static void *
user_of(struct block *b)
{
	return b->base + LP_HEADER_SIZE;
}

static void
forget(struct block *b)
{
	struct lp_alloc_log_entry e;
	void *p = user_of(b);
	CHECK(lp_has_header(p));
	CHECK(lp_alloc_log_forget(p, &e));
	CHECK(e.ptr == (uintptr_t)p && e.size == b->size && e.stack == b->stack);
	lp_header_clear(p);
	b->live = 0;
	free(b->base);
	b->base = NULL;
}

static void
drain_mailbox(int t)
{
	pthread_mutex_lock(&mailbox[t].lock);
	for (int i = 0; i < mailbox[t].n; i++)
		forget(mailbox[t].b[i]);
	mailbox[t].n = 0;
	pthread_mutex_unlock(&mailbox[t].lock);
}

static void *
worker(void *arg)
{
	int t = (int)(intptr_t)arg;
	unsigned seed = (unsigned)(t * 7919 + round_now * 104729 + 1);
	struct block *mine = blocks[round_now][t];

	for (int i = 0; i < PER_THREAD; i++) {
		struct block *b = &mine[i];
		b->size = (uint32_t)(rand_r(&seed) % 300);
		b->stack = (uint32_t)(t * PER_THREAD + i + 1);
		b->base = malloc(b->size + LP_HEADER_SIZE);
		CHECK(lp_alloc_log_add(user_of(b), b->size, b->stack));
		b->live = 1;
		/* free some of what this thread made: itself, or by the
		 * neighbour */
		int r = rand_r(&seed) % 10;
		if (r < 5) {
			struct block *old = &mine[rand_r(&seed) % (i + 1)];
			if (old->live == 1) {
				old->live = 2; /* claimed */
				forget(old);
			}
		} else if (r < 7) {
			struct block *old = &mine[rand_r(&seed) % (i + 1)];
			int to = (t + 1) % THREADS;
			if (old->live == 1) {
				old->live = 2;
				pthread_mutex_lock(&mailbox[to].lock);
				mailbox[to].b[mailbox[to].n++] = old;
				pthread_mutex_unlock(&mailbox[to].lock);
			}
		}
		if (i % 64 == 0)
			drain_mailbox(t);
	}
	return NULL;
}

struct tally {
	uint64_t blocks, bytes, bad;
};

/* While threads run, a visited block may be freed at any moment (reports
 * never read the blocks): only the entries themselves are checked. */
static void
count_entry(const struct lp_alloc_log_entry *e, void *arg)
{
	struct tally *t = arg;
	t->blocks++;
	t->bytes += e->size;
	if (!e->ptr || e->size >= 300 || !e->stack)
		t->bad++;
}

/* With every thread stopped: each entry's block still has its header
 * (check_against_truth looks each one up). */
static void
check_entry(const struct lp_alloc_log_entry *e, void *arg)
{
	count_entry(e, arg);
	if (!lp_has_header((const void *)e->ptr))
		((struct tally *)arg)->bad++;
}

static void *
reader(void *arg)
{
	(void)arg;
	while (!reader_stop) {
		struct tally t = { 0 };
		struct lp_heap_totals totals = { 0 };
		lp_alloc_log_visit(count_entry, &t, &totals);
		reader_bad += t.bad;
		reader_passes++;
	}
	return NULL;
}

static void
check_against_truth(void)
{
	uint64_t want_blocks = 0, want_bytes = 0, headers_ok = 0, lookups_ok = 0;
	for (int r = 0; r <= round_now; r++)
		for (int t = 0; t < THREADS; t++)
			for (int i = 0; i < PER_THREAD; i++) {
				struct block *b = &blocks[r][t][i];
				if (!b->live)
					continue;
				want_blocks++;
				want_bytes += b->size;
				struct lp_alloc_log_entry e;
				headers_ok += lp_has_header(user_of(b));
				lookups_ok += lp_alloc_log_lookup(user_of(b), &e) &&
					      e.ptr == (uintptr_t)user_of(b) &&
					      e.size == b->size && e.stack == b->stack;
			}
	struct tally got = { 0 };
	struct lp_heap_totals totals = { 0 };
	lp_alloc_log_visit(check_entry, &got, &totals);
	CHECK(got.blocks == want_blocks);
	CHECK(got.bytes == want_bytes);
	CHECK(got.bad == 0);
	CHECK(headers_ok == want_blocks);
	CHECK(lookups_ok == want_blocks);
	CHECK(totals.live_blocks == want_blocks);
	CHECK(totals.allocs - totals.frees == want_blocks);
	/* Compaction keeps a log within about twice its live entries, plus
	 * a page per log. */
	CHECK(totals.table_bytes <= 3 * 16 * want_blocks + 64 * 4096);
	printf("round %d: %lu live blocks, %lu table bytes\n", round_now,
	       (unsigned long)want_blocks, (unsigned long)totals.table_bytes);
}

int
main(void)
{
	lp_real.free = free;
	for (int t = 0; t < THREADS; t++)
		pthread_mutex_init(&mailbox[t].lock, NULL);
	CHECK(lp_alloc_log_init());

	pthread_t rd;
	pthread_create(&rd, NULL, reader, NULL);
	/* Each round's threads exit; the next round's take their logs over
	 * (live entries included) from the pool. */
	for (round_now = 0; round_now < ROUNDS; round_now++) {
		pthread_t th[THREADS];
		for (int t = 0; t < THREADS; t++)
			pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
		for (int t = 0; t < THREADS; t++)
			pthread_join(th[t], NULL);
		for (int t = 0; t < THREADS; t++)
			drain_mailbox(t); /* remote frees of pooled logs */
		check_against_truth();
	}
	reader_stop = 1;
	pthread_join(rd, NULL);
	CHECK(reader_bad == 0);
	CHECK(reader_passes > 0);

	/* A block forgotten twice, and one that was never added, are
	 * refused. */
	char *base = malloc(64 + LP_HEADER_SIZE);
	void *p = base + LP_HEADER_SIZE;
	struct lp_alloc_log_entry e;
	CHECK(lp_alloc_log_add(p, 64, 7));
	CHECK(lp_alloc_log_forget(p, &e) && e.size == 64);
	CHECK(!lp_alloc_log_forget(p, &e));
	lp_header_clear(p);
	CHECK(!lp_has_header(p));
	free(base);
	UNIT_DONE();
}
