/* SPDX-License-Identifier: MIT */
/*
 * lookup.c - an address in a module -> its frames: the functions inlined
 * at it (innermost first, each with the file:line it was at) and the
 * function that contains it.
 *
 * The compilation unit holding an address is found through .debug_aranges
 * when it covers the address (libdwfl), and otherwise through the units'
 * own address ranges (DW_AT_low_pc/high_pc/ranges), read once per module:
 * clang emits no .debug_aranges unless asked (-gdwarf-aranges), and a
 * binary may mix units that have them with units that do not.
 *
 * Inside the unit, the nest of functions and inlined calls at the address
 * (from an index of the unit's scopes by address, read once): each
 * DW_TAG_inlined_subroutine is a frame of its own, located where the
 * line table says for the innermost one and, for each outer one, at the
 * DW_AT_call_file/DW_AT_call_line of the inlined call it contains (what
 * addr2line -i and valgrind show).
 */
#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "symbolizer.h"

struct cu_range {
	Dwarf_Addr lo, hi;
	Dwarf_Die cu;
};

/* The functions and inlined calls of one compile unit, by address, read
 * in one walk of its DIEs when the unit is first needed: dwarf_getscopes
 * walks the unit from its root at every call (CPython's ceval.c, 1 600
 * frames: seconds). */
struct scope {
	Dwarf_Die die;
	int32_t parent; /* the nearest enclosing scope kept, or -1 */
	int tag;        /* DW_TAG_subprogram or DW_TAG_inlined_subroutine */
};

struct scope_range {
	Dwarf_Addr lo, hi;
	uint32_t scope;
	uint32_t depth;
};

struct cu_scopes {
	Dwarf_Off cu;
	struct scope *scopes;
	size_t nscopes, capscopes;
	struct scope_range *ranges;
	size_t nranges, capranges;
	bool failed; /* out of memory: use dwarf_getscopes */
};

/* The module's function symbols, by address: dwfl_module_addrinfo
 * searches the whole table on every call (a report of cc1, 100 000
 * symbols and 3 000 frames, took seconds). */
struct sym {
	GElf_Addr addr;
	GElf_Word size;
	uint8_t rank; /* global over weak over local, at one address */
	const char *name;
};

struct sym_module {
	Dwfl *dwfl;
	Dwfl_Module *dm;
	enum lpsym_status status;
	bool dw_tried;
	Dwarf *dw;
	Dwarf_Addr dwbias;
	bool ranges_built;
	struct cu_range *ranges;
	size_t nranges;
	bool syms_built;
	struct sym *syms;
	size_t nsyms;
	struct cu_scopes *cus;
	size_t ncus, capcus;
};

static bool
same_build_id(Dwfl_Module *dm, const uint8_t *want, size_t len)
{
	const unsigned char *id;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(dm, &id, &vaddr);
	return n == (int)len && !memcmp(id, want, len);
}

struct sym_module *
sym_module_open(const char *path, const uint8_t *build_id, size_t build_id_len)
{
	struct sym_module *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->status = LPSYM_UNREADABLE;
	m->dwfl = dwfl_begin(&sym_dwfl_callbacks);
	if (!m->dwfl)
		return m;
	dwfl_report_begin(m->dwfl);
	/* Load address 0: the shim sends addresses relative to the load bias,
	 * i.e. the file's own virtual addresses. */
	m->dm = dwfl_report_elf(m->dwfl, path, path, -1, 0, false);
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (!m->dm)
		return m;
	if (build_id_len && !same_build_id(m->dm, build_id, build_id_len)) {
		/* Not the file the program loaded (replaced since): its names
		 * would be wrong. */
		m->status = LPSYM_CHANGED;
		m->dm = NULL;
		return m;
	}
	sym_debuginfo_attach(m->dm, path);
	m->status = LPSYM_SYMBOLS_ONLY;
	return m;
}

enum lpsym_status
sym_module_status(const struct sym_module *m)
{
	return m ? m->status : LPSYM_UNREADABLE;
}

void
sym_module_close(struct sym_module *m)
{
	if (!m)
		return;
	if (m->dm)
		sym_debuginfo_detach(m->dm);
	if (m->dwfl)
		dwfl_end(m->dwfl);
	free(m->ranges);
	free(m->syms);
	for (size_t i = 0; i < m->ncus; i++) {
		free(m->cus[i].scopes);
		free(m->cus[i].ranges);
	}
	free(m->cus);
	free(m);
}

