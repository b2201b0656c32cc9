/* SPDX-License-Identifier: MIT */
/*
 * cpython_audit.c - the audit hook that arms the adapter, and its removal.
 *
 * The hook must be added from our constructor, before Py_Initialize: it is
 * how we learn that the interpreter is up.  Added that early, its list
 * entry is allocated by the raw allocator of that moment (plain malloc),
 * but freed at finalization (_PySys_ClearAuditHooks) by the raw allocator
 * of that later moment, which under -X dev, PYTHONDEVMODE=1 or
 * PYTHONMALLOC=debug is the debug allocator: it finds no header of its
 * own and aborts the process.
 *
 * So the entry leaves the list once it has served: right after arming,
 * or at the "cpython._PySys_ClearAuditHooks" event if the interpreter
 * never came up.  It is the head of the runtime's list (no one adds hooks
 * before a constructor of an LD_PRELOADed library), which is one pointer
 * inside _PyRuntime: the word there that holds the entry's address.  The
 * entry itself stays allocated (the interpreter's loop that is calling us
 * reads its `next` after we return) and is never freed.  With the entry
 * gone the interpreter audits exactly as it would without us: with no
 * other hook, not at all.
 */
#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "python/capi.h"
#include "python/cpython.h"

/* _Py_AuditHookEntry, 3.8-3.13 */
struct audit_entry {
	struct audit_entry *next;
	void *hook;
	void *data;
};

/* PyMemAllocatorEx */
struct mem_allocator {
	void *ctx;
	void *(*malloc)(void *ctx, size_t size);
	void *(*calloc)(void *ctx, size_t n, size_t size);
	void *(*realloc)(void *ctx, void *p, size_t size);
	void (*free)(void *ctx, void *p);
};
#define PYMEM_DOMAIN_RAW 0

static struct mem_allocator raw_before;
static struct audit_entry *entry; /* ours, while it is in the list */
static char cookie;               /* our hook's userData */

/* The raw allocator while PySys_AddAuditHook runs: notes the entry. */
static void *
noting_malloc(void *ctx, size_t size)
{
	(void)ctx;
	void *p = raw_before.malloc(raw_before.ctx, size);
	if (size == sizeof(struct audit_entry))
		entry = p; /* the last one: nothing is allocated after the entry */
	return p;
}

bool
lp_cpython_audit_install(int (*hook)(const char *, void *, void *))
{
	void (*get)(int, struct mem_allocator *) =
		(void (*)(int, struct mem_allocator *))dlsym(RTLD_DEFAULT, "PyMem_GetAllocator");
	void (*set)(int, struct mem_allocator *) =
		(void (*)(int, struct mem_allocator *))dlsym(RTLD_DEFAULT, "PyMem_SetAllocator");
	if (!get || !set)
		return lp_py.AddAuditHook(hook, &cookie) == 0;

	get(PYMEM_DOMAIN_RAW, &raw_before);
	struct mem_allocator noting = raw_before;
	noting.malloc = noting_malloc;
	set(PYMEM_DOMAIN_RAW, &noting);
	int rc = lp_py.AddAuditHook(hook, &cookie);
	set(PYMEM_DOMAIN_RAW, &raw_before);
	/* Postcondition: entry is ours (its fields say so), or NULL. */
	if (entry && (rc != 0 || entry->hook != (void *)hook || entry->data != &cookie))
		entry = NULL;
	return rc == 0;
}

/* The word of _PyRuntime that points at our entry: exactly one, or NULL. */
static struct audit_entry **
head_slot(void)
{
	Dl_info info;
	const ElfW(Sym) *sym = NULL;
	char *rt = lp_py.Runtime;
	if (!rt || !dladdr1(rt, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym ||
	    sym->st_size < sizeof(void *))
		return NULL;
	struct audit_entry **found = NULL;
	for (size_t off = 0; off + sizeof(void *) <= sym->st_size; off += sizeof(void *)) {
		struct audit_entry **w = (struct audit_entry **)(rt + off);
		if (*w != entry)
			continue;
		if (found)
			return NULL; /* two candidates: not the layout we know */
		found = w;
	}
	return found;
}

bool
lp_cpython_audit_remove(void)
{
	if (!entry)
		return false;
	struct audit_entry **slot = head_slot();
	if (slot)
		*slot = entry->next;
	entry = NULL; /* found or not: never looked for again */
	return slot != NULL;
}
