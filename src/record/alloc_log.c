/* SPDX-License-Identifier: MIT */
/* alloc_log.c - see alloc_log.h. */
#include "record/alloc_log.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include "core/own_memory.h"
#include "core/bootstrap.h"
#include "core/guard.h"
#include "core/spinlock.h"
#include "core/thread_exit.h"
#include "record/block_header.h"
#define LOG_MAX 65535 /* ids fit the header's 16 bits; 0 is "no log" */
#define PAGE 4096u
#define FIRST_CAP (PAGE / sizeof(struct lp_alloc_log_entry))

struct lp_log {
	lp_spinlock lock;
	uint16_t id;
	struct lp_alloc_log_entry *e; /* mmap; moves only under the lock */
	uint32_t len, cap;      /* len: written by the owner, under the lock
				   when entries move */
	uint32_t own_dead;    /* entries the owner cleared: its alone */
	uint32_t remote_dead; /* entries others cleared: under the lock */
	/* Cleared entries squeezed out, under the lock.  Allocations are
	 * then removed + len and frees removed + the cleared entries below
	 * len: a report counts them from what it sees, consistently. */
	uint64_t removed;
	struct lp_log *next_pooled;
} __attribute__((aligned(64)));

/* In BSS: a page is only touched once its logs are in use. */
static struct lp_log all_logs[LOG_MAX + 1];
#define logs(id) (&all_logs[id])
static uint32_t nlogs; /* ids 1..nlogs exist */
static lp_spinlock pool_lock;
static struct lp_log *pool;
static __thread bool exit_hook_set __attribute__((tls_model("initial-exec")));

uint64_t lp_header_secret;
bool lp_real_is_glibc;

static __thread struct lp_log *my_log __attribute__((tls_model("initial-exec")));
__thread void *lp_alloc_log_deferred __attribute__((tls_model("initial-exec")));

void
lp_header_init(void)
{
	const void *r = (const void *)getauxval(AT_RANDOM);
	uint64_t w[2] = { 0, 0 }; /* 16 bytes, not necessarily aligned */
	if (r)
		memcpy(w, r, sizeof(w));
	uint64_t k = w[0] ^ w[1];
	k ^= (uintptr_t)&k; /* ASLR, in case there were no random bytes */
	lp_header_secret = k * 0xD6E8FEB86659FD93ull;
}

void
lp_real_allocator_detect(void)
{
	Dl_info info;
	const char *name = dladdr((void *)lp_real.free, &info) ? info.dli_fname : NULL;
	const char *base = name ? strrchr(name, '/') : NULL;
	base = base ? base + 1 : name;
	lp_real_is_glibc = base && !strncmp(base, "libc.so", 7);
}

/* --- thread lifecycle --------------------------------------------------- */

/* --- where the entries live ---------------------------------------------
 *
 * One reservation (PROT_NONE: it commits nothing) holds every log's
 * entries.  Mappings of our own made between a program's dlclose and its
 * next dlopen would move where the plugin lands, and an address range
 * used by two loads of a module blurs their frames in reports (stacks are
 * named by address).  Regions are cut from the front and never handed out
 * twice; a log that grows moves its pages to a new region with mremap (no
 * copy) and its old range is reserved again.  Once the reservation is used
 * up, regions come from plain mmap. */
#define SPACE_BYTES (UINT64_C(64) << 30)
static char *space;
static uint64_t space_used;
static lp_spinlock space_lock;

static bool
in_space(const void *p)
{
	return space && (const char *)p >= space && (const char *)p < space + SPACE_BYTES;
}

static void *
region_take(size_t bytes)
{
	char *p = NULL;
	lp_spin_lock(&space_lock);
	if (space && space_used + bytes <= SPACE_BYTES) {
		p = space + space_used;
		space_used += bytes;
	}
	lp_spin_unlock(&space_lock);
	if (p && mprotect(p, bytes, PROT_READ | PROT_WRITE) != 0)
		p = NULL;
	if (!p) {
		p = lp_own_mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			p = NULL;
	}
	return p;
}

