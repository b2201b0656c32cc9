/* SPDX-License-Identifier: MIT */
/*
 * addrmap.h - address -> 32-bit index, open addressing with linear probing
 * and backward-shift deletion, memory from mmap (never the program's
 * heap).  Not synchronised: callers lock.
 */
#pragma once

#include "core/base.h"

struct lp_addrmap_slot {
	uintptr_t key; /* 0: empty */
	uint32_t value;
	uint32_t extra; /* free for the user (the detector keeps state here) */
};

struct lp_addrmap {
	struct lp_addrmap_slot *slots;
	uint32_t cap, count;
};

/* Room for n keys without growing. */
bool lp_addrmap_reserve(struct lp_addrmap *m, uint32_t n) LP_HIDDEN;
bool lp_addrmap_put(struct lp_addrmap *m, uintptr_t key, uint32_t value) LP_HIDDEN;
/* Insert key (absent, room reserved) and return its slot. */
struct lp_addrmap_slot *lp_addrmap_insert_new(struct lp_addrmap *m, uintptr_t key) LP_HIDDEN;
bool lp_addrmap_remove(struct lp_addrmap *m, uintptr_t key) LP_HIDDEN;
void lp_addrmap_free(struct lp_addrmap *m) LP_HIDDEN;

static inline uint64_t
lp_addrmap_hash(uintptr_t key)
{
	return (uint64_t)(key >> 3) * 0x9E3779B97F4A7C15ull;
}

/* Forget every key, keep the memory. */
void lp_addrmap_clear(struct lp_addrmap *m) LP_HIDDEN;

/* Where key's probe starts (for prefetching). */
static inline const struct lp_addrmap_slot *
lp_addrmap_home_slot(const struct lp_addrmap *m, uintptr_t key)
{
	return &m->slots[(uint32_t)((lp_addrmap_hash(key) >> 32) * m->cap >> 32)];
}

static inline struct lp_addrmap_slot *
lp_addrmap_find(const struct lp_addrmap *m, uintptr_t key)
{
	if (lp_unlikely(!m->cap))
		return NULL;
	uint32_t i = (uint32_t)((lp_addrmap_hash(key) >> 32) * m->cap >> 32);
	for (;;) {
		struct lp_addrmap_slot *s = &m->slots[i];
		if (s->key == key)
			return s;
		if (!s->key)
			return NULL;
		if (++i == m->cap)
			i = 0;
	}
}
