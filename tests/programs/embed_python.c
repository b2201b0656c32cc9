/* embed_python.c - a program that embeds libpython (shared) and builds
 * garbage through the C API; then asks leakprobe for a report (the GIL is
 * held: Python objects are examined there and then) and afterwards lets
 * CPython's own collector name the garbage of the same process
 * (DEBUG_SAVEALL), by address, into $LP_TRUTH. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define LEAKPROBE_WEAK_API
#include <leakprobe.h>

int
main(void)
{
	Py_Initialize();
	/* A deterministic heap: what the oracle needs imported now, start-up
	 * garbage collected, then no automatic collection until the
	 * oracle's. */
	PyRun_SimpleString("import gc, os, json; gc.collect(); gc.disable()");

	for (int i = 0; i < 5; i++) { /* self-referencing lists */
		PyObject *l = PyList_New(0);
		PyList_Append(l, l);
		Py_DECREF(l);
	}
	PyObject *a = PyDict_New(), *b = PyDict_New(); /* a 2-cycle of dicts */
	PyDict_SetItemString(a, "peer", b);
	PyDict_SetItemString(b, "peer", a);
	PyObject *t = PyTuple_Pack(1, a); /* hangs off the cycle: a tail */
	PyDict_SetItemString(b, "tail", t);
	Py_DECREF(t);
	Py_DECREF(a);
	Py_DECREF(b);
	PyObject *kept = PyList_New(0); /* a cycle C code still holds */
	PyList_Append(kept, kept);

	if (leakprobe_report)
		leakprobe_report("embedded");

	PyRun_SimpleString(
		"gc.set_debug(gc.DEBUG_SAVEALL)\n"
		"gc.collect()\n"
		"g = [o for o in gc.garbage]\n"
		"p = os.environ.get('LP_TRUTH')\n"
		"if p:\n"
		"    json.dump({'garbage': [hex(id(o)) for o in g],\n"
		"               'types': [type(o).__name__ for o in g]}, open(p, 'w'))\n");
	Py_DECREF(kept);
	Py_Finalize();
	return 0;
}