/* The pages go back to the system; a range in the reservation stays ours. */
static void
region_release(void *p, size_t bytes)
{
	if (in_space(p))
		lp_own_mmap(p, bytes, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		     -1, 0);
	else
		lp_own_munmap(p, bytes);
}

static void *
region_move(void *old, size_t old_bytes, size_t new_bytes)
{
	char *n = region_take(new_bytes);
	if (!n)
		return NULL;
	if (lp_own_mremap(old, old_bytes, old_bytes, MREMAP_MAYMOVE | MREMAP_FIXED, n) == MAP_FAILED) {
		memcpy(n, old, old_bytes < new_bytes ? old_bytes : new_bytes);
		region_release(old, old_bytes);
	} else if (in_space(old)) {
		region_release(old, old_bytes); /* mremap left a hole */
	}
	return n;
}

static struct lp_log *
create_locked(void)
{
	if (nlogs >= LOG_MAX)
		return NULL;
	struct lp_log *l = logs(nlogs + 1);
	void *e = region_take(FIRST_CAP * sizeof(struct lp_alloc_log_entry));
	if (!e)
		return NULL;
	l->e = e;
	l->cap = FIRST_CAP;
	l->id = (uint16_t)(nlogs + 1);
	__atomic_store_n(&nlogs, nlogs + 1, __ATOMIC_RELEASE);
	return l;
}

static void on_thread_exit(void *arg);

/* This thread's first allocation (or its first after its log went to the
 * pool): a pooled log, or a new one. */
static LP_NOINLINE struct lp_log *
acquire(void)
{
	lp_spin_lock(&pool_lock);
	struct lp_log *l = pool;
	if (l)
		pool = l->next_pooled;
	else
		l = create_locked();
	lp_spin_unlock(&pool_lock);
	if (!l)
		return NULL;
	my_log = l;
	if (!exit_hook_set)
		exit_hook_set = lp_at_thread_exit(on_thread_exit, NULL);
	return l;
}

/* Thread exit: the frees it deferred are done, and its log goes to the
 * pool with whatever is still live in it. */
