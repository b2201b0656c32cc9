/* SPDX-License-Identifier: MIT */
/* heap_table.c - see heap_table.h. */
#include "record/heap_table.h"

#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/own_memory.h"
#include "core/clock.h"
#include "core/guard.h"
#include "core/spinlock.h"
#include "core/thread_exit.h"
#include "core/vec.h"
#include "core/warn.h"
#define NSHARDS 16
#define MAX_LOAD_PERCENT 80
#define SIZE_IN_LARGE UINT32_MAX /* the size lives in the large table */

struct entry {
	uintptr_t ptr; /* 0: empty slot */
	uint32_t size;
	uint32_t stack;
};

struct large_entry {
	uintptr_t ptr;
	uint64_t size;
	uint64_t birth_ns;
};

struct shard {
	lp_spinlock lock;
	uint32_t cap;
	uint32_t count;
	struct entry *slots;
	uint64_t live_bytes, allocs, frees;
} __attribute__((aligned(64)));

static struct shard shards[NSHARDS];

static struct {
	lp_spinlock lock;
	uint32_t cap, count;
	struct large_entry *slots;
} large;

static uint64_t large_threshold;

/* Live bytes and their peak, without a shared write per allocation.
 *
 * live = published_bytes + the sum of every thread's pending delta.  A
 * thread adds each change to its own delta (TLS) and publishes it with one
 * atomic add once it reaches +-FLUSH, when the thread ends, and (for the
 * threads that do not follow it) when a thread forks.  The peak is the
 * highest published + own delta seen at any change: exact when one thread
 * allocates and frees (every other delta is 0), otherwise less than FLUSH
 * off per other thread holding a delta at that moment.
 *
 * Before, the delta simply died with its thread: a thread that freed what
 * others had allocated left its negative delta behind, and the peak of a
 * thread-per-request server climbed by up to 64 KiB a request.  Now each
 * thread's first change registers its delta (its address, in a static
 * array a forked child can read) and arms a thread-exit key that
 * publishes it; after that, the thread publishes every change at once.
 *
 * The delta changes by single instructions (xadd, no lock prefix: a
 * signal handler's change on the same thread cannot land in the middle of
 * one), so a free nested in a change loses nothing. */
#define FLUSH (64 * 1024)
#define NREG 1024
struct own_acct {
	int64_t delta;
	int state; /* 0 first change to come, 1 registered, 2 publish each */
};
static __thread struct own_acct own __attribute__((tls_model("initial-exec")));
static int64_t *registered[NREG]; /* &own.delta of live threads */
static unsigned reg_hint;
static int64_t published_bytes;
static int64_t peak_bytes;

static inline uint64_t
hash_ptr(uintptr_t p)
{
	return (uint64_t)(p >> 4) * 0x9E3779B97F4A7C15ull;
}

/* Map a hash onto [0, cap) without a division. */
static inline uint32_t
home_of(uint64_t h, uint32_t cap)
{
	return (uint32_t)(((h >> 20) & 0xffffffffu) * (uint64_t)cap >> 32);
}

/* Big shard arrays are probed at random on every malloc and free: 2 MiB
 * pages spare a TLB miss per operation. */
static void *
map_slots(size_t bytes)
{
	return lp_map_large(bytes);
}

/* --- open addressing over any entry with the key first ------------------ */

static inline uint32_t
find_slot(const void *slots, size_t stride, uint32_t cap, uintptr_t key,
	  bool *found)
{
	uint32_t i = home_of(hash_ptr(key), cap);
	for (;;) {
		uintptr_t k = *(const uintptr_t *)((const char *)slots + i * stride);
		if (k == key || k == 0) {
			*found = k == key;
			return i;
		}
		if (++i == cap)
			i = 0;
	}
}

/* Backward-shift deletion: no tombstones, so probe lengths stay short
 * under churn.  After this, every entry is reachable from its home slot
 * without crossing an empty slot. */