static Dwarf *
module_dwarf(struct sym_module *m)
{
	if (!m->dw_tried) {
		m->dw_tried = true;
		m->dw = dwfl_module_getdwarf(m->dm, &m->dwbias);
		if (m->dw)
			m->status = LPSYM_OK;
	}
	return m->dw;
}

static int
by_lo(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Postcondition: m->ranges holds every address range of every compile
 * unit, sorted by start. */
static void
build_ranges(struct sym_module *m)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie, subdie;
	uint8_t unit_type;
	size_t cap = 0;

	m->ranges_built = true;
	while (dwarf_get_units(m->dw, cu, &cu, NULL, &unit_type, &cudie, &subdie) == 0) {
		if (unit_type != DW_UT_compile && unit_type != DW_UT_skeleton &&
		    unit_type != DW_UT_partial)
			continue;
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;
		while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0) {
			if (lo >= hi)
				continue;
			if (m->nranges == cap) {
				size_t ncap = cap ? cap * 2 : 256;
				struct cu_range *n = realloc(m->ranges, ncap * sizeof(*n));
				if (!n)
					goto sort;
				m->ranges = n;
				cap = ncap;
			}
			m->ranges[m->nranges++] = (struct cu_range){
				lo, hi, unit_type == DW_UT_skeleton ? subdie : cudie };
		}
	}
sort:
	qsort(m->ranges, m->nranges, sizeof(*m->ranges), by_lo);
}

static bool
cu_from_ranges(struct sym_module *m, Dwarf_Addr pc, Dwarf_Die *out)
{
	if (!m->ranges_built)
		build_ranges(m);
	size_t lo = 0, hi = m->nranges;
	while (lo < hi) { /* first range starting after pc */
		size_t mid = lo + (hi - lo) / 2;
		if (m->ranges[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Ranges may nest or overlap (rarely): look a little way back. */
	for (size_t i = lo, k = 0; i > 0 && k < 16; i--, k++) {
		const struct cu_range *r = &m->ranges[i - 1];
		if (pc >= r->lo && pc < r->hi) {
			*out = r->cu;
			return true;
		}
	}
	return false;
}

static int
by_addr_then_rank(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	return x->size > y->size ? -1 : x->size < y->size;
}

static uint8_t
rank_of(const GElf_Sym *s)
{
	switch (GELF_ST_BIND(s->st_info)) {
	case STB_GLOBAL: return 3;
	case STB_GNU_UNIQUE: return 2;
	case STB_WEAK: return 1;
	default: return 0;
	}
}

/* Postcondition: m->syms holds one symbol per address that starts code
 * (the best ranked of those there), sorted. */
static void
build_syms(struct sym_module *m)
{
	m->syms_built = true;
	int n = dwfl_module_getsymtab(m->dm);
	if (n <= 0)
		return;
	m->syms = malloc((size_t)n * sizeof(*m->syms));
	if (!m->syms)
		return;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(m->dm, i, &sym, &addr, &shndx,
							   NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (!name || !name[0] || sym.st_shndx == SHN_UNDEF ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE))
			continue;
		m->syms[m->nsyms++] = (struct sym){ addr, (GElf_Word)sym.st_size,
						    rank_of(&sym), name };
	}
	qsort(m->syms, m->nsyms, sizeof(*m->syms), by_addr_then_rank);
	size_t out = 0;
	for (size_t i = 0; i < m->nsyms; i++)
		if (!out || m->syms[out - 1].addr != m->syms[i].addr)
			m->syms[out++] = m->syms[i];
	m->nsyms = out;
}

/* The symbol holding addr: the nearest one at or below it that contains
 * it, or a sizeless one right below it (an assembly label); NULL if
 * none. */
static const struct sym *
sym_at(struct sym_module *m, GElf_Addr addr)
{
	if (!m->syms_built)
		build_syms(m);
	size_t lo = 0, hi = m->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const struct sym *s = &m->syms[lo - 1];
	if (!s->size || addr < s->addr + s->size)
		return s;
	/* Symbols nest rarely (a local label inside a function). */
	for (size_t i = lo - 1, k = 0; i > 0 && k < 8; i--, k++) {
		const struct sym *t = &m->syms[i - 1];
		if (t->size && addr < t->addr + t->size)
			return t;
	}
	return NULL;
}

/* A C++ name with its scope and parameters: the mangled linkage name.
 * (A C function's linkage name is an assembler alias, glibc's
 * "__GI_setlocale" for setlocale: its DW_AT_name is what people know.) */
static const char *
mangled_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
	if (!n)
		n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
	return n && n[0] == '_' && n[1] == 'Z' ? n : NULL;
}

static char *
die_name(Dwarf_Die *die)
{
	const char *n = mangled_name(die);
	return sym_demangle(n ? n : dwarf_diename(die));
}

/* The containing function's name, chosen as binutils' addr2line does: a
 * C++ function's linkage name (its scope and parameters, not the clone
 * suffix of its symbol); else the symbol that starts where the function
 * does (among aliases the public name, as valgrind shows it; a C clone is
 * "f.constprop.0"); else DW_AT_name; else whatever symbol holds the
 * address. */
static char *
function_name(Dwarf_Die *die, Dwarf_Addr bias, const char *symname, GElf_Addr symstart)
{
	const char *mangled = mangled_name(die);
	if (mangled)
		return sym_demangle(mangled);
	Dwarf_Addr lo;
	if (symname && (dwarf_lowpc(die, &lo) == 0 || dwarf_entrypc(die, &lo) == 0) &&
	    lo + bias == symstart)
		return sym_demangle(symname);
	const char *n = dwarf_diename(die);
	return sym_demangle(n ? n : symname);
}

static bool
attr_udata(Dwarf_Die *die, unsigned name, Dwarf_Word *out)
{
	Dwarf_Attribute a;
	return dwarf_formudata(dwarf_attr(die, name, &a), out) == 0;
}

static bool
grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *np = realloc(*p, ncap * size);
	if (!np)
		return false;
	*p = np;
	*cap = ncap;
	return true;
}

