/* SPDX-License-Identifier: MIT */
/* stackdepot.c - see stackdepot.h. */
#include "record/stackdepot.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>

#include "core/own_memory.h"
#include "core/spinlock.h"

/* Address space is reserved up front with MAP_NORESERVE; pages are only
 * touched (and count in RSS) as stacks arrive. */
#define STORE_BYTES (4ull << 30)   /* stack records */
#define MAX_IDS (1u << 26)         /* 64 M distinct stacks */
#define NBUCKETS (1u << 18)
#define NSTRIPES 64

static char *store;             /* records, 8-byte aligned */
static uint64_t store_used;     /* bytes handed out */
static uint64_t *offsets;       /* id -> byte offset in store */
static uint32_t *buckets;       /* hash -> first id of the chain */
static uint32_t next_id = 1;
static lp_spinlock stripes[NSTRIPES];

static void *
reserve(size_t bytes)
{
	void *p = lp_own_mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

bool
lp_stackdepot_init(void)
{
	store = reserve(STORE_BYTES);
	offsets = reserve((size_t)MAX_IDS * sizeof(*offsets));
	buckets = reserve((size_t)NBUCKETS * sizeof(*buckets));
	return store && offsets && buckets;
}

/* Four independent lanes: a stack of 30 frames is hashed in the time of
 * eight multiplications in a row, not thirty. */
static inline uint32_t
hash_ips(void *const *ips, unsigned depth)
{
	const uint64_t k = 0x9E3779B97F4A7C15ull;
	uint64_t h[4] = { 0x243F6A8885A308D3ull ^ depth, 0x13198A2E03707344ull,
			  0xA4093822299F31D0ull, 0x082EFA98EC4E6C89ull };
	unsigned i = 0;
	for (; i + 4 <= depth; i += 4)
		for (unsigned j = 0; j < 4; j++)
			h[j] = (h[j] ^ (uintptr_t)ips[i + j]) * k;
	for (unsigned j = 0; i < depth; i++, j++)
		h[j] = (h[j] ^ (uintptr_t)ips[i]) * k;
	uint64_t x = h[0] ^ (h[1] >> 17 | h[1] << 47) ^ (h[2] >> 31 | h[2] << 33) ^
		     (h[3] >> 43 | h[3] << 21);
	x = (x ^ (x >> 29)) * k;
	return (uint32_t)(x ^ (x >> 32));
}

/* The module holding ip now: the stack is being captured, so its frames'
 * modules are loaded.  _dl_find_object takes no lock. */
static uintptr_t
bias_of(uintptr_t ip)
{
#ifdef DLFO_STRUCT_HAS_EH_DBASE
	struct dl_find_object f;
	if (ip && _dl_find_object((void *)(ip - 1), &f) == 0 && f.dlfo_link_map)
		return f.dlfo_link_map->l_addr;
#else
	(void)ip;
#endif
	return LP_BIAS_UNKNOWN;
}

static inline const struct lp_stack *
record(uint32_t id)
{
	return (const struct lp_stack *)(store + offsets[id]);
}

static uint32_t
find(uint32_t head, uint32_t hash, void *const *ips, unsigned depth)
{
	for (uint32_t id = head; id; id = record(id)->next) {
		const struct lp_stack *s = record(id);
		if (s->hash == hash && s->depth == depth &&
		    !memcmp(s->ips, ips, depth * sizeof(uintptr_t)))
			return id;
	}
	return 0;
}

uint32_t
lp_stackdepot_put(void *const *ips, unsigned depth)
{
	if (!depth || !store)
		return 0;
	uint32_t hash = hash_ips(ips, depth);
	uint32_t *bucket = &buckets[hash & (NBUCKETS - 1)];
	uint32_t id = find(__atomic_load_n(bucket, __ATOMIC_ACQUIRE), hash,
			   ips, depth);
	if (lp_likely(id))
		return id;

	lp_spinlock *stripe = &stripes[hash % NSTRIPES];
	lp_spin_lock(stripe);
	/* Someone may have inserted it since we looked. */
	id = find(__atomic_load_n(bucket, __ATOMIC_ACQUIRE), hash, ips, depth);
	if (id)
		goto out;
	size_t bytes = sizeof(struct lp_stack) + 2 * depth * sizeof(uintptr_t);
	uint64_t off = __atomic_fetch_add(&store_used, bytes, __ATOMIC_RELAXED);
	id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	if (off + bytes > STORE_BYTES || id >= MAX_IDS) {
		id = 0; /* depot full: the block is recorded without a stack */
		goto out;
	}
	struct lp_stack *s = (struct lp_stack *)(store + off);
	s->next = *bucket;
	s->hash = hash;
	s->depth = depth;
	memcpy(s->ips, ips, depth * sizeof(uintptr_t));
	for (unsigned i = 0; i < depth; i++)
		s->ips[depth + i] = bias_of((uintptr_t)ips[i]);
	offsets[id] = off;
	/* Publish: a reader that sees the new head sees a complete record. */
	__atomic_store_n(bucket, id, __ATOMIC_RELEASE);
out:
	lp_spin_unlock(stripe);
	return id;
}

const struct lp_stack *
lp_stackdepot_get(uint32_t id)
{
	if (!id || id >= lp_stackdepot_count() + 1)
		return NULL;
	return record(id);
}

uint32_t
lp_stackdepot_count(void)
{
	uint32_t n = __atomic_load_n(&next_id, __ATOMIC_ACQUIRE) - 1;
	return n < MAX_IDS ? n : MAX_IDS - 1;
}

size_t
lp_stackdepot_bytes(void)
{
	return __atomic_load_n(&store_used, __ATOMIC_RELAXED);
}

void
lp_stackdepot_lock_all(void)
{
	for (int i = 0; i < NSTRIPES; i++)
		lp_spin_lock(&stripes[i]);
}

void
lp_stackdepot_unlock_all(void)
{
	for (int i = 0; i < NSTRIPES; i++)
		lp_spin_unlock(&stripes[i]);
}