static inline void
erase_slot(void *slots, size_t stride, uint32_t cap, uint32_t hole)
{
	char *base = slots;
	uint32_t j = hole;
	for (;;) {
		if (++j == cap)
			j = 0;
		uintptr_t k = *(uintptr_t *)(base + j * stride);
		if (k == 0)
			break;
		uint32_t home = home_of(hash_ptr(k), cap);
		/* Move j into the hole unless its home lies cyclically in
		 * (hole, j]. */
		bool stays = hole <= j ? (home > hole && home <= j)
				       : (home > hole || home <= j);
		if (stays)
			continue;
		memcpy(base + hole * stride, base + j * stride, stride);
		hole = j;
	}
	memset(base + hole * stride, 0, stride);
}

/* Grow to 1.5x (rounded to whole pages): the load factor stays between
 * 53% and 80%, which keeps the table under 32 bytes per live block. */
static bool
grow_locked(void **slots, size_t stride, uint32_t *cap)
{
	size_t want = *cap ? (size_t)*cap * 3 / 2 : 4096 / stride;
	size_t bytes = (want * stride + 4095) & ~(size_t)4095;
	uint32_t ncap = (uint32_t)(bytes / stride);
	char *n = map_slots(bytes);
	if (!n)
		return false;
	for (uint32_t i = 0; i < *cap; i++) {
		const char *e = (const char *)*slots + i * stride;
		uintptr_t k = *(const uintptr_t *)e;
		if (!k)
			continue;
		bool found;
		uint32_t at = find_slot(n, stride, ncap, k, &found);
		memcpy(n + at * stride, e, stride);
	}
	if (*slots)
		lp_own_munmap(*slots, ((size_t)*cap * stride + 4095) & ~(size_t)4095);
	*slots = n;
	*cap = ncap;
	return true;
}

static inline bool
needs_room(uint32_t count, uint32_t cap)
{
	return (uint64_t)(count + 1) * 100 > (uint64_t)cap * MAX_LOAD_PERCENT;
}

/* --- large blocks ------------------------------------------------------- */

static void
large_put(uintptr_t ptr, uint64_t size, uint64_t birth)
{
	lp_spin_lock(&large.lock);
	if (needs_room(large.count, large.cap) &&
	    !grow_locked((void **)&large.slots, sizeof(struct large_entry),
			 &large.cap)) {
		lp_spin_unlock(&large.lock);
		return;
	}
	bool found;
	uint32_t i = find_slot(large.slots, sizeof(struct large_entry),
			       large.cap, ptr, &found);
	large.slots[i] = (struct large_entry){ ptr, size, birth };
	large.count += !found;
	lp_spin_unlock(&large.lock);
}

static bool
large_take(uintptr_t ptr, struct large_entry *out)
{
	bool found = false;
	lp_spin_lock(&large.lock);
	if (large.cap) {
		uint32_t i = find_slot(large.slots, sizeof(struct large_entry),
				       large.cap, ptr, &found);
		if (found) {
			*out = large.slots[i];
			erase_slot(large.slots, sizeof(struct large_entry),
				   large.cap, i);
			large.count--;
		}
	}
	lp_spin_unlock(&large.lock);
	return found;
}

/* --- the shards --------------------------------------------------------- */

static void on_thread_exit(void *arg);

void
lp_heap_init(uint64_t threshold)
{
	large_threshold = threshold;
}

