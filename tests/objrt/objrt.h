/* objrt.h - a small object runtime with CPython's object ABI (64-bit):
 * the subset leakprobe's object model and cycle detector rely on.
 *
 *   object:  ob_refcnt @0, ob_type @8 (var objects: ob_size @16)
 *   type:    tp_name @24, tp_basicsize @32, tp_itemsize @40,
 *            tp_dealloc @48, tp_flags @168 (HAVE_GC = 1 << 14),
 *            tp_traverse @184, tp_clear @192
 *   GC head: 16 bytes before a GC object; gc_next != 0 while tracked
 *
 * It exports the CPython API names (Py_IncRef, _PyObject_GC_New, ...), so
 * calls from the test programs go through the PLT, where the shim
 * interposes them.  Like CPython, every API call is made with the
 * runtime's global lock held (objrt_lock). */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct objrt_type PyTypeObject;
typedef struct {
	intptr_t ob_refcnt;
	PyTypeObject *ob_type;
} PyObject;
typedef struct {
	PyObject ob_base;
	intptr_t ob_size;
} PyVarObject;

typedef int (*visitproc)(PyObject *, void *);
typedef int (*traverseproc)(PyObject *, visitproc, void *);

struct objrt_type {
	PyVarObject ob_base;
	const char *tp_name;
	intptr_t tp_basicsize, tp_itemsize;
	void (*tp_dealloc)(PyObject *);
	char unused[168 - 56];
	unsigned long tp_flags;
	const char *tp_doc;
	traverseproc tp_traverse;
	int (*tp_clear)(PyObject *);
};
#define Py_TPFLAGS_HAVE_GC (1ul << 14)

_Static_assert(offsetof(PyTypeObject, tp_name) == 24, "tp_name");
_Static_assert(offsetof(PyTypeObject, tp_basicsize) == 32, "tp_basicsize");
_Static_assert(offsetof(PyTypeObject, tp_flags) == 168, "tp_flags");
_Static_assert(offsetof(PyTypeObject, tp_traverse) == 184, "tp_traverse");

/* The CPython API subset. */
void Py_IncRef(PyObject *);
void Py_DecRef(PyObject *);
void _Py_Dealloc(PyObject *);
PyObject *_PyObject_GC_New(PyTypeObject *);
PyVarObject *_PyObject_GC_NewVar(PyTypeObject *, intptr_t);
void PyObject_GC_Track(void *);
void PyObject_GC_UnTrack(void *);
void PyObject_GC_Del(void *);
PyObject *_PyObject_New(PyTypeObject *);
PyObject *PyObject_Init(PyObject *, PyTypeObject *);

/* Types: "list" (fixed length, items settable), "tuple", "app.Node"
 * (two slots a, b), "int" (not a container). */
extern PyTypeObject objrt_list_type, objrt_tuple_type, objrt_node_type,
	objrt_int_type;

PyObject *objrt_list_new(intptr_t n);
PyObject *objrt_tuple_new(intptr_t n);
PyObject *objrt_node_new(void);
PyObject *objrt_int_new(long value);
/* Store value (a new reference is taken) in slot i; the old one is
 * released. */
void objrt_set(PyObject *container, intptr_t i, PyObject *value);

/* The runtime's global lock (CPython's GIL). */
void objrt_lock(void);
void objrt_unlock(void);
/* Objects alive in the runtime (for tests). */
long objrt_live_objects(void);
