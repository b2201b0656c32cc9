/* SPDX-License-Identifier: MIT */
/*
 * vec.h - growable arrays in memory from mmap, for the detector and the
 * object registry: nothing they hold ever comes from the program's heap.
 */
#pragma once

#include <string.h>
#include <sys/mman.h>

#include "lp.h"

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
	void *p = v->data ? mremap(v->data, old_bytes, bytes, MREMAP_MAYMOVE)
			  : mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
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
		munmap(v->data, ((v->cap * v->elem) + 4095) & ~(size_t)4095);
	v->data = NULL;
	v->len = v->cap = 0;
}

#define LP_VEC_AT(v, type, i) (((type *)(v)->data)[i])
