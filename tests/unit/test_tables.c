/* test_tables.c - the live block table and the address map under random
 * operations, against a plain reference array. */
#include <stdlib.h>
#include <string.h>

#include "addrmap.h"
#include "heap_table.h"
#include "stackdepot.h"
#include "unit.h"

uint64_t lp_start_ns;
uint64_t lp_now_ns(void) { return 12345; }

#define N 20000

static uintptr_t keys[N];
static uint64_t sizes[N];
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

int
main(void)
{
	srand(7);
	lp_heap_init(1u << 20);
	CHECK(lp_depot_init());
	uint64_t live_bytes = 0, live_blocks = 0;
	/* distinct by construction; malloc-like 16-byte alignment */
	for (int i = 0; i < N; i++)
		keys[i] = 0x10000 + (uintptr_t)i * 48 + (uintptr_t)(rand() % 3) * 16;
	for (int round = 0; round < 200000; round++) {
		int i = rand() % N;
		if (!live[i]) {
			sizes[i] = rand() % 50 == 0 ? (2u << 20) + (uint64_t)rand() : (uint64_t)(rand() % 5000);
			lp_heap_insert(keys[i], sizes[i], (uint32_t)i);
			live[i] = true;
			live_bytes += sizes[i];
			live_blocks++;
		} else {
			struct lp_block b;
			CHECK(lp_heap_remove(keys[i], &b));
			CHECK(b.size == sizes[i] && b.stack == (uint32_t)i);
			if (b.size >= (1u << 20))
				CHECK(b.birth_ns == 12345);
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
	uint32_t ia = lp_depot_put(a, 3), ib = lp_depot_put(b, 3);
	CHECK(ia && ib && ia != ib && lp_depot_put(a, 3) == ia);
	CHECK(lp_depot_get(ia)->depth == 3 && lp_depot_get(ia)->ips[2] == 3);
	CHECK(lp_depot_put(a, 0) == 0);
	UNIT_DONE();
}