/* DIEs under which code can be found (functions, inlined calls, the
 * blocks and scopes that hold them); the rest (types, variables,
 * parameters) is not descended into. */
static bool
may_hold_code(int tag)
{
	switch (tag) {
	case DW_TAG_subprogram:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_lexical_block:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
	case DW_TAG_namespace:
	case DW_TAG_module:
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type:
		return true;
	}
	return false;
}

static void
walk_scopes(struct cu_scopes *c, Dwarf_Die *parent_die, int32_t parent, uint32_t depth)
{
	Dwarf_Die die;
	if (depth > 512 || dwarf_child(parent_die, &die) != 0)
		return;
	do {
		int tag = dwarf_tag(&die);
		int32_t me = parent;
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;
			while ((off = dwarf_ranges(&die, off, &base, &lo, &hi)) > 0) {
				if (lo >= hi)
					continue;
				if (me == parent) {
					if (!grow((void **)&c->scopes, &c->capscopes, c->nscopes,
						  sizeof(*c->scopes))) {
						c->failed = true;
						return;
					}
					me = (int32_t)c->nscopes;
					c->scopes[c->nscopes++] = (struct scope){ die, parent, tag };
				}
				if (!grow((void **)&c->ranges, &c->capranges, c->nranges,
					  sizeof(*c->ranges))) {
					c->failed = true;
					return;
				}
				c->ranges[c->nranges++] = (struct scope_range){ lo, hi, (uint32_t)me, depth };
			}
		}
		if (may_hold_code(tag) && dwarf_haschildren(&die))
			walk_scopes(c, &die, me, depth + 1);
	} while (!c->failed && dwarf_siblingof(&die, &die) == 0);
}

static int
by_lo_then_depth(const void *a, const void *b)
{
	const struct scope_range *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->depth < y->depth ? -1 : x->depth > y->depth;
}

static struct cu_scopes *
cu_scopes_of(struct sym_module *m, Dwarf_Die *cudie)
{
	Dwarf_Off off = dwarf_dieoffset(cudie);
	for (size_t i = m->ncus; i > 0; i--)
		if (m->cus[i - 1].cu == off)
			return &m->cus[i - 1];
	if (!grow((void **)&m->cus, &m->capcus, m->ncus, sizeof(*m->cus)))
		return NULL;
	struct cu_scopes *c = &m->cus[m->ncus++];
	*c = (struct cu_scopes){ .cu = off };
	walk_scopes(c, cudie, -1, 0);
	qsort(c->ranges, c->nranges, sizeof(*c->ranges), by_lo_then_depth);
	return c;
}

/* The innermost function or inlined call at pc, or -1.  Kept scopes nest
 * (or are disjoint): the last range starting at or below pc is the
 * innermost one if it holds pc; else pc lies in one of its enclosing
 * scopes (or in another range of its own scope). */
