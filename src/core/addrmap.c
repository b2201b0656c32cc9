/* SPDX-License-Identifier: MIT */
/* addrmap.c - see addrmap.h. */
#include "core/own_memory.h"
#include "core/addrmap.h"

#include <string.h>
#include <sys/mman.h>

#include "core/vec.h"

static inline uint32_t
home(const struct lp_addrmap *m, uintptr_t key)
{
	return (uint32_t)((lp_addrmap_hash(key) >> 32) * m->cap >> 32);
}

static size_t
bytes_for(uint32_t cap)
{
	return ((size_t)cap * sizeof(struct lp_addrmap_slot) + 4095) & ~(size_t)4095;
}

static bool
rehash(struct lp_addrmap *m, uint32_t ncap)
{
	struct lp_addrmap n = { 0 };
	size_t bytes = bytes_for(ncap);
	void *p = lp_map_large(bytes);
	if (!p)
		return false;
	n.slots = p;
	n.cap = (uint32_t)(bytes / sizeof(struct lp_addrmap_slot));
	for (uint32_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].key)
			continue;
		uint32_t j = home(&n, m->slots[i].key);
		while (n.slots[j].key)
			if (++j == n.cap)
				j = 0;
		n.slots[j] = m->slots[i];
		n.count++;
	}
	lp_addrmap_free(m);
	*m = n;
	return true;
}

bool
lp_addrmap_reserve(struct lp_addrmap *m, uint32_t n)
{
	/* At most 70 % full: probes stay short. */
	uint64_t want = (uint64_t)n * 10 / 7 + 16;
	if (want <= m->cap)
		return true;
	if (want > UINT32_MAX / 2)
		return false;
	return rehash(m, (uint32_t)want);
}

bool
lp_addrmap_put(struct lp_addrmap *m, uintptr_t key, uint32_t value)
{
	if ((uint64_t)(m->count + 1) * 10 > (uint64_t)m->cap * 7 &&
	    !lp_addrmap_reserve(m, m->count + 1 + m->count / 2))
		return false;
	uint32_t i = home(m, key);
	while (m->slots[i].key && m->slots[i].key != key)
		if (++i == m->cap)
			i = 0;
	if (!m->slots[i].key)
		m->count++;
	m->slots[i] = (struct lp_addrmap_slot){ key, value, 0 };
	return true;
}

struct lp_addrmap_slot *
lp_addrmap_insert_new(struct lp_addrmap *m, uintptr_t key)
{
	uint32_t i = home(m, key);
	while (m->slots[i].key)
		if (++i == m->cap)
			i = 0;
	m->slots[i].key = key;
	m->count++;
	return &m->slots[i];
}

bool
lp_addrmap_remove(struct lp_addrmap *m, uintptr_t key)
{
	struct lp_addrmap_slot *s = lp_addrmap_find(m, key);
	if (!s)
		return false;
	uint32_t hole = (uint32_t)(s - m->slots), j = hole;
	for (;;) {
		if (++j == m->cap)
			j = 0;
		if (!m->slots[j].key)
			break;
		uint32_t h = home(m, m->slots[j].key);
		bool stays = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j);
		if (stays)
			continue;
		m->slots[hole] = m->slots[j];
		hole = j;
	}
	memset(&m->slots[hole], 0, sizeof(m->slots[hole]));
	m->count--;
	return true;
}

void
lp_addrmap_clear(struct lp_addrmap *m)
{
	if (m->count)
		memset(m->slots, 0, (size_t)m->cap * sizeof(*m->slots));
	m->count = 0;
}

void
lp_addrmap_free(struct lp_addrmap *m)
{
	if (m->slots)
		lp_own_munmap(m->slots, bytes_for(m->cap));
	memset(m, 0, sizeof(*m));
}