static inline void
raise_peak(int64_t now)
{
	int64_t peak = __atomic_load_n(&peak_bytes, __ATOMIC_RELAXED);
	while (now > peak &&
	       !__atomic_compare_exchange_n(&peak_bytes, &peak, now, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* *p += v in one instruction; returns the old value.  Atomic with respect
 * to this thread's signal handlers, not to other threads: only the owner
 * writes its delta (and a forked child, alone, those of threads that did
 * not follow it). */
static inline int64_t
own_xadd(int64_t *p, int64_t v)
{
	__asm__ volatile("xaddq %0, %1" : "+r"(v), "+m"(*p));
	return v;
}

/* Take the delta, leaving what a signal handler adds meanwhile. */
static inline int64_t
own_take(int64_t *p)
{
	int64_t d = __atomic_load_n(p, __ATOMIC_RELAXED);
	own_xadd(p, -d);
	return d;
}

/* This thread's first change: register its delta, arm its exit hook.
 * Guard up (the hook allocates), not nested. */
static bool
register_thread(void)
{
	unsigned start = __atomic_load_n(&reg_hint, __ATOMIC_RELAXED);
	for (unsigned k = 0; k < NREG; k++) {
		unsigned i = (start + k) % NREG;
		int64_t *expect = NULL;
		if (__atomic_load_n(&registered[i], __ATOMIC_RELAXED) ||
		    !__atomic_compare_exchange_n(&registered[i], &expect, &own.delta, false,
						 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			continue;
		if (!lp_at_thread_exit(on_thread_exit, &registered[i])) {
			__atomic_store_n(&registered[i], NULL, __ATOMIC_RELAXED);
			return false;
		}
		__atomic_store_n(&reg_hint, (i + 1) % NREG, __ATOMIC_RELAXED);
		return true;
	}
	return false;
}

/* Thread exit: publish the delta, unregister it; this thread's later
 * changes (a destructor that runs after ours) are published one by one. */
static void
on_thread_exit(void *arg)
{
	int64_t **slot = arg;
	own.state = 2;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_add_fetch(&published_bytes, own_take(&own.delta), __ATOMIC_RELAXED);
	__atomic_store_n(slot, NULL, __ATOMIC_RELAXED);
}

/* Not registered (yet, or any more): publish at once.  A thread's first
 * change registers it, unless nested inside the shim (a signal handler's
 * free: no pthread_setspecific there). */
static LP_NOINLINE void
account_slow(int64_t delta)
{
	if (own.state == 0 && lp_guard_depth == 1) {
		own.state = 2; /* a nested change meanwhile publishes */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (register_thread()) {
			own.state = 1;
			lp_heap_account(delta);
			return;
		}
	}
	int64_t now = __atomic_add_fetch(&published_bytes, delta, __ATOMIC_RELAXED);
	raise_peak(now + __atomic_load_n(&own.delta, __ATOMIC_RELAXED));
}

void
lp_heap_account(int64_t delta)
{
	if (lp_unlikely(own.state != 1))
		return account_slow(delta);
	int64_t d = own_xadd(&own.delta, delta) + delta, now;
	if (lp_unlikely(d >= FLUSH || d <= -FLUSH)) {
		own_xadd(&own.delta, -d);
		now = __atomic_add_fetch(&published_bytes, d, __ATOMIC_RELAXED) +
		      __atomic_load_n(&own.delta, __ATOMIC_RELAXED);
	} else {
		now = __atomic_load_n(&published_bytes, __ATOMIC_RELAXED) + d;
	}
	raise_peak(now);
}

int64_t
lp_heap_accounted(void)
{
	int64_t sum = __atomic_load_n(&published_bytes, __ATOMIC_RELAXED);
	if (own.state != 1)
		sum += __atomic_load_n(&own.delta, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < NREG; i++) {
		int64_t *d = __atomic_load_n(&registered[i], __ATOMIC_RELAXED);
		if (d)
			sum += __atomic_load_n(d, __ATOMIC_RELAXED);
	}
	return sum;
}

void
lp_heap_after_fork_child(void)
{
	/* Only this thread lives on.  The others' deltas are in memory the
	 * child has (their stacks' TLS; a registered thread has not ended:
	 * its exit key would have unregistered it): publish and forget
	 * them (nobody writes them any more).  A fork in the middle of
	 * another thread's change may be off by that change. */
	pid_t self = getpid();
	for (unsigned i = 0; i < NREG; i++) {
		int64_t *d = registered[i];
		if (!d || d == &own.delta)
			continue;
		registered[i] = NULL;
		/* Read without trusting the address: a thread whose first change
		 * came in its last round of TSD destructors stays registered
		 * after it ended, and its stack may be gone. */
		int64_t v;
		struct iovec to = { &v, sizeof(v) }, from = { d, sizeof(v) };
		if (process_vm_readv(self, &to, 1, &from, 1, 0) == (ssize_t)sizeof(v))
			__atomic_add_fetch(&published_bytes, v, __ATOMIC_RELAXED);
	}
}

/* Returns the size of a stale block found at the same address (0: none),
 * which the caller takes off the live bytes too. */
static uint64_t
insert_at(struct shard *s, uintptr_t ptr, uint32_t size32, uint32_t stack,
	  uint64_t size)
{
	uint64_t stale = 0;
	bool found;
	uint32_t i = find_slot(s->slots, sizeof(struct entry), s->cap, ptr, &found);
	if (lp_unlikely(found)) {
		/* The address was freed behind our back (free while the
		 * guard was up): forget the stale block. */
		struct large_entry le;
		stale = s->slots[i].size;
		if (stale == SIZE_IN_LARGE || stale >= large_threshold)
			stale = large_take(ptr, &le) ? le.size : 0;
		s->live_bytes -= stale;
		s->count--;
	}
	s->slots[i] = (struct entry){ ptr, size32, stack };
	s->count++;
	s->live_bytes += size;
	s->allocs++;
	return stale;
}

void
lp_heap_insert(uintptr_t ptr, uint64_t size, uint32_t stack)
{
	uint64_t h = hash_ptr(ptr);
	struct shard *s = &shards[h >> 60];
	bool is_large = size >= large_threshold || size >= SIZE_IN_LARGE;

	lp_spin_lock(&s->lock);
	if (lp_unlikely(needs_room(s->count, s->cap)) &&
	    !grow_locked((void **)&s->slots, sizeof(struct entry), &s->cap)) {
		lp_spin_unlock(&s->lock);
		return; /* out of memory: the block goes unrecorded */
	}
	uint64_t stale = insert_at(s, ptr, is_large ? SIZE_IN_LARGE : (uint32_t)size,
				   stack, size);
	/* After insert_at, which may have dropped a stale large entry for
	 * the same address (lock order: shard, then large). */
	if (lp_unlikely(is_large))
		large_put(ptr, size, lp_now_ns());
	lp_spin_unlock(&s->lock);
	lp_heap_account((int64_t)size - (int64_t)stale);
}

bool
lp_heap_remove(uintptr_t ptr, struct lp_block *out)
{
	struct shard *s = &shards[hash_ptr(ptr) >> 60];
	struct entry e;
	bool found = false;

	lp_spin_lock(&s->lock);
	if (lp_likely(s->cap)) {
		uint32_t i = find_slot(s->slots, sizeof(struct entry), s->cap,
				       ptr, &found);
		if (found) {
			e = s->slots[i];
			erase_slot(s->slots, sizeof(struct entry), s->cap, i);
			s->count--;
			s->frees++;
		}
	}
	if (!found) {
		lp_spin_unlock(&s->lock);
		return false;
	}
	uint64_t size = e.size;
	uint64_t birth = 0;
	if (lp_unlikely(e.size == SIZE_IN_LARGE || e.size >= large_threshold)) {
		struct large_entry le;
		if (large_take(ptr, &le)) {
			size = le.size;
			birth = le.birth_ns;
		}
	}
	s->live_bytes -= size;
	lp_spin_unlock(&s->lock);
	lp_heap_account(-(int64_t)size);
	if (out)
		*out = (struct lp_block){ ptr, size, e.stack, birth };
	return true;
}

bool
lp_heap_lookup(uintptr_t ptr, struct lp_block *out)
{
	struct shard *s = &shards[hash_ptr(ptr) >> 60];
	bool found = false;

	lp_spin_lock(&s->lock);
	if (s->cap) {
		uint32_t i = find_slot(s->slots, sizeof(struct entry), s->cap, ptr, &found);
		if (found)
			*out = (struct lp_block){ ptr, s->slots[i].size, s->slots[i].stack, 0 };
	}
	lp_spin_unlock(&s->lock);
	return found;
}

void
lp_heap_restore(const struct lp_block *b)
{
	struct shard *s = &shards[hash_ptr(b->ptr) >> 60];
	bool is_large = b->size >= large_threshold || b->size >= SIZE_IN_LARGE;

	int64_t delta = 0;
	lp_spin_lock(&s->lock);
	if (!needs_room(s->count, s->cap) ||
	    grow_locked((void **)&s->slots, sizeof(struct entry), &s->cap)) {
		delta = (int64_t)b->size -
			(int64_t)insert_at(s, b->ptr,
					   is_large ? SIZE_IN_LARGE : (uint32_t)b->size,
					   b->stack, b->size);
		if (is_large)
			large_put(b->ptr, b->size, b->birth_ns ? b->birth_ns : lp_now_ns());
		/* Not a new allocation, and not a free either. */
		s->allocs--;
		s->frees--;
	}
	lp_spin_unlock(&s->lock);
	lp_heap_account(delta);
}

/* --- visiting ----------------------------------------------------------- */

static uint64_t
large_lookup_locked(uintptr_t ptr, uint64_t *birth)
{
	bool found = false;
	uint32_t i = large.cap ? find_slot(large.slots, sizeof(struct large_entry),
					   large.cap, ptr, &found)
			       : 0;
	if (!found) {
		*birth = 0;
		return 0;
	}
	*birth = large.slots[i].birth_ns;
	return large.slots[i].size;
}

void
lp_heap_visit(void (*fn)(const struct lp_block *b, void *arg), void *arg,
	      struct lp_heap_totals *totals)
{
	for (int i = 0; i < NSHARDS; i++) {
		struct shard *s = &shards[i];
		lp_spin_lock(&s->lock);
		totals->allocs += s->allocs;
		totals->frees += s->frees;
		totals->live_blocks += s->count;
		totals->live_bytes += s->live_bytes;
		totals->table_bytes += ((size_t)s->cap * sizeof(struct entry) + 4095) & ~(size_t)4095;
		for (uint32_t j = 0; j < s->cap; j++) {
			const struct entry *e = &s->slots[j];
			if (!e->ptr)
				continue;
			struct lp_block b = { e->ptr, e->size, e->stack, 0 };
			if (e->size == SIZE_IN_LARGE || e->size >= large_threshold) {
				lp_spin_lock(&large.lock);
				b.size = large_lookup_locked(e->ptr, &b.birth_ns);
				lp_spin_unlock(&large.lock);
			}
			fn(&b, arg);
		}
		lp_spin_unlock(&s->lock);
	}
	lp_spin_lock(&large.lock);
	totals->table_bytes += ((size_t)large.cap * sizeof(struct large_entry) + 4095) & ~(size_t)4095;
	lp_spin_unlock(&large.lock);
}

uint64_t
lp_heap_peak(void)
{
	int64_t peak = __atomic_load_n(&peak_bytes, __ATOMIC_RELAXED);
	return peak > 0 ? (uint64_t)peak : 0;
}

void
lp_heap_lock_all(void)
{
	for (int i = 0; i < NSHARDS; i++)
		lp_spin_lock(&shards[i].lock);
	lp_spin_lock(&large.lock);
}

void
lp_heap_unlock_all(void)
{
	lp_spin_unlock(&large.lock);
	for (int i = 0; i < NSHARDS; i++)
		lp_spin_unlock(&shards[i].lock);
}
