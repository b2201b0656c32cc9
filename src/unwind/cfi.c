/* SPDX-License-Identifier: MIT */
/*
 * cfi.c - see cfi.h: .eh_frame read on a rule-cache miss.
 *
 * The rows followed are the shapes libunwind 1.6's x86-64 fast trace
 * (unw_backtrace) follows: "standard" (CFA = rsp or rbp + constant,
 * return address at CFA-8, rbp unchanged or saved at CFA+constant, rsp
 * unchanged) or "aligned" (gcc's stack realignment: CFA = *(rbp +
 * constant), rbp saved at rbp).  A row whose return address or rbp is
 * undefined is the outermost frame, as it is to libunwind.  Every other
 * row (other expressions, register rules, signal frames) is
 * RULE_UNSUPPORTED: the walk gives up there.
 *
 * Code without CFI: a pc between the FDEs of its module, or in a module
 * without .eh_frame_hdr, is RULE_FRAME_POINTER (the walk guesses by the
 * frame pointer).  One pc between FDEs is no such code: a return address
 * that is the first byte of a function was pushed by hand, not by a call
 * (makecontext's __start_context, where a coroutine's first frame
 * returns): RULE_LAST, the walk ends with it.
 *
 * Memory safety: every read lies inside the module's mapping
 * (dlfo_map_start..dlfo_map_end); a record running past it is bad.
 *
 * The rest of the unwinder: rule.h (the rule word), fast_unwind.c (the
 * cache and the walk), stack_bounds.c (the stacks a walk may read).
 */
#ifndef _GNU_SOURCE /* the build passes it */
#define _GNU_SOURCE
#endif
#include "unwind/cfi.h"

#include <string.h>

#include "unwind/fast_unwind.h"

#if LP_FAST_UNWIND_AVAILABLE

/* DWARF register numbers of x86-64. */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16
#define REG_COUNT 17

#define REMEMBER_DEPTH 6

/* --- reading .eh_frame ------------------------------------------------ */

/* A bounded reader: running past end sets bad and yields zeros. */
struct lp_cfi_reader {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t
read_fixed(struct lp_cfi_reader *r, size_t n)
{
	uint64_t v = 0;

	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return 0;
	}
	memcpy(&v, r->p, n); /* little endian */
	r->p += n;
	return v;
}

static uint64_t
read_uleb(struct lp_cfi_reader *r)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b = (uint8_t)read_fixed(r, 1);
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

static int64_t
read_sleb(struct lp_cfi_reader *r)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b = (uint8_t)read_fixed(r, 1);
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			if ((b & 0x40) && shift + 7 < 64)
				v |= ~UINT64_C(0) << (shift + 7);
			return (int64_t)v;
		}
	}
	r->bad = true;
	return 0;
}

/* A DW_EH_PE-encoded pointer: absolute or pc-relative, or relative to
 * datarel when it is nonzero (the .eh_frame_hdr).  Indirect, textrel,
 * funcrel and aligned never occur where we read pointers: bad. */
static uintptr_t
read_encoded(struct lp_cfi_reader *r, uint8_t enc, uintptr_t datarel)
{
	uintptr_t field = (uintptr_t)r->p;
	uint64_t v;

	switch (enc & 0x0f) {
	case 0x00: v = read_fixed(r, 8); break;
	case 0x01: v = read_uleb(r); break;
	case 0x02: v = read_fixed(r, 2); break;
	case 0x03: v = read_fixed(r, 4); break;
	case 0x04: v = read_fixed(r, 8); break;
	case 0x09: v = (uint64_t)read_sleb(r); break;
	case 0x0a: v = (uint64_t)(int16_t)read_fixed(r, 2); break;
	case 0x0b: v = (uint64_t)(int32_t)read_fixed(r, 4); break;
	case 0x0c: v = read_fixed(r, 8); break;
	default: r->bad = true; return 0;
	}
	switch (enc & 0xf0) {
	case 0x00: return v;
	case 0x10: return field + v;
	case 0x30:
		if (datarel)
			return datarel + v;
		break;
	}
	r->bad = true;
	return 0;
}

/* Open the length-prefixed CIE/FDE record at p: r covers its body.
 * 64-bit records never occur in .eh_frame: bad. */
