/* objrt.c - see objrt.h. */
#include "objrt.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct gc_head {
	uintptr_t gc_next, gc_prev;
};

static pthread_mutex_t gil = PTHREAD_MUTEX_INITIALIZER;
static long live;
/* Tracked objects form a list through their GC heads, as in CPython; the
 * list head is a sentinel. */
static struct gc_head tracked = { (uintptr_t)&tracked, (uintptr_t)&tracked };

#define HEAD(op) ((struct gc_head *)(op) - 1)

void objrt_lock(void) { pthread_mutex_lock(&gil); }
void objrt_unlock(void) { pthread_mutex_unlock(&gil); }
long objrt_live_objects(void) { return live; }

void
Py_IncRef(PyObject *op)
{
	if (op)
		op->ob_refcnt++;
}

void
Py_DecRef(PyObject *op)
{
	if (op && --op->ob_refcnt == 0)
		_Py_Dealloc(op);
}

void
_Py_Dealloc(PyObject *op)
{
	op->ob_type->tp_dealloc(op);
}

static void *
gc_alloc(size_t size)
{
	struct gc_head *h = calloc(1, sizeof(*h) + size);
	if (!h)
		abort();
	live++;
	return h + 1;
}

PyObject *
_PyObject_GC_New(PyTypeObject *tp)
{
	PyObject *op = gc_alloc((size_t)tp->tp_basicsize);
	op->ob_refcnt = 1;
	op->ob_type = tp;
	return op;
}

PyVarObject *
_PyObject_GC_NewVar(PyTypeObject *tp, intptr_t n)
{
	PyVarObject *op = gc_alloc((size_t)(tp->tp_basicsize + n * tp->tp_itemsize));
	op->ob_base.ob_refcnt = 1;
	op->ob_base.ob_type = tp;
	op->ob_size = n;
	return op;
}

void
PyObject_GC_Track(void *op)
{
	struct gc_head *h = HEAD(op);
	if (h->gc_next)
		abort(); /* CPython: "object already tracked" */
	h->gc_next = (uintptr_t)&tracked;
	h->gc_prev = tracked.gc_prev;
	((struct gc_head *)tracked.gc_prev)->gc_next = (uintptr_t)h;
	tracked.gc_prev = (uintptr_t)h;
}

void
PyObject_GC_UnTrack(void *op)
{
	struct gc_head *h = HEAD(op);
	if (!h->gc_next)
		return;
	((struct gc_head *)h->gc_prev)->gc_next = h->gc_next;
	((struct gc_head *)h->gc_next)->gc_prev = h->gc_prev;
	h->gc_next = h->gc_prev = 0;
}

void
PyObject_GC_Del(void *op)
{
	live--;
	free(HEAD(op));
}

PyObject *
PyObject_Init(PyObject *op, PyTypeObject *tp)
{
	op->ob_refcnt = 1;
	op->ob_type = tp;
	return op;
}

PyObject *
_PyObject_New(PyTypeObject *tp)
{
	PyObject *op = malloc((size_t)tp->tp_basicsize);
	if (!op)
		abort();
	live++;
	return PyObject_Init(op, tp);
}

/* --- containers: list, tuple (ob_size items), Node (two slots) ---------- */

typedef struct {
	PyVarObject ob_base;
	PyObject *items[];
} seq_object;

typedef struct {
	PyObject ob_base;
	PyObject *slot[2];
} node_object;

typedef struct {
	PyObject ob_base;
	long value;
} int_object;

static int
seq_traverse(PyObject *op, visitproc visit, void *arg)
{
	seq_object *s = (seq_object *)op;
	for (intptr_t i = 0; i < s->ob_base.ob_size; i++)
		if (s->items[i]) {
			int r = visit(s->items[i], arg);
			if (r)
				return r;
		}
	return 0;
}

static void
seq_dealloc(PyObject *op)
{
	seq_object *s = (seq_object *)op;
	PyObject_GC_UnTrack(op);
	for (intptr_t i = 0; i < s->ob_base.ob_size; i++)
		Py_DecRef(s->items[i]);
	PyObject_GC_Del(op);
}

static int
node_traverse(PyObject *op, visitproc visit, void *arg)
{
	node_object *n = (node_object *)op;
	for (int i = 0; i < 2; i++)
		if (n->slot[i]) {
			int r = visit(n->slot[i], arg);
			if (r)
				return r;
		}
	return 0;
}

static void
node_dealloc(PyObject *op)
{
	node_object *n = (node_object *)op;
	PyObject_GC_UnTrack(op);
	Py_DecRef(n->slot[0]);
	Py_DecRef(n->slot[1]);
	PyObject_GC_Del(op);
}

static void
int_dealloc(PyObject *op)
{
	live--;
	free(op);
}

PyTypeObject objrt_list_type = {
	.tp_name = "list", .tp_basicsize = sizeof(seq_object),
	.tp_itemsize = sizeof(PyObject *), .tp_dealloc = seq_dealloc,
	.tp_flags = Py_TPFLAGS_HAVE_GC, .tp_traverse = seq_traverse,
};
PyTypeObject objrt_tuple_type = {
	.tp_name = "tuple", .tp_basicsize = sizeof(seq_object),
	.tp_itemsize = sizeof(PyObject *), .tp_dealloc = seq_dealloc,
	.tp_flags = Py_TPFLAGS_HAVE_GC, .tp_traverse = seq_traverse,
};
PyTypeObject objrt_node_type = {
	.tp_name = "app.Node", .tp_basicsize = sizeof(node_object),
	.tp_dealloc = node_dealloc, .tp_flags = Py_TPFLAGS_HAVE_GC,
	.tp_traverse = node_traverse,
};
PyTypeObject objrt_int_type = {
	.tp_name = "int", .tp_basicsize = sizeof(int_object),
	.tp_dealloc = int_dealloc,
};

static PyObject *
seq_new(PyTypeObject *tp, intptr_t n)
{
	PyObject *op = (PyObject *)_PyObject_GC_NewVar(tp, n);
	memset(((seq_object *)op)->items, 0, (size_t)n * sizeof(PyObject *));
	PyObject_GC_Track(op);
	return op;
}

PyObject *objrt_list_new(intptr_t n) { return seq_new(&objrt_list_type, n); }
PyObject *objrt_tuple_new(intptr_t n) { return seq_new(&objrt_tuple_type, n); }

PyObject *
objrt_node_new(void)
{
	node_object *n = (node_object *)_PyObject_GC_New(&objrt_node_type);
	n->slot[0] = n->slot[1] = NULL;
	PyObject_GC_Track(n);
	return (PyObject *)n;
}

PyObject *
objrt_int_new(long value)
{
	int_object *i = (int_object *)_PyObject_New(&objrt_int_type);
	i->value = value;
	return (PyObject *)i;
}

void
objrt_set(PyObject *container, intptr_t i, PyObject *value)
{
	PyObject **slot;
	if (container->ob_type == &objrt_node_type)
		slot = &((node_object *)container)->slot[i];
	else
		slot = &((seq_object *)container)->items[i];
	Py_IncRef(value);
	PyObject *old = *slot;
	*slot = value;
	Py_DecRef(old);
}
