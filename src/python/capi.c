/* SPDX-License-Identifier: MIT */
/* pyapi.c - see pyapi.h. */
#include "python/capi.h"

#include <dlfcn.h>

static void *
sym(const char *name)
{
	return dlsym(RTLD_DEFAULT, name);
}

bool
lp_pyapi_resolve(struct lp_pyapi *a)
{
	/* Py_IsInitialized alone decides whether there is an interpreter:
	 * libleakprobe.so itself defines Py_IncRef and friends. */
	a->IsInitialized = sym("Py_IsInitialized");
	if (!a->IsInitialized)
		return false;
#define REQUIRED(field, name)                                                  \
	if (!(*(void **)&a->field = sym(name)))                                \
		return false
#define OPTIONAL(field, name) *(void **)&a->field = sym(name)
	REQUIRED(AddAuditHook, "PySys_AddAuditHook");
	REQUIRED(GetVersion, "Py_GetVersion");
	REQUIRED(GILState_Ensure, "PyGILState_Ensure");
	REQUIRED(GILState_Release, "PyGILState_Release");
	REQUIRED(GILState_Check, "PyGILState_Check");
	REQUIRED(CFunction_NewEx, "PyCFunction_NewEx");
	REQUIRED(Import, "PyImport_ImportModule");
	REQUIRED(GetAttrString, "PyObject_GetAttrString");
	REQUIRED(CallMethod, "PyObject_CallMethod");
	REQUIRED(CallFunction, "PyObject_CallFunction");
	REQUIRED(List_Size, "PyList_Size");
	REQUIRED(List_GetItem, "PyList_GetItem");
	REQUIRED(Tuple_Size, "PyTuple_Size");
	REQUIRED(Tuple_GetItem, "PyTuple_GetItem");
	REQUIRED(Long_AsLongLong, "PyLong_AsLongLong");
	REQUIRED(Unicode_AsUTF8, "PyUnicode_AsUTF8");
	REQUIRED(Dict_Next, "PyDict_Next");
	REQUIRED(Module_GetName, "PyModule_GetName");
	REQUIRED(Object_IsTrue, "PyObject_IsTrue");
	REQUIRED(Object_Size, "PyObject_Size");
	REQUIRED(Err_Fetch, "PyErr_Fetch");
	REQUIRED(Err_Restore, "PyErr_Restore");
	REQUIRED(Err_Clear, "PyErr_Clear");
	REQUIRED(IncRef, "Py_IncRef");
	REQUIRED(DecRef, "Py_DecRef");
	REQUIRED(None, "_Py_NoneStruct");
	REQUIRED(Type_Type, "PyType_Type");
	REQUIRED(Function_Type, "PyFunction_Type");
	REQUIRED(Module_Type, "PyModule_Type");
	REQUIRED(Dict_Type, "PyDict_Type");
	REQUIRED(List_Type, "PyList_Type");
	REQUIRED(Tuple_Type, "PyTuple_Type");
	REQUIRED(Set_Type, "PySet_Type");
	REQUIRED(Unicode_Type, "PyUnicode_Type");
	REQUIRED(Long_Type, "PyLong_Type");
	REQUIRED(Bytes_Type, "PyBytes_Type");
	REQUIRED(ByteArray_Type, "PyByteArray_Type");
	REQUIRED(Method_Type, "PyMethod_Type");
	REQUIRED(Cell_Type, "PyCell_Type");
	REQUIRED(CFunction_Type, "PyCFunction_Type");
	OPTIONAL(Gen_Type, "PyGen_Type");
	OPTIONAL(Frame_Type, "PyFrame_Type");
	OPTIONAL(TraceMalloc_GetTraceback, "_PyTraceMalloc_GetTraceback");
	OPTIONAL(AddPendingCall, "Py_AddPendingCall");
	OPTIONAL(List_New, "PyList_New");
	OPTIONAL(Thread_GetIdent, "PyThread_get_thread_ident");
	OPTIONAL(InterpreterState_Main, "PyInterpreterState_Main");
	OPTIONAL(Runtime, "_PyRuntime");
	OPTIONAL(IsFinalizing, "Py_IsFinalizing");
	if (!a->IsFinalizing)
		OPTIONAL(IsFinalizing, "_Py_IsFinalizing");
#undef REQUIRED
#undef OPTIONAL
	return true;
}