static void
open_record(struct lp_cfi_reader *r, uintptr_t p, const struct dl_find_object *mod)
{
	uintptr_t lo = (uintptr_t)mod->dlfo_map_start, hi = (uintptr_t)mod->dlfo_map_end;

	r->bad = p < lo || p > hi;
	r->p = (const uint8_t *)p;
	r->end = (const uint8_t *)hi;
	uint64_t len = read_fixed(r, 4);
	if (r->bad || len == 0 || len == 0xffffffff || len > (uint64_t)(r->end - r->p))
		r->bad = true;
	else
		r->end = r->p + len;
}

/* --- executing CFI ---------------------------------------------------- */

/* Rules as libunwind names them; registers start out SAME.  AT_RBP is
 * the one expression rule libunwind traces: { DW_OP_breg6 0 } for rbp. */
enum { WHERE_UNDEF, WHERE_SAME, WHERE_CFAREL, WHERE_REG, WHERE_AT_RBP, WHERE_IGNORED };

struct lp_cfi_row {
	int64_t cfa_off;
	uint8_t cfa_reg;
	/* libunwind keeps an expression CFA apart from register + offset:
	 * CFA = *(rbp + deref_off), { DW_OP_breg6 off; DW_OP_deref }. */
	bool cfa_deref;
	int64_t deref_off;
	uint8_t where[REG_COUNT];
	int64_t val[REG_COUNT];
};

struct lp_cie {
	uint64_t code_align;
	int64_t data_align;
	uint8_t fde_enc;
	bool sized; /* 'z' augmentation */
	struct lp_cfi_reader instr;
};

/* Registers beyond the return address column are errors to libunwind. */
static bool
set_rule(struct lp_cfi_row *row, uint64_t reg, uint8_t where, int64_t val)
{
	if (reg >= REG_COUNT)
		return false;
	row->where[reg] = where;
	row->val[reg] = val;
	return true;
}

static bool
set_cfa(struct lp_cfi_row *row, uint64_t reg)
{
	row->cfa_reg = (uint8_t)reg;
	row->cfa_deref = false;
	return reg < REG_COUNT;
}

/* Read a DWARF expression block; true if it is exactly { DW_OP_breg6
 * off } (deref false) or { DW_OP_breg6 off; DW_OP_deref } (deref true)
 * with a one-byte offset, the shapes libunwind's fast trace knows. */
static bool
read_rbp_expression(struct lp_cfi_reader *r, bool deref, int64_t *off)
{
	uint64_t len = read_uleb(r);
	if (r->bad || len != (deref ? 3u : 2u) || len > (uint64_t)(r->end - r->p))
		return false;
	const uint8_t *e = r->p;
	r->p += len;
	*off = (int8_t)(uint8_t)(e[1] << 1) >> 1; /* one-byte sleb */
	return e[0] == 0x76 && !(e[1] & 0x80) && (!deref || e[2] == 0x06);
}

static int64_t
factored(uint64_t v, int64_t factor)
{
	return (int64_t)(v * (uint64_t)factor);
}

/* Run the CFI program in r on row.  Postcondition: row is the row for
 * target (every instruction up to the first advance past target ran).
 * initial is the row after the CIE, NULL while running the CIE itself.
 * Returns false on anything libunwind would not parse the same way or
 * could not trace fast. */
