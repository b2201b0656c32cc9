/* SPDX-License-Identifier: MIT */
/* modules.c - see modules.h. */
#include "report/modules.h"

#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bootstrap.h"
#include "core/spinlock.h"
#include "core/strpool.h"
#include "record/stackdepot.h"

static bool out_of_memory; /* this report's table misses a module */

/* --- modules seen before a dlclose ------------------------------------- */

#define HISTORY_MAX 512
static struct {
	lp_spinlock lock;
	unsigned count;
	struct {
		uintptr_t bias, lo, hi;
		uint8_t build_id_len;
		uint8_t build_id[LP_BUILD_ID_MAX];
		char path[256];
	} m[HISTORY_MAX];
} history;

static char exe_path[4096];

static const char *
module_path(const char *name)
{
	if (name && name[0])
		return name;
	if (!exe_path[0]) {
		ssize_t n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
		exe_path[n > 0 ? n : 0] = 0;
	}
	return exe_path;
}

static void
load_range(struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi)
{
	*lo = UINTPTR_MAX;
	*hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < *lo)
			*lo = a;
		if (a + ph->p_memsz > *hi)
			*hi = a + ph->p_memsz;
	}
}

/* True when [p, p + n) lies inside one loaded segment (readable memory:
 * the gaps between segments may be PROT_NONE). */
static bool
in_segment(struct dl_phdr_info *info, uintptr_t p, size_t n)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_R) && p >= a &&
		    p + n >= p && p + n <= a + ph->p_filesz)
			return true;
	}
	return false;
}

/* The GNU build-id of a loaded image, read from its notes in memory: the
 * helper names a module only if the file it opens carries the same one
 * (a package upgrade may have replaced the file since it was loaded). */
static uint8_t
build_id_of(struct dl_phdr_info *info, uint8_t *out)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		uintptr_t p = info->dlpi_addr + ph->p_vaddr, end = p + ph->p_filesz;
		size_t align = ph->p_align == 8 ? 8 : 4;
		if (!in_segment(info, p, ph->p_filesz))
			continue;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			uintptr_t name = p + sizeof(*nh);
			uintptr_t desc = name + ((nh->n_namesz + align - 1) & ~(align - 1));
			uintptr_t next = desc + ((nh->n_descsz + align - 1) & ~(align - 1));
			if (desc > end || next > end || next <= p)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp((const void *)name, "GNU", 4) && nh->n_descsz &&
			    nh->n_descsz <= LP_BUILD_ID_MAX) {
				memcpy(out, (const void *)desc, nh->n_descsz);
				return (uint8_t)nh->n_descsz;
			}
			p = next;
		}
	}
	return 0;
}

static int
remember_one(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t lo, hi;
	const char *path = module_path(info->dlpi_name);
	(void)size;
	(void)data;

	load_range(info, &lo, &hi);
	if (lo >= hi || strlen(path) >= sizeof(history.m[0].path))
		return 0;
	for (unsigned i = 0; i < history.count; i++)
		if (history.m[i].bias == info->dlpi_addr && history.m[i].lo == lo &&
		    !strcmp(history.m[i].path, path))
			return 0;
	/* Full: the oldest entry makes room (a dlopen/dlclose storm of
	 * ever-new addresses should not grow without bound). */
	unsigned slot = history.count < HISTORY_MAX ? history.count++
						    : (unsigned)(lo >> 12) % HISTORY_MAX;
	history.m[slot].bias = info->dlpi_addr;
	history.m[slot].lo = lo;
	history.m[slot].hi = hi;
	history.m[slot].build_id_len = build_id_of(info, history.m[slot].build_id);
	strcpy(history.m[slot].path, path);
	return 0;
}

void
lp_modules_remember(void)
{
	lp_spin_lock(&history.lock);
	dl_iterate_phdr(remember_one, NULL);
	lp_spin_unlock(&history.lock);
}

/* --- the per-report module list ---------------------------------------- */

static struct lp_module *mods;
static unsigned nmods, capmods;

static void
add_module(const char *path, uintptr_t bias, uintptr_t lo, uintptr_t hi,
	   bool current, const uint8_t *id, uint8_t idlen)
{
	if (nmods == capmods) {
		unsigned ncap = capmods ? capmods * 2 : 64;
		struct lp_module *n = lp_real.realloc(mods, ncap * sizeof(*n));
		if (!n) {
			out_of_memory = true;
			return;
		}
		mods = n;
		capmods = ncap;
	}
	const char *p = lp_intern(path, strlen(path));
	if (!p) {
		out_of_memory = true;
		return;
	}
	struct lp_module *m = &mods[nmods++];
	*m = (struct lp_module){ p, bias, lo, hi, current, idlen, { 0 } };
	memcpy(m->build_id, id, idlen);
}

static int
add_current(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t lo, hi;
	uint8_t id[LP_BUILD_ID_MAX];
	(void)size;
	(void)data;
	load_range(info, &lo, &hi);
	if (lo < hi) {
		uint8_t n = build_id_of(info, id);
		add_module(module_path(info->dlpi_name), info->dlpi_addr, lo, hi, true, id, n);
	}
	return 0;
}

/* --- a report's lookups ---------------------------------------------------- */

bool
lp_modules_begin(void)
{
	nmods = 0;
	out_of_memory = false;
	dl_iterate_phdr(add_current, NULL);
	unsigned ncurrent = nmods;
	lp_spin_lock(&history.lock);
	for (unsigned i = 0; i < history.count; i++) {
		bool loaded = false;
		for (unsigned j = 0; j < ncurrent && !loaded; j++)
			loaded = mods[j].bias == history.m[i].bias &&
				 !strcmp(mods[j].path, history.m[i].path);
		if (!loaded)
			add_module(history.m[i].path, history.m[i].bias, history.m[i].lo,
				   history.m[i].hi, false, history.m[i].build_id,
				   history.m[i].build_id_len);
	}
	lp_spin_unlock(&history.lock);
	return !out_of_memory;
}

unsigned
lp_modules_count(void)
{
	return nmods;
}

struct lp_module *
lp_module(unsigned i)
{
	return &mods[i];
}

struct lp_module *
lp_module_at(uintptr_t ip, uintptr_t bias)
{
	/* The load the frame was captured in, when known and remembered. */
	if (bias != LP_BIAS_UNKNOWN)
		for (unsigned i = 0; i < nmods; i++)
			if (mods[i].bias == bias && ip >= mods[i].lo && ip < mods[i].hi)
				return &mods[i];
	/* Else loaded modules first: a closed module's range may have
	 * been reused by one loaded since. */
	struct lp_module *closed = NULL;
	for (unsigned i = 0; i < nmods; i++) {
		if (ip < mods[i].lo || ip >= mods[i].hi)
			continue;
		if (mods[i].current)
			return &mods[i];
		if (!closed)
			closed = &mods[i];
	}
	return closed;
}

void
lp_modules_init(void)
{
	module_path("");
}