static int32_t
innermost(const struct cu_scopes *c, Dwarf_Addr pc)
{
	size_t lo = 0, hi = c->nranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->ranges[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	const struct scope_range *r = &c->ranges[lo - 1];
	if (pc < r->hi)
		return (int32_t)r->scope;
	for (int32_t s = (int32_t)r->scope; s >= 0; s = c->scopes[s].parent)
		if (dwarf_haspc(&c->scopes[s].die, pc) == 1)
			return s;
	return -1;
}

/* The scopes around pc, innermost first, up to the containing function:
 * *out (malloc'd) and their number. */
static int
scope_chain(struct sym_module *m, Dwarf_Die *cudie, Dwarf_Addr pc, Dwarf_Die **out)
{
	struct cu_scopes *c = cu_scopes_of(m, cudie);
	*out = NULL;
	if (!c || c->failed) {
		/* dwarf_getscopes finds the innermost scope at pc, but above an
		 * inlined function it continues with the scopes of the
		 * function's abstract definition (what a debugger wants for
		 * variables); dwarf_getscopes_die from that innermost scope
		 * gives the nest as it is in this code. */
		Dwarf_Die *scopes = NULL;
		int n = dwarf_getscopes(cudie, pc, &scopes);
		if (n > 0) {
			Dwarf_Die inner = scopes[0];
			free(scopes);
			scopes = NULL;
			n = dwarf_getscopes_die(&inner, &scopes);
		}
		*out = scopes;
		return n;
	}
	int n = 0;
	for (int32_t s = innermost(c, pc); s >= 0; s = c->scopes[s].parent)
		n++;
	if (!n || !(*out = malloc((size_t)n * sizeof(**out))))
		return 0;
	n = 0;
	for (int32_t s = innermost(c, pc); s >= 0; s = c->scopes[s].parent)
		(*out)[n++] = c->scopes[s].die;
	return n;
}

int
sym_lookup(struct sym_module *m, uint64_t addr, struct sym_frame *out, int max)
{
	int n = 0;
	const char *symname = NULL;

	memset(out, 0, sizeof(*out));
	if (!m || !m->dm || max < 1)
		return 1;
	const struct sym *sym = sym_at(m, addr);
	GElf_Addr symstart = sym ? sym->addr : 0;
	symname = sym ? sym->name : NULL;

	Dwarf_Addr bias = 0;
	Dwarf_Die cu_mem, *cudie = NULL;
	if (module_dwarf(m)) {
		cudie = dwfl_module_addrdie(m->dm, addr, &bias);
		if (!cudie && cu_from_ranges(m, addr - m->dwbias, &cu_mem)) {
			cudie = &cu_mem;
			bias = m->dwbias;
		}
	}
	if (!cudie) {
		out[0].function = sym_demangle(symname);
		return 1;
	}

	Dwarf_Addr pc = addr - bias;
	const char *file = NULL;
	int line = 0;
	Dwarf_Line *l = dwarf_getsrc_die(cudie, pc);
	if (l) {
		file = dwarf_linesrc(l, NULL, NULL);
		if (dwarf_lineno(l, &line) != 0)
			line = 0;
	}

	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	Dwarf_Die *scopes;
	int nscopes = scope_chain(m, cudie, pc, &scopes);
	bool closed = false;
	for (int i = 0; i < nscopes && n < max; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag == DW_TAG_subprogram) {
			out[n++] = (struct sym_frame){
				function_name(&scopes[i], bias, symname, symstart),
				file, line, false };
			closed = true;
			break;
		}
		if (tag != DW_TAG_inlined_subroutine || n + 1 >= max)
			continue;
		out[n++] = (struct sym_frame){ die_name(&scopes[i]), file, line, true };
		/* The frame around it is where it was called from. */
		Dwarf_Word w;
		file = NULL;
		line = 0;
		if (!files && dwarf_getsrcfiles(cudie, &files, &nfiles) != 0)
			files = NULL;
		if (files && attr_udata(&scopes[i], DW_AT_call_file, &w) && w < nfiles)
			file = dwarf_filesrc(files, w, NULL, NULL);
		if (attr_udata(&scopes[i], DW_AT_call_line, &w) && w <= INT32_MAX)
			line = (int)w;
	}
	free(scopes);
	if (!closed) /* no subprogram around it (assembly): the symbol */
		out[n++] = (struct sym_frame){ sym_demangle(symname), file, line, false };
	return n;
}