static bool
run_cfi(struct lp_cfi_reader *r, const struct lp_cie *cie, struct lp_cfi_row *row,
	const struct lp_cfi_row *initial, uintptr_t loc, uintptr_t target)
{
	struct lp_cfi_row saved[REMEMBER_DEPTH];
	int depth = 0;
	bool ok = true;

	while (ok && loc <= target && r->p < r->end && !r->bad) {
		uint8_t op = (uint8_t)read_fixed(r, 1), low = op & 0x3f;
		uint64_t reg, reg2;

		if (op & 0xc0) /* the three with an operand in the opcode */
			op &= 0xc0;
		switch (op) {
		case 0x40: /* advance_loc */
			loc += low * cie->code_align;
			break;
		case 0x80: /* offset */
			ok = set_rule(row, low, WHERE_CFAREL,
				      factored(read_uleb(r), cie->data_align));
			break;
		case 0x00: /* nop */
			break;
		case 0x02: /* advance_loc1 */
			loc += read_fixed(r, 1) * cie->code_align;
			break;
		case 0x03: /* advance_loc2 */
			loc += read_fixed(r, 2) * cie->code_align;
			break;
		case 0x04: /* advance_loc4 */
			loc += read_fixed(r, 4) * cie->code_align;
			break;
		case 0x05: /* offset_extended */
			reg = read_uleb(r);
			ok = set_rule(row, reg, WHERE_CFAREL,
				      factored(read_uleb(r), cie->data_align));
			break;
		case 0x11: /* offset_extended_sf */
			reg = read_uleb(r);
			ok = set_rule(row, reg, WHERE_CFAREL,
				      factored((uint64_t)read_sleb(r), cie->data_align));
			break;
		case 0xc0: /* restore, restore_extended */
		case 0x06:
			reg = op == 0xc0 ? low : read_uleb(r);
			ok = initial && reg < REG_COUNT &&
			     set_rule(row, reg, initial->where[reg], initial->val[reg]);
			break;
		case 0x07: /* undefined */
			ok = set_rule(row, read_uleb(r), WHERE_UNDEF, 0);
			break;
		case 0x08: /* same_value */
			ok = set_rule(row, read_uleb(r), WHERE_SAME, 0);
			break;
		case 0x09: /* register */
			reg = read_uleb(r);
			reg2 = read_uleb(r);
			ok = reg2 < REG_COUNT && set_rule(row, reg, WHERE_REG, (int64_t)reg2);
			break;
		case 0x0a: /* remember_state */
			ok = depth < REMEMBER_DEPTH;
			if (ok)
				saved[depth++] = *row;
			break;
		case 0x0b: /* restore_state */
			ok = depth > 0;
			if (ok)
				*row = saved[--depth];
			break;
		case 0x0c: /* def_cfa */
			ok = set_cfa(row, read_uleb(r));
			row->cfa_off = (int64_t)read_uleb(r);
			break;
		case 0x12: /* def_cfa_sf */
			ok = set_cfa(row, read_uleb(r));
			row->cfa_off = factored((uint64_t)read_sleb(r), cie->data_align);
			break;
		case 0x0d: /* def_cfa_register */
			ok = set_cfa(row, read_uleb(r));
			break;
		case 0x0e: /* def_cfa_offset */
			row->cfa_off = (int64_t)read_uleb(r);
			break;
		case 0x13: /* def_cfa_offset_sf */
			row->cfa_off = factored((uint64_t)read_sleb(r), cie->data_align);
			break;
		case 0x0f: /* def_cfa_expression */
			ok = read_rbp_expression(r, true, &row->deref_off);
			row->cfa_deref = true;
			break;
		case 0x10: /* expression */
			reg = read_uleb(r);
			if (reg == REG_RBP) {
				ok = read_rbp_expression(r, false, &row->val[REG_RBP]) &&
				     row->val[REG_RBP] == 0;
				row->where[REG_RBP] = WHERE_AT_RBP;
			} else {
				/* Where a register the walk ignores was saved
				 * (gcc's realigned frames): rbp-relative, which
				 * libunwind evaluates without fail. */
				int64_t unused;
				ok = reg != REG_RSP && reg != REG_RA &&
				     read_rbp_expression(r, false, &unused) &&
				     set_rule(row, reg, WHERE_IGNORED, 0);
			}
			break;
		case 0x2e: /* GNU_args_size: no effect on the walk */
			read_uleb(r);
			break;
		default:
			/* val_expression (libunwind evaluates it, its fast
			 * trace never follows it), set_loc, val_offset (which
			 * libunwind misparses), vendor codes. */
			ok = false;
			break;
		}
	}
	return ok && !r->bad;
}

/* --- finding the CIE and FDE of pc ------------------------------------ */

static bool
read_cie(uintptr_t at, const struct dl_find_object *mod, struct lp_cie *cie)
{
	struct lp_cfi_reader *r = &cie->instr;
	char aug[8];
	size_t n = 0;

	open_record(r, at, mod);
	if (read_fixed(r, 4) != 0) /* CIE id */
		return false;
	uint8_t version = (uint8_t)read_fixed(r, 1);
	if (version != 1 && version != 3)
		return false;
	for (;;) {
		char c = (char)read_fixed(r, 1);
		if (r->bad || n == sizeof(aug))
			return false;
		aug[n++] = c;
		if (!c)
			break;
	}
	cie->code_align = read_uleb(r);
	cie->data_align = read_sleb(r);
	uint64_t ra = version == 1 ? read_fixed(r, 1) : read_uleb(r);
	if (ra != REG_RA)
		return false;
	cie->fde_enc = 0x00;
	cie->sized = aug[0] == 'z';
	if (!cie->sized)
		return aug[0] == '\0' && !r->bad;
	uint64_t aug_len = read_uleb(r);
	const uint8_t *aug_end = r->p + aug_len;
	for (const char *a = aug + 1; *a; a++) {
		switch (*a) {
		case 'R':
			cie->fde_enc = (uint8_t)read_fixed(r, 1);
			break;
		case 'L':
			read_fixed(r, 1);
			break;
		case 'P': {
			uint8_t penc = (uint8_t)read_fixed(r, 1);
			read_encoded(r, penc & 0x0f, 0); /* value unused */
			break;
		}
		default: /* 'S' signal frames and the unknown */
			return false;
		}
	}
	/* libunwind starts the instructions right after the fields it
	 * knows; insist the augmentation size agrees. */
	return !r->bad && r->p == aug_end;
}

