/* SPDX-License-Identifier: MIT */
/* own_memory.c - see own_memory.h. */
#include "core/own_memory.h"

#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/spinlock.h"

static struct lp_range table[LP_OWN_RANGES];
static size_t used;
static bool overflowed;
static lp_spinlock lock;

/* The table's lock with every signal blocked: raw system calls, so that
 * neither errno nor the program's view of its mask changes. */
static void
enter(sigset_t *saved)
{
	sigset_t all;
	sigfillset(&all);
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, saved, 8);
	lp_spin_lock(&lock);
}

static void
leave(const sigset_t *saved)
{
	lp_spin_unlock(&lock);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, saved, NULL, 8);
}

static void
add(uintptr_t lo, uintptr_t hi)
{
	if (used < LP_OWN_RANGES)
		table[used++] = (struct lp_range){ lo, hi };
	else
		overflowed = true;
}

/* Takes [lo, hi) out of every range; a range cut in two needs a slot. */
static void
subtract(uintptr_t lo, uintptr_t hi)
{
	for (size_t i = 0; i < used; i++) {
		struct lp_range r = table[i];
		if (r.hi <= lo || r.lo >= hi)
			continue;
		if (r.lo < lo && r.hi > hi) {
			table[i].hi = lo;
			add(hi, r.hi);
		} else if (r.lo < lo) {
			table[i].hi = lo;
		} else if (r.hi > hi) {
			table[i].lo = hi;
		} else {
			table[i--] = table[--used];
		}
	}
}

static uintptr_t
page_end(uintptr_t a, size_t len)
{
	return (a + len + 4095) & ~(uintptr_t)4095;
}

void *
lp_own_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED) {
		sigset_t saved;
		enter(&saved);
		subtract((uintptr_t)p, page_end((uintptr_t)p, len)); /* MAP_FIXED over ours */
		add((uintptr_t)p, page_end((uintptr_t)p, len));
		leave(&saved);
	}
	return p;
}

int
lp_own_munmap(void *addr, size_t len)
{
	int r = munmap(addr, len);
	if (r == 0) {
		sigset_t saved;
		enter(&saved);
		subtract((uintptr_t)addr, page_end((uintptr_t)addr, len));
		leave(&saved);
	}
	return r;
}

void *
lp_own_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	void *p = mremap(old, old_len, new_len, flags, new_addr);
	if (p != MAP_FAILED) {
		sigset_t saved;
		enter(&saved);
		subtract((uintptr_t)old, page_end((uintptr_t)old, old_len));
		add((uintptr_t)p, page_end((uintptr_t)p, new_len));
		leave(&saved);
	}
	return p;
}

int
lp_own_ranges(struct lp_range *out, size_t cap)
{
	sigset_t saved;
	enter(&saved);
	int n = overflowed || used > cap ? -1 : (int)used;
	if (n > 0)
		memcpy(out, table, used * sizeof(*out));
	leave(&saved);
	return n;
}

void
lp_own_after_fork_child(void)
{
	lock = (lp_spinlock){ 0 };
}