static void
on_thread_exit(void *arg)
{
	(void)arg;
	exit_hook_set = false;
	lp_alloc_log_free_deferred();
	struct lp_log *l = my_log;
	if (!l)
		return;
	lp_guard_enter();
	/* Not ours any more before it is in the pool: from then on another
	 * thread may own it and write to it without a lock. */
	__atomic_store_n(&my_log, NULL, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	lp_spin_lock(&pool_lock);
	l->next_pooled = pool;
	pool = l;
	lp_spin_unlock(&pool_lock);
	lp_guard_leave();
}

bool
lp_alloc_log_init(void)
{
	lp_header_init();
	void *p = lp_own_mmap(NULL, SPACE_BYTES, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	space = p == MAP_FAILED ? NULL : p;
	return true;
}

/* --- adding and forgetting ---------------------------------------------- */

/* Squeeze out the freed entries.  After this, e[0, len) holds the live
 * entries in their old order and every live block's header names its new
 * index.  Safe without stopping anyone: the owner is the caller, and every
 * other writer takes the lock. */
static void
compact_locked(struct lp_log *l)
{
	struct lp_alloc_log_entry *e = l->e;
	uint32_t j = 0;
	for (uint32_t i = 0; i < l->len; i++) {
		uintptr_t ptr = e[i].ptr;
		if (!ptr)
			continue;
		if (i != j) {
			e[j] = e[i];
			lp_header_of((void *)ptr)->index = j;
		}
		j++;
	}
	l->removed += l->len - j;
	__atomic_store_n(&l->len, j, __ATOMIC_RELEASE);
	l->own_dead = 0;
	l->remote_dead = 0;
}

static bool
grow_locked(struct lp_log *l, uint32_t cap)
{
	size_t old = (size_t)l->cap * sizeof(struct lp_alloc_log_entry);
	size_t bytes = ((size_t)cap * sizeof(struct lp_alloc_log_entry) + PAGE - 1) & ~(size_t)(PAGE - 1);
	void *e = region_move(l->e, old, bytes);
	if (!e)
		return false;
	l->e = e;
	l->cap = (uint32_t)(bytes / sizeof(struct lp_alloc_log_entry));
	return true;
}

/* Keep the first cap entries' pages. */
static void
shrink_locked(struct lp_log *l, uint32_t cap)
{
	size_t keep = (size_t)cap * sizeof(struct lp_alloc_log_entry);
	size_t old = (size_t)l->cap * sizeof(struct lp_alloc_log_entry);
	if (keep % PAGE || keep >= old)
		return;
	region_release((char *)l->e + keep, old - keep);
	l->cap = cap;
}

/* The log is full.  With a third or more of it freed, compacting pays for
 * itself within the appends it makes room for; otherwise it grows by
 * half, so it stays within about twice the live blocks at worst. */
static LP_NOINLINE bool
make_room(struct lp_log *l)
{
	bool ok = true;
	lp_spin_lock(&l->lock);
	uint32_t dead = l->own_dead + l->remote_dead;
	if ((uint64_t)dead * 3 >= l->len && dead) {
		compact_locked(l);
		if (l->len < l->cap / 8 && l->cap > 8 * FIRST_CAP)
			shrink_locked(l, l->cap / 2);
	} else if (l->cap >= UINT32_MAX / 2 ||
		   !grow_locked(l, l->cap + l->cap / 2)) {
		ok = false;
	}
	lp_spin_unlock(&l->lock);
	return ok;
}

bool
lp_alloc_log_add(void *p, uint32_t size, uint32_t stack)
{
	struct lp_log *l = my_log;
	if (lp_unlikely(!l) && !(l = acquire()))
		return false;
	uint32_t i = l->len;
	if (lp_unlikely(i == l->cap)) {
		if (!make_room(l))
			return false;
		i = l->len;
	}
	l->e[i] = (struct lp_alloc_log_entry){ (uintptr_t)p, size, stack };
	__atomic_store_n(&l->len, i + 1, __ATOMIC_RELEASE);
	lp_header_write(p, l->id, i);
	lp_heap_account(size);
	return true;
}

static inline struct lp_log *
log_of(const struct lp_header *h)
{
	uint16_t id = h->log;
	return id && id <= __atomic_load_n(&nlogs, __ATOMIC_ACQUIRE) ? logs(id) : NULL;
}

/* The entry at the header's index, if it is p's. */
static inline struct lp_alloc_log_entry *
entry_of(struct lp_log *l, const struct lp_header *h, const void *p)
{
	uint32_t i = h->index;
	if (i >= l->len || l->e[i].ptr != (uintptr_t)p)
		return NULL;
	return &l->e[i];
}

bool
lp_alloc_log_forget(void *p, struct lp_alloc_log_entry *out)
{
	const struct lp_header *h = lp_header_of(p);
	struct lp_log *l = log_of(h);
	struct lp_alloc_log_entry *e;

	if (!l)
		return false;
	if (l == my_log) {
		/* Nobody else moves or clears this log's entries without the
		 * lock, and only its owner moves them. */
		if (!(e = entry_of(l, h, p)))
			return false;
		*out = *e;
		__atomic_store_n(&e->ptr, 0, __ATOMIC_RELAXED);
		l->own_dead++;
	} else {
		lp_spin_lock(&l->lock);
		/* Re-read under the lock: the owner may have compacted. */
		if ((e = entry_of(l, h, p))) {
			*out = *e;
			__atomic_store_n(&e->ptr, 0, __ATOMIC_RELAXED);
			l->remote_dead++;
		}
		lp_spin_unlock(&l->lock);
		if (!e)
			return false;
	}
	lp_heap_account(-(int64_t)out->size);
	return true;
}

bool
lp_alloc_log_lookup(const void *p, struct lp_alloc_log_entry *out)
{
	const struct lp_header *h = lp_header_of(p);
	struct lp_log *l = log_of(h);
	if (!l)
		return false;
	lp_spin_lock(&l->lock);
	const struct lp_alloc_log_entry *e = entry_of(l, h, p);
	if (e)
		*out = *e;
	lp_spin_unlock(&l->lock);
	return e != NULL;
}

/* --- deferred frees ------------------------------------------------------ */

void
lp_alloc_log_defer(void *p)
{
	/* Signal-safe push: a handler on this thread may push meanwhile. */
	void *head = __atomic_load_n(&lp_alloc_log_deferred, __ATOMIC_RELAXED);
	do
		*(void **)p = head;
	while (!__atomic_compare_exchange_n(&lp_alloc_log_deferred, &head, p, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

void
lp_alloc_log_free_deferred(void)
{
	void *p = __atomic_exchange_n(&lp_alloc_log_deferred, NULL, __ATOMIC_RELAXED);
	while (p) {
		void *next = *(void **)p;
		struct lp_alloc_log_entry e;
		lp_guard_enter();
		lp_alloc_log_forget(p, &e);
		lp_guard_leave();
		lp_header_clear(p);
		lp_real.free(lp_header_base(p));
		p = next;
	}
}

/* --- reports and fork ---------------------------------------------------- */

void
lp_alloc_log_visit(void (*fn)(const struct lp_alloc_log_entry *e, void *arg), void *arg,
	     struct lp_heap_totals *totals)
{
	uint32_t n = __atomic_load_n(&nlogs, __ATOMIC_ACQUIRE);
	for (uint32_t id = 1; id <= n; id++) {
		struct lp_log *l = logs(id);
		lp_spin_lock(&l->lock);
		uint32_t len = __atomic_load_n(&l->len, __ATOMIC_ACQUIRE);
		uint64_t cleared = 0;
		for (uint32_t i = 0; i < len; i++) {
			struct lp_alloc_log_entry c = l->e[i];
			c.ptr = __atomic_load_n(&l->e[i].ptr, __ATOMIC_RELAXED);
			if (!c.ptr) {
				cleared++;
				continue;
			}
			totals->live_blocks++;
			totals->live_bytes += c.size;
			totals->header_bytes += LP_HEADER_SIZE;
			fn(&c, arg);
		}
		totals->allocs += l->removed + len;
		totals->frees += l->removed + cleared;
		totals->table_bytes += (uint64_t)l->cap * sizeof(struct lp_alloc_log_entry) + PAGE;
		lp_spin_unlock(&l->lock);
	}
}

void
lp_alloc_log_lock_all(void)
{
	lp_spin_lock(&pool_lock);
	uint32_t n = __atomic_load_n(&nlogs, __ATOMIC_ACQUIRE);
	for (uint32_t id = 1; id <= n; id++)
		lp_spin_lock(&logs(id)->lock);
}

void
lp_alloc_log_unlock_all(void)
{
	uint32_t n = __atomic_load_n(&nlogs, __ATOMIC_ACQUIRE);
	for (uint32_t id = n; id >= 1; id--)
		lp_spin_unlock(&logs(id)->lock);
	lp_spin_unlock(&pool_lock);
}

void
lp_alloc_log_after_fork_child(void)
{
	lp_alloc_log_unlock_all();
	/* Only the forking thread lives on: every other log is pooled. */
	pool = NULL;
	for (uint32_t id = nlogs; id >= 1; id--) {
		struct lp_log *l = logs(id);
		if (l == my_log)
			continue;
		l->next_pooled = pool;
		pool = l;
	}
}