enum lp_fde_lookup {
	FDE_FOUND,
	FDE_NONE,     /* no FDE covers pc: code without CFI */
	FDE_AT_ENTRY, /* none covers pc, and an FDE starts at pc + 1 */
	FDE_BAD,      /* a table or record libunwind would not read alike */
};

/* Whether entry i of the search table (count entries) starts at pc. */
static bool
table_starts_at(const uint8_t *table, uint64_t i, uint64_t count, uintptr_t hdr, uintptr_t pc)
{
	int32_t loc;

	if (i >= count)
		return false;
	memcpy(&loc, table + i * 8, 4);
	return hdr + (intptr_t)loc == pc;
}

/* Find the FDE covering pc in the module's .eh_frame_hdr search table.
 * FDE_FOUND: a reader over its instructions and the start of its range.
 * A pc between FDEs is FDE_AT_ENTRY when the next FDE starts right after
 * it (pc is a return address minus one, that return address a function's
 * first byte), FDE_NONE otherwise. */
static enum lp_fde_lookup
find_fde(uintptr_t pc, const struct dl_find_object *mod, struct lp_cie *cie,
	 struct lp_cfi_reader *fde, uintptr_t *start, uintptr_t *length)
{
	uintptr_t hdr = (uintptr_t)mod->dlfo_eh_frame;
	struct lp_cfi_reader r = {
		.p = (const uint8_t *)hdr, .end = (const uint8_t *)mod->dlfo_map_end,
		.bad = hdr < (uintptr_t)mod->dlfo_map_start || hdr >= (uintptr_t)mod->dlfo_map_end,
	};

	if (read_fixed(&r, 1) != 1)
		return FDE_BAD;
	uint8_t ptr_enc = (uint8_t)read_fixed(&r, 1);
	uint8_t count_enc = (uint8_t)read_fixed(&r, 1);
	uint8_t table_enc = (uint8_t)read_fixed(&r, 1);
	/* The only table libunwind binary-searches: datarel sdata4. */
	if (table_enc != 0x3b || count_enc == 0xff || ptr_enc == 0xff)
		return FDE_BAD;
	read_encoded(&r, ptr_enc, hdr);
	uint64_t count = read_encoded(&r, count_enc, hdr);
	if (r.bad || count == 0 || count > (uint64_t)(r.end - r.p) / 8)
		return FDE_BAD;

	/* Postcondition: i is the last entry starting at or below pc. */
	const uint8_t *table = r.p;
	uint64_t lo = 0, hi = count;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		int32_t loc;
		memcpy(&loc, table + mid * 8, 4);
		if (hdr + (intptr_t)loc <= pc)
			lo = mid;
		else
			hi = mid;
	}
	int32_t loc, off;
	memcpy(&loc, table + lo * 8, 4);
	memcpy(&off, table + lo * 8 + 4, 4);
	if (hdr + (intptr_t)loc > pc) /* before the first FDE */
		return table_starts_at(table, 0, count, hdr, pc + 1) ? FDE_AT_ENTRY : FDE_NONE;

	uintptr_t at = hdr + (intptr_t)off;
	open_record(fde, at, mod);
	uintptr_t id_field = (uintptr_t)fde->p;
	int32_t cie_off = (int32_t)read_fixed(fde, 4);
	if (fde->bad || cie_off == 0 ||
	    !read_cie(id_field - (intptr_t)cie_off, mod, cie))
		return FDE_BAD;
	*start = read_encoded(fde, cie->fde_enc, 0);
	uintptr_t range = read_encoded(fde, cie->fde_enc & 0x0f, 0);
	if (fde->bad || pc < *start)
		return FDE_BAD;
	*length = range;
	if (pc - *start >= range) /* after the FDE, before the next */
		return table_starts_at(table, lo + 1, count, hdr, pc + 1) ? FDE_AT_ENTRY : FDE_NONE;
	if (cie->sized) {
		uint64_t len = read_uleb(fde);
		if (len > (uint64_t)(fde->end - fde->p))
			return FDE_BAD;
		fde->p += len;
	}
	return fde->bad ? FDE_BAD : FDE_FOUND;
}

