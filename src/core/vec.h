/* SPDX-License-Identifier: MIT */
/*
 * vec.h - growable arrays in memory from mmap, for the detector and the
 * object registry: nothing they hold ever comes from the program's heap.
 */
#pragma once

#include <string.h>
#include <sys/mman.h>

#include "core/own_memory.h"
#include "core/base.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* Big arrays that are probed at random: huge pages spare a TLB miss per
 * probe. */
static inline void
lp_advise_large(void *p, size_t bytes)
{
	if (bytes >= (4u << 20))
		madvise(p, bytes, MADV_HUGEPAGE);
}

/* mmap, 2 MiB aligned when big so huge pages can back all of it, and
 * faulted in at once: a page fault per 4 KiB costs more than the work the
 * memory is for. */
static inline void *
lp_map_large(size_t bytes)
{
	const size_t huge = 2u << 20;
	if (bytes < (4u << 20)) {
		void *p = lp_own_mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	char *p = lp_own_mmap(NULL, bytes + huge, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	char *a = (char *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
	if (a > p)
		lp_own_munmap(p, (size_t)(a - p));
	lp_own_munmap(a + bytes, (size_t)(p + huge - a));
	lp_advise_large(a, bytes);
	madvise(a, bytes, MADV_POPULATE_WRITE);
	return a;
}

struct lp_vec {
	void *data;
	size_t len, cap; /* in elements */
	size_t elem;
};

#define LP_VEC_INIT(type) { NULL, 0, 0, sizeof(type) }

static inline bool
lp_vec_reserve(struct lp_vec *v, size_t n)
{
	if (n <= v->cap)
		return true;
	size_t ncap = v->cap ? v->cap : 4096 / v->elem;
	while (ncap < n)
		ncap *= 2;
	size_t old_bytes = ((v->cap * v->elem) + 4095) & ~(size_t)4095;
	size_t bytes = ((ncap * v->elem) + 4095) & ~(size_t)4095;
	void *p = v->data ? lp_own_mremap(v->data, old_bytes, bytes, MREMAP_MAYMOVE, NULL)
			  : lp_map_large(bytes);
	if (!p || p == MAP_FAILED)
		return false;
	if (v->data)
		lp_advise_large(p, bytes);
	v->data = p;
	v->cap = bytes / v->elem;
	return true;
}

/* Pointer to a new zeroed element, or NULL when out of memory. */
static inline void *
lp_vec_push(struct lp_vec *v)
{
	if (lp_unlikely(v->len == v->cap) && !lp_vec_reserve(v, v->len + 1))
		return NULL;
	char *e = (char *)v->data + v->len++ * v->elem;
	memset(e, 0, v->elem);
	return e;
}

static inline void
lp_vec_free(struct lp_vec *v)
{
	if (v->data)
		lp_own_munmap(v->data, ((v->cap * v->elem) + 4095) & ~(size_t)4095);
	v->data = NULL;
	v->len = v->cap = 0;
}

#define LP_VEC_AT(v, type, i) (((type *)(v)->data)[i])
