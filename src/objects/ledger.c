/* SPDX-License-Identifier: MIT */
/* ledger.c - see ledger.h: counting the calls, and naming the module each
 * came from.  Called with the guard held. */
#include "objects/ledger.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>

struct lp_ledger_totals lp_ledger_totals;

#define MAX_MODULES 256
static struct {
	uintptr_t lo, hi;
	char path[240];
} modules[MAX_MODULES];
static unsigned nmodules;

static int
add_module(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t pc = (uintptr_t)data;
	(void)size;
	for (int k = 0; k < info->dlpi_phnum; k++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[k];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type != PT_LOAD || pc < a || pc >= a + ph->p_memsz)
			continue;
		if (nmodules == MAX_MODULES)
			return 1;
		modules[nmodules].lo = a;
		modules[nmodules].hi = a + ph->p_memsz;
		const char *name = info->dlpi_name && info->dlpi_name[0]
					   ? info->dlpi_name : "(executable)";
		strncpy(modules[nmodules].path, name, sizeof(modules[0].path) - 1);
		nmodules++;
		return 1;
	}
	return 0;
}

static uint16_t
module_id_locked(uintptr_t pc)
{
	for (unsigned k = 0; k < nmodules; k++)
		if (pc >= modules[k].lo && pc < modules[k].hi)
			return (uint16_t)(k + 1);
	unsigned before = nmodules;
	dl_iterate_phdr(add_module, (void *)pc);
	return nmodules > before ? (uint16_t)nmodules : 0;
}

const char *
lp_objects_module_name(uint16_t id)
{
	return id && id <= nmodules ? modules[id - 1].path : NULL;
}

void
lp_objects_ledger(uintptr_t obj, uintptr_t caller, bool incref)
{
	lp_spin_lock(&lp_registry_lock);
	if (incref)
		lp_ledger_totals.incref_calls++;
	else
		lp_ledger_totals.decref_calls++;
	uint32_t i = lp_registry_find_locked(obj);
	if (i) {
		struct lp_obj *o = lp_registry_at(i);
		uint16_t m = module_id_locked(caller);
		if (incref)
			o->incs++;
		else
			o->decs++;
		if (!o->module)
			o->module = m;
		else if (o->module != m)
			o->flags |= LP_OBJ_MANY_MODULES;
	}
	lp_spin_unlock(&lp_registry_lock);
}
