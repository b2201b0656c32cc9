/* SPDX-License-Identifier: MIT */
/* describe.c - see describe.h.  Offsets read (stable 3.8-3.13): list
 * ob_item @24, tuple items @24, ob_size @16. */
#include "python/describe.h"

#include <string.h>

#include "core/linewriter.h"
#include "detect/pyabi.h"
#include "python/capi.h"
#include "python/cpython.h"


static const char *
str_of(void *o)
{
	const char *u = o && lp_py_type((uintptr_t)o) == (uintptr_t)lp_py.Unicode_Type
				? lp_py.Unicode_AsUTF8(o) : NULL;
	if (!u)
		lp_py.Err_Clear();
	return u;
}

/* An attribute served by a C getset/member of an exact builtin type. */
static void
builtin_attr(void *o, const char *name, char *buf, size_t cap)
{
	void *a = lp_py.GetAttrString(o, name);
	const char *u = str_of(a);
	lp_fmt(buf, cap, "%s", u ? u : "?");
	if (a)
		lp_py.DecRef(a);
	lp_py.Err_Clear();
}

void
lp_cpython_describe(uintptr_t obj, char *buf, size_t cap)
{
	void *o = (void *)obj;
	uintptr_t t = lp_py_type(obj);
	char tmp[200];

	if (t == (uintptr_t)lp_py.Function_Type) {
		builtin_attr(o, "__qualname__", tmp, sizeof(tmp));
		lp_fmt(buf, cap, "function %s", tmp);
	} else if (t == (uintptr_t)lp_py.Gen_Type) {
		builtin_attr(o, "__qualname__", tmp, sizeof(tmp));
		lp_fmt(buf, cap, "generator %s", tmp);
	} else if (t == (uintptr_t)lp_py.Type_Type) {
		lp_fmt(buf, cap, "class %s", lp_py_type_name(obj));
	} else if (t == (uintptr_t)lp_py.Module_Type) {
		const char *n = lp_py.Module_GetName(o);
		lp_fmt(buf, cap, "module %s", n ? n : "?");
		lp_py.Err_Clear();
	} else if (t == (uintptr_t)lp_py.Method_Type) {
		void *f = lp_py.GetAttrString(o, "__func__");
		if (f && lp_py_type((uintptr_t)f) == (uintptr_t)lp_py.Function_Type)
			builtin_attr(f, "__qualname__", tmp, sizeof(tmp));
		else
			lp_fmt(tmp, sizeof(tmp), "?");
		if (f)
			lp_py.DecRef(f);
		lp_py.Err_Clear();
		lp_fmt(buf, cap, "bound method %s", tmp);
	} else if (t == (uintptr_t)lp_py.List_Type || t == (uintptr_t)lp_py.Dict_Type ||
		   t == (uintptr_t)lp_py.Tuple_Type || t == (uintptr_t)lp_py.Set_Type) {
		ssize_t n = lp_py.Object_Size(o);
		lp_py.Err_Clear();
		lp_fmt(buf, cap, "%s of %ld", lp_py_type_name(t), (long)n);
	} else if (t == (uintptr_t)lp_py.Cell_Type) {
		lp_fmt(buf, cap, "cell");
	} else {
		lp_fmt(buf, cap, "%s object", lp_py_short_name(lp_py_type_name(t)));
	}
}

/* tracemalloc knows the block, which starts before the object by the
 * GC head and, for managed-dict instances (3.11+), the pre-header. */
static void *
allocation_traceback(uintptr_t obj)
{
	if (!lp_py.TraceMalloc_GetTraceback)
		return NULL;
	uintptr_t t = lp_py_type(obj);
	unsigned long flags = lp_py_type_flags(t);
	uintptr_t pre = (flags & LP_PY_TPFLAGS_HAVE_GC) ? LP_PY_GC_HEAD_SIZE : 0;
	int minor = lp_cpython_minor();
	if ((minor == 11 && (flags & (1ul << 4))) ||
	    (minor >= 12 && (flags & ((1ul << 4) | (1ul << 3)))))
		pre += 16;
	void *tb = lp_py.TraceMalloc_GetTraceback(0, obj - pre);
	if (!tb)
		lp_py.Err_Clear();
	if (tb == lp_py.None) {
		lp_py.DecRef(tb);
		return NULL;
	}
	return tb;
}

void *
lp_cpython_traceback(uintptr_t obj, size_t *nframes)
{
	void *tb = allocation_traceback(obj);
	ssize_t n = tb ? lp_py.Tuple_Size(tb) : 0;
	*nframes = n > 0 ? (size_t)n : 0;
	lp_py.Err_Clear();
	return tb;
}

void
lp_cpython_traceback_frame(void *tb, size_t i, const char **file, long long *line)
{
	void *fr = lp_py.Tuple_GetItem(tb, (ssize_t)i);
	*file = str_of(lp_py.Tuple_GetItem(fr, 0));
	*line = lp_py.Long_AsLongLong(lp_py.Tuple_GetItem(fr, 1));
	lp_py.Err_Clear();
}

void
lp_cpython_traceback_done(void *tb)
{
	if (tb)
		lp_py.DecRef(tb);
	lp_py.Err_Clear();
}

uint64_t
lp_cpython_object_size(uintptr_t obj)
{
	uintptr_t t = lp_py_type(obj);
	int64_t size = lp_py_type_basicsize(t), item = lp_py_type_itemsize(t);
	if (item) {
		int64_t n = *(const int64_t *)(obj + 16);
		size += item * (n < 0 ? -n : n);
	}
	return (uint64_t)size;
}

void
lp_cpython_describe_step(uintptr_t from, uintptr_t to, struct lp_py_step *st)
{
	uintptr_t t = lp_py_type(from);

	memset(st, 0, sizeof(*st));
	st->index = -1;
	st->type = lp_py_short_name(lp_py_type_name(t));
	if (t == (uintptr_t)lp_py.Module_Type) {
		st->module = true;
		st->name = lp_py.Module_GetName((void *)from);
		if (!st->name)
			lp_py.Err_Clear();
	} else if (t == (uintptr_t)lp_py.Dict_Type) {
		ssize_t pos = 0;
		void *k, *v;
		while (lp_py.Dict_Next((void *)from, &pos, &k, &v)) {
			if ((uintptr_t)v != to)
				continue;
			const char *ks = str_of(k);
			if (ks)
				lp_fmt(st->key, sizeof(st->key), "%s", ks);
			else
				lp_fmt(st->key, sizeof(st->key), "<%s key>",
				       lp_py_short_name(lp_py_type_name(lp_py_type((uintptr_t)k))));
			break;
		}
	} else if (t == (uintptr_t)lp_py.List_Type || t == (uintptr_t)lp_py.Tuple_Type) {
		ssize_t n = *(const int64_t *)(from + 16);
		const uintptr_t *items = t == (uintptr_t)lp_py.List_Type
						 ? *(const uintptr_t *const *)(from + 24)
						 : (const uintptr_t *)(from + 24);
		for (ssize_t i = 0; i < n; i++)
			if (items[i] == to) {
				st->index = (long)i;
				break;
			}
	} else {
		st->instance = true;
	}
}
