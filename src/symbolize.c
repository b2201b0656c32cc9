/* SPDX-License-Identifier: MIT */
/* symbolize.c - see symbolize.h.  Called with the guard held: every
 * allocation here goes to the real allocator unrecorded. */
#include "symbolize.h"

#include <dlfcn.h>
#include <errno.h>
#include <elfutils/libdwfl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>

#include "spinlock.h"
#include "stackdepot.h"

struct module {
	char *path;
	uintptr_t bias, lo, hi;
	bool current; /* still loaded */
	Dwfl *dwfl;   /* one per module: closed and current ones may overlap */
	Dwfl_Module *dm;
	bool dwfl_tried;
};

/* --- modules seen before a dlclose ------------------------------------- */

#define HISTORY_MAX 512
static struct {
	lp_spinlock lock;
	unsigned count;
	struct {
		uintptr_t bias, lo, hi;
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

void
lp_symbolize_init(void)
{
	module_path("");
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

static unsigned starved;
static bool out_of_memory; /* a module or a frame could not be named */
static struct module *mods;
static unsigned nmods, capmods;

struct frame_key {
	uintptr_t ip, bias;
};

struct cached_frame {
	struct frame_key key;
	struct lp_frame f;
	char *owned; /* demangled name, freed at the end of the report */
	char *file;  /* copy: libdw's strings go when its files are closed */
	UT_hash_handle hh;
};
static struct cached_frame *cache;

static char *(*cxa_demangle)(const char *, char *, size_t *, int *);

static void
add_module(const char *path, uintptr_t bias, uintptr_t lo, uintptr_t hi,
	   bool current)
{
	if (nmods == capmods) {
		unsigned ncap = capmods ? capmods * 2 : 64;
		struct module *n = realloc(mods, ncap * sizeof(*n));
		if (!n) {
			out_of_memory = true;
			return;
		}
		mods = n;
		capmods = ncap;
	}
	mods[nmods++] = (struct module){ strdup(path), bias, lo, hi, current,
					 NULL, NULL, false };
}

static int
add_current(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t lo, hi;
	(void)size;
	(void)data;
	load_range(info, &lo, &hi);
	if (lo < hi)
		add_module(module_path(info->dlpi_name), info->dlpi_addr, lo, hi, true);
	return 0;
}

void
lp_symbolize_begin(void)
{
	nmods = 0;
	starved = 0;
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
			add_module(history.m[i].path, history.m[i].bias,
				   history.m[i].lo, history.m[i].hi, false);
	}
	lp_spin_unlock(&history.lock);
	if (!cxa_demangle)
		cxa_demangle = dlsym(RTLD_DEFAULT, "__cxa_demangle");
}

static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static void
close_module(struct module *m)
{
	if (m->dwfl)
		dwfl_end(m->dwfl);
	m->dwfl = NULL;
	m->dm = NULL;
}

static bool
open_module(struct module *m)
{
	m->dwfl = dwfl_begin(&callbacks);
	if (!m->dwfl)
		return false;
	dwfl_report_begin(m->dwfl);
	m->dm = dwfl_report_elf(m->dwfl, m->path, m->path, -1, m->bias, false);
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (!m->dm)
		close_module(m);
	return m->dm != NULL;
}

static Dwfl_Module *
dwfl_module_of(struct module *m)
{
	if (m->dwfl_tried)
		return m->dm;
	m->dwfl_tried = true;
	if (access(m->path, R_OK) != 0)
		return NULL; /* e.g. linux-vdso.so.1 */
	if (!open_module(m)) {
		/* Out of file descriptors, perhaps (a program at its
		 * RLIMIT_NOFILE): give back the other modules' and retry. */
		for (unsigned i = 0; i < nmods; i++)
			if (&mods[i] != m && mods[i].dwfl) {
				close_module(&mods[i]);
				mods[i].dwfl_tried = false;
			}
		if (!open_module(m) && (errno == EMFILE || errno == ENFILE))
			starved++;
	}
	return m->dm;
}

unsigned
lp_symbolize_starved(void)
{
	return starved;
}

bool
lp_symbolize_out_of_memory(void)
{
	return out_of_memory;
}

void
lp_symbolize_release_files(void)
{
	for (unsigned i = 0; i < nmods; i++) {
		close_module(&mods[i]);
		mods[i].dwfl_tried = false;
	}
}

static struct module *
module_at(uintptr_t ip, uintptr_t bias)
{
	/* The load the frame was captured in, when known and remembered. */
	if (bias != LP_BIAS_UNKNOWN)
		for (unsigned i = 0; i < nmods; i++)
			if (mods[i].bias == bias && ip >= mods[i].lo && ip < mods[i].hi)
				return &mods[i];
	/* Else loaded modules first: a closed module's range may have
	 * been reused by one loaded since. */
	struct module *closed = NULL;
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

/* The name people know: "f@@GLIBC_2.34" loses its version, "_Z1fv"
 * becomes "f()".  A new string, when one is made, goes to *owned. */
static const char *
demangled(const char *name, char **owned)
{
	int status = -1;
	if (!name)
		return NULL;
	const char *at = strchr(name, '@');
	if (at) {
		*owned = strndup(name, (size_t)(at - name));
		if (!*owned)
			return name;
		name = *owned;
	}
	if (name[0] != '_' || name[1] != 'Z' || !cxa_demangle)
		return name;
	char *d = cxa_demangle(name, NULL, NULL, &status);
	if (status != 0 || !d) {
		free(d);
		return name;
	}
	free(*owned);
	*owned = d;
	return d;
}

static void
resolve(uintptr_t ip, uintptr_t bias, struct lp_frame *f, char **owned)
{
	/* ip is a return address: the call is the instruction before it. */
	uintptr_t pc = ip ? ip - 1 : 0;
	struct module *m = module_at(pc, bias);

	memset(f, 0, sizeof(*f));
	f->ip = ip;
	if (!m)
		return;
	f->module = m->path;
	f->offset = ip - m->bias;
	Dwfl_Module *dm = dwfl_module_of(m);
	if (dm) {
		GElf_Off off;
		GElf_Sym sym;
		f->function = demangled(dwfl_module_addrinfo(dm, pc, &off, &sym,
							     NULL, NULL, NULL),
					owned);
		Dwfl_Line *line = dwfl_module_getsrc(dm, pc);
		if (line) {
			int lineno = 0;
			f->file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
			f->line = lineno;
		}
	}
	if (!f->function && m->current) {
		Dl_info info;
		if (dladdr((void *)pc, &info) && info.dli_sname)
			f->function = demangled(info.dli_sname, owned);
	}
}

static void
symbolize_in(uintptr_t ip, uintptr_t bias, struct lp_frame *out)
{
	struct cached_frame *c;
	struct frame_key key = { ip, bias };

	HASH_FIND(hh, cache, &key, sizeof(key), c);
	if (!c) {
		c = malloc(sizeof(*c));
		if (!c) {
			out_of_memory = true;
			char *owned = NULL;
			resolve(ip, bias, out, &owned);
			out->function = NULL; /* owned would leak or dangle */
			out->file = NULL;
			free(owned);
			return;
		}
		c->key = key;
		c->owned = NULL;
		resolve(ip, bias, &c->f, &c->owned);
		/* Own copies of libdw's strings: they must outlive its files. */
		c->file = c->f.file ? strdup(c->f.file) : NULL;
		c->f.file = c->file;
		if (c->f.function && !c->owned) {
			c->owned = strdup(c->f.function);
			c->f.function = c->owned;
		}
		HASH_ADD(hh, cache, key, sizeof(c->key), c);
	}
	*out = c->f;
}

void
lp_symbolize(uintptr_t ip, struct lp_frame *out)
{
	symbolize_in(ip, LP_BIAS_UNKNOWN, out);
}

void
lp_symbolize_frame(const struct lp_stack *s, uint32_t i, struct lp_frame *out)
{
	symbolize_in(s->ips[i], lp_stack_bias(s, i), out);
}

void
lp_symbolize_end(void)
{
	struct cached_frame *c, *tmp;
	HASH_ITER(hh, cache, c, tmp) {
		HASH_DEL(cache, c);
		free(c->owned);
		free(c->file);
		free(c);
	}
	for (unsigned i = 0; i < nmods; i++) {
		close_module(&mods[i]);
		free(mods[i].path);
	}
	nmods = 0;
}