/* --- deriving rules --------------------------------------------------- */

/* Turn the row at pc into a rule word (kind and offsets, no tag/stamp),
 * with libunwind's classification: undefined return address or rbp ends
 * the walk; only rows it traces as "standard" or "aligned" step. */
static uint64_t
classify_row(const struct lp_cfi_row *row)
{
	uint8_t ra = row->where[REG_RA], bp = row->where[REG_RBP];

	if (ra == WHERE_REG || bp == WHERE_REG || row->where[REG_RSP] == WHERE_REG)
		return RULE_UNSUPPORTED;
	if (row->cfa_deref) {
		/* gcc's realigned frame: the CFA was pushed below rbp. */
		if (bp != WHERE_AT_RBP || ra != WHERE_CFAREL || row->val[REG_RA] != -8 ||
		    row->where[REG_RSP] != WHERE_SAME)
			return RULE_UNSUPPORTED;
		return RULE_STANDARD | RULE_ALIGNED | RULE_CFA_RBP | RULE_RBP_SAVED |
		       ((uint64_t)row->deref_off & 0x7f) << RULE_SLOT_SHIFT;
	}
	if (bp == WHERE_AT_RBP || (row->cfa_reg != REG_RSP && row->cfa_reg != REG_RBP))
		return RULE_UNSUPPORTED;
	if (ra == WHERE_UNDEF || bp == WHERE_UNDEF)
		return RULE_LAST;
	if (ra != WHERE_CFAREL || row->val[REG_RA] != -8)
		return RULE_UNSUPPORTED;
	if (row->where[REG_RSP] != WHERE_SAME)
		return RULE_UNSUPPORTED;
	if (row->cfa_off < 8 || (uint64_t)row->cfa_off > CFA_OFF_MAX)
		return RULE_UNSUPPORTED;

	uint64_t rule = RULE_STANDARD | (uint64_t)row->cfa_off;
	if (row->cfa_reg == REG_RBP)
		rule |= RULE_CFA_RBP;
	if (bp == WHERE_CFAREL) {
		int64_t off = row->val[REG_RBP];
		if (off % 8 || off < -64 * 8 || off > 63 * 8)
			return RULE_UNSUPPORTED;
		rule |= RULE_RBP_SAVED | ((uint64_t)(off / 8) & 0x7f) << RULE_SLOT_SHIFT;
	}
	return rule;
}

uint64_t
lp_cfi_rule(uintptr_t pc, const struct dl_find_object *mod)
{
	struct lp_cie cie;
	struct lp_cfi_reader fde;
	struct lp_cfi_row row;
	uintptr_t start, length;

	if (!mod->dlfo_eh_frame)
		return RULE_FRAME_POINTER;
	switch (find_fde(pc, mod, &cie, &fde, &start, &length)) {
	case FDE_FOUND:
		break;
	case FDE_NONE:
		return RULE_FRAME_POINTER;
	case FDE_AT_ENTRY:
		return RULE_LAST;
	default:
		return RULE_UNSUPPORTED;
	}

	memset(&row, 0, sizeof(row));
	for (int i = 0; i < REG_COUNT; i++)
		row.where[i] = WHERE_SAME;
	if (!run_cfi(&cie.instr, &cie, &row, NULL, 0, UINTPTR_MAX))
		return RULE_UNSUPPORTED;
	struct lp_cfi_row initial = row;
	if (!run_cfi(&fde, &cie, &row, &initial, start, pc))
		return RULE_UNSUPPORTED;
	return classify_row(&row);
}

bool
lp_fast_unwind_function(uintptr_t pc, uintptr_t *lo, uintptr_t *hi)
{
	struct dl_find_object mod;
	struct lp_cie cie;
	struct lp_cfi_reader fde;
	uintptr_t start, length;

	if (_dl_find_object((void *)pc, &mod) != 0 || !mod.dlfo_eh_frame ||
	    find_fde(pc, &mod, &cie, &fde, &start, &length) != FDE_FOUND)
		return false;
	*lo = start;
	*hi = start + length;
	return true;
}

#else /* no _dl_find_object */

bool
lp_fast_unwind_function(uintptr_t pc, uintptr_t *lo, uintptr_t *hi)
{
	(void)pc;
	(void)lo;
	(void)hi;
	return false;
}

#endif
