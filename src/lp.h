/* SPDX-License-Identifier: MIT */
/*
 * lp.h - definitions shared by every part of the shim.
 *
 * Naming: leakprobe_* is the public API (include/leakprobe.h), lp_* is
 * internal.  Everything internal has hidden visibility; the version script
 * (leakprobe.map) exports only the interposed entry points and the API.
 */
#pragma once

#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LP_HIDDEN __attribute__((visibility("hidden")))
#define LP_EXPORT __attribute__((visibility("default")))
#define LP_NOINLINE __attribute__((noinline))
#define LP_COLD __attribute__((cold, noinline))
#define lp_likely(x) __builtin_expect(!!(x), 1)
#define lp_unlikely(x) __builtin_expect(!!(x), 0)
#define LP_ARRAY_LENGTH(a) (sizeof(a) / sizeof((a)[0]))

#ifdef LP_DEBUG
#define lp_assert(x)                                                           \
	do {                                                                   \
		if (!(x))                                                      \
			lp_die("assertion failed: " #x);                       \
	} while (0)
#else
#define lp_assert(x) do {} while (0)
#endif

/* The functions we interpose, as resolved with dlsym(RTLD_NEXT). */
struct lp_real {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
	int (*dlclose)(void *);
};
extern struct lp_real lp_real LP_HIDDEN;

/* Lifecycle: 0 nothing resolved, 1 resolving, 2 real functions known,
 * 3 tracking (tables, options, unwinder ready), 4 tracking, and the next
 * allocation starts the report worker (report_signal.c): the hot paths
 * test for LP_TRACKING alone and find LP_WAKE on their slow path. */
enum lp_state { LP_UNRESOLVED, LP_RESOLVING, LP_RESOLVED, LP_TRACKING, LP_WAKE };
extern volatile int lp_state LP_HIDDEN;

static inline bool
lp_tracking_on(void)
{
	return lp_state >= LP_TRACKING;
}

/* Resolve lp_real; returns false while resolution is under way (the caller
 * then serves the request from the bootstrap arena). */
bool lp_resolve(void) LP_HIDDEN;
/* Full initialisation: options, tables, unwinder, exit hook, signals. */
void lp_init(void) LP_HIDDEN;

/* Monotonic clock in nanoseconds. */
uint64_t lp_now_ns(void) LP_HIDDEN;
/* Wait up to ms milliseconds for sem (EINTR retried): true when taken. */
bool lp_sem_wait_ms(sem_t *sem, unsigned ms) LP_HIDDEN;
extern uint64_t lp_start_ns LP_HIDDEN;

_Noreturn void lp_die(const char *msg) LP_HIDDEN;
