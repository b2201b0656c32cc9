/* SPDX-License-Identifier: MIT */
/* type_histogram.c - lp_type_histogram (objects.h): objects per type, for
 * the generation statistics here and the live interpreter's (python/). */
#include <stdlib.h>
#include <string.h>

#include "detect/pyabi.h"
#include "objects/objects.h"

static int
by_count_desc(const void *a, const void *b)
{
	const struct lp_type_count *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->type < y->type ? -1 : x->type > y->type;
}

/* Names are read here, while the types are known alive (the caller holds
 * the registry's lock or the GIL), so that rendering reads no type object.
 * Two classes may share a __name__: a histogram shows names, so they are
 * merged (quadratic in the distinct types, which are hundreds). */
static void
merge_by_name(struct lp_vec *hist)
{
	struct lp_type_count *tc = hist->data;
	size_t kept = 0;
	for (size_t i = 0; i < hist->len; i++) {
		tc[i].name = lp_py_short_name(lp_py_type_name(tc[i].type));
		size_t j = 0;
		while (j < kept && strcmp(tc[j].name, tc[i].name))
			j++;
		if (j < kept)
			tc[j].count += tc[i].count;
		else
			tc[kept++] = tc[i];
	}
	hist->len = kept;
}

/* Counting in a small table keyed by type (a program has hundreds of
 * types, not millions): one pass over n objects, no sort of them. */
void
lp_type_histogram(const uintptr_t *types, size_t n, struct lp_vec *out)
{
	struct lp_vec table = LP_VEC_INIT(struct lp_type_count);
	size_t cap = 1024, used = 0;
	if (!lp_vec_reserve(&table, cap))
		return;
	struct lp_type_count *t = table.data;
	memset(t, 0, cap * sizeof(*t));
	for (size_t k = 0; k < n; k++) {
		if (used * 2 >= cap) {
			/* Rehash into a table twice the size. */
			struct lp_vec bigger = LP_VEC_INIT(struct lp_type_count);
			if (!lp_vec_reserve(&bigger, cap * 2))
				break;
			struct lp_type_count *b = bigger.data;
			memset(b, 0, cap * 2 * sizeof(*b));
			for (size_t i = 0; i < cap; i++) {
				if (!t[i].count)
					continue;
				size_t h = (size_t)((t[i].type * 0x9E3779B97F4A7C15ull) >> 32) & (cap * 2 - 1);
				while (b[h].count)
					h = (h + 1) & (cap * 2 - 1);
				b[h] = t[i];
			}
			lp_vec_free(&table);
			table = bigger;
			t = table.data;
			cap *= 2;
		}
		size_t h = (size_t)((types[k] * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
		while (t[h].count && t[h].type != types[k])
			h = (h + 1) & (cap - 1);
		if (!t[h].count) {
			t[h].type = types[k];
			used++;
		}
		t[h].count++;
	}
	for (size_t i = 0; i < cap; i++) {
		if (!t[i].count)
			continue;
		struct lp_type_count *tc = lp_vec_push(out);
		if (tc)
			*tc = t[i];
	}
	lp_vec_free(&table);
	merge_by_name(out);
	if (out->len)
		qsort(out->data, out->len, sizeof(struct lp_type_count), by_count_desc);
}
