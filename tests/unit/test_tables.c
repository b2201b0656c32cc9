/* test_tables.c - the live block table and the address map under random
 * operations, against a plain reference array. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/addrmap.h"
#include "core/clock.h"
#include "core/guard.h"
#include "record/heap_table.h"
#include "record/stackdepot.h"
#include "unit.h"

#define N 20000

static uintptr_t keys[N];
static uint64_t sizes[N];
static uint64_t inserted_ns[N];
static bool live[N];

struct visited {
	uint64_t blocks, bytes, wrong;
};

/* Every visited block must be live in the reference, with its size. */
static void
visit_block(const struct lp_block *b, void *arg)
{
	struct visited *v = arg;
	v->blocks++;
	v->bytes += b->size;
	uintptr_t off = b->ptr - 0x10000;
	int i = (int)(off / 48);
	if (i < 0 || i >= N || keys[i] != b->ptr || !live[i] || sizes[i] != b->size ||
	    b->stack != (uint32_t)i)
		v->wrong++;
}

/* --- live bytes and their peak ------------------------------------------
 * Inside the shim every change arrives with the guard at depth 1: that is
 * when a thread batches its changes in a slot of its own. */

#define HANDOFF 4000
static uintptr_t handed[HANDOFF];
static uint64_t handed_size[HANDOFF];

static void *
allocate_some(void *arg)
{
	uintptr_t base = (uintptr_t)arg;
	lp_guard_enter();
	for (int i = 0; i < HANDOFF; i++) {
		handed[i] = base + (uintptr_t)i * 64;
		handed_size[i] = 16 + (uint64_t)(i * 7919 % 3000);
		lp_heap_insert(handed[i], handed_size[i], 1);
	}
	lp_guard_leave();
	return NULL;
}

static void *
free_some(void *arg)
{
	(void)arg;
	lp_guard_enter();
	for (int i = HANDOFF - 1; i >= 0; i -= 2)
		CHECK(lp_heap_remove(handed[i], NULL));
	lp_guard_leave();
	return NULL;
}

static void
thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	CHECK(pthread_create(&t, NULL, fn, arg) == 0);
	CHECK(pthread_join(t, NULL) == 0);
}

static uint64_t
table_live_bytes(void)
{
	struct lp_heap_totals totals = { 0 };
	struct visited seen = { 0 };
	lp_heap_visit(visit_block, &seen, &totals);
	return totals.live_bytes;
}

static void
check_peak(uint64_t peak_before)
{
	uint64_t live = table_live_bytes(), peak = peak_before > live ? peak_before : live;

	/* One thread: the peak is exact, whatever the order of changes. */
	lp_guard_enter();
	uint64_t cur = live;
	for (int round = 0; round < 50000; round++) {
		uintptr_t k = 0x900000000 + (uintptr_t)(round % 3000) * 32;
		struct lp_block b;
		if (lp_heap_remove(k, &b)) {
			cur -= b.size;
		} else {
			uint64_t n = rand() % 7 == 0 ? 70000 + (uint64_t)rand() % 2000000
						     : (uint64_t)rand() % 900;
			lp_heap_insert(k, n, 2);
			cur += n;
			if (cur > peak)
				peak = cur;
		}
		CHECK(lp_heap_peak() == peak);
	}
	/* A stale entry at a reused address (its free was missed) leaves
	 * the live bytes with it. */
	lp_heap_insert(0x800000000, 5000, 3);
	lp_heap_insert(0x800000000, 700, 3);
	CHECK(lp_heap_remove(0x800000000, NULL));
	lp_guard_leave();
	CHECK((uint64_t)lp_heap_accounted() == table_live_bytes());

	/* Threads that free what others allocated, and end: their changes
	 * outlive them. */
	for (int round = 0; round < 40; round++) {
		thread(allocate_some, (void *)(0xa00000000 + (uintptr_t)round * 0x1000000));
		thread(free_some, NULL);
		CHECK((uint64_t)lp_heap_accounted() == table_live_bytes());
	}
}

int
main(void)
{
	srand(7);
	lp_heap_init(1u << 20);
	CHECK(lp_stackdepot_init());
	uint64_t live_bytes = 0, live_blocks = 0, peak_bytes = 0;
	/* distinct by construction; malloc-like 16-byte alignment */
	for (int i = 0; i < N; i++)
		keys[i] = 0x10000 + (uintptr_t)i * 48 + (uintptr_t)(rand() % 3) * 16;
	for (int round = 0; round < 200000; round++) {
		int i = rand() % N;
		if (!live[i]) {
			sizes[i] = rand() % 50 == 0 ? (2u << 20) + (uint64_t)rand() : (uint64_t)(rand() % 5000);
			inserted_ns[i] = lp_now_ns();
			lp_heap_insert(keys[i], sizes[i], (uint32_t)i);
			live[i] = true;
			live_bytes += sizes[i];
			live_blocks++;
			if (live_bytes > peak_bytes)
				peak_bytes = live_bytes;
		} else {
			struct lp_block b;
			CHECK(lp_heap_remove(keys[i], &b));
			CHECK(b.size == sizes[i] && b.stack == (uint32_t)i);
			if (b.size >= (1u << 20))
				CHECK(b.birth_ns >= inserted_ns[i] && b.birth_ns <= lp_now_ns());
			live[i] = false;
			live_bytes -= sizes[i];
			live_blocks--;
		}
	}
	CHECK(!lp_heap_remove(0x5, NULL));
	struct lp_heap_totals totals = { 0 };
	struct visited seen = { 0 };
	lp_heap_visit(visit_block, &seen, &totals);
	CHECK(seen.blocks == live_blocks);
	CHECK(seen.bytes == live_bytes);
	CHECK(seen.wrong == 0);
	CHECK(totals.live_blocks == live_blocks);
	CHECK(totals.live_bytes == live_bytes);
	CHECK(totals.allocs - totals.frees == live_blocks);
	CHECK((uint64_t)lp_heap_accounted() == live_bytes);
	CHECK(lp_heap_peak() == peak_bytes);
	check_peak(peak_bytes);
	/* 16-byte entries at 53-80 % load: at most 30 bytes per live block,
	 * plus one page per shard (the benchmark measures it at 1 M). */
	CHECK(totals.table_bytes <= 30 * live_blocks + 257 * 4096 + 65536);

	/* the address map */
	struct lp_addrmap m = { 0 };
	for (int round = 0; round < 100000; round++) {
		int i = rand() % N;
		if (lp_addrmap_find(&m, keys[i])) {
			CHECK(lp_addrmap_find(&m, keys[i])->value == (uint32_t)i);
			CHECK(lp_addrmap_remove(&m, keys[i]));
		} else {
			CHECK(lp_addrmap_put(&m, keys[i], (uint32_t)i));
		}
	}
	uint32_t count = 0;
	for (int i = 0; i < N; i++)
		count += lp_addrmap_find(&m, keys[i]) != NULL;
	CHECK(count == m.count);
	lp_addrmap_free(&m);

	/* the stack depot: dedup and round trip */
	void *a[3] = { (void *)1, (void *)2, (void *)3 }, *b[3] = { (void *)1, (void *)2, (void *)4 };
	uint32_t ia = lp_stackdepot_put(a, 3), ib = lp_stackdepot_put(b, 3);
	CHECK(ia && ib && ia != ib && lp_stackdepot_put(a, 3) == ia);
	CHECK(lp_stackdepot_get(ia)->depth == 3 && lp_stackdepot_get(ia)->ips[2] == 3);
	CHECK(lp_stackdepot_put(a, 0) == 0);
	UNIT_DONE();
}
