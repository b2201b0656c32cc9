/* SPDX-License-Identifier: MIT */
/* strpool.c - see strpool.h. */
#include "core/strpool.h"

#include <stdlib.h>
#include <string.h>

#include "core/bootstrap.h"
#include "core/hash.h"

struct pooled {
	UT_hash_handle hh;
	size_t len;
	char s[];
};
static struct pooled *pool;

const char *
lp_intern(const char *s, size_t n)
{
	struct pooled *p;
	if (!s)
		return NULL;
	HASH_FIND(hh, pool, s, n, p);
	if (p)
		return p->s;
	p = lp_real.malloc(sizeof(*p) + n + 1);
	if (!p)
		return NULL;
	p->len = n;
	memcpy(p->s, s, n);
	p->s[n] = 0;
	HASH_ADD_KEYPTR(hh, pool, p->s, n, p);
	return p->s; /* also when the table could not grow: a copy, not shared */
}

