/* SPDX-License-Identifier: MIT */
/*
 * fast_unwind.c - see fast_unwind.h.
 *
 * The walk reproduces libunwind 1.6's x86-64 fast trace (unw_backtrace):
 * a frame is followed only when its CFI row has a shape libunwind itself
 * traces: "standard" (CFA = rsp or rbp + constant, return address at
 * CFA-8, rbp unchanged or saved at CFA+constant, rsp unchanged) or
 * "aligned" (gcc's stack realignment: CFA = *(rbp + constant), rbp saved
 * at rbp).  A row whose return address or rbp is undefined ends the walk
 * as it ends libunwind's; a return address below 0x4000 ends it too.
 * Every other row (other expressions, register rules, signal frames)
 * answers -1 and the caller asks libunwind.
 *
 * Code without CFI (a JIT's, functions built without unwind tables): a pc
 * in no module, in a module without .eh_frame_hdr, or between the FDEs of
 * its module is stepped as libunwind guesses it, by the frame pointer:
 * CFA = rbp + 16, return address at rbp + 8, rbp saved at rbp, and only
 * when rbp looks like one (nonzero, 8-aligned, at or above sp and within
 * 16 KiB of it, on the stack); otherwise the walk ends there, as
 * libunwind's does.  The frames after it have their CFI again.  One pc
 * between FDEs is no such code: a return address that is the first byte
 * of a function was pushed by hand, not by a call (makecontext's
 * __start_context, where a coroutine's first frame returns): the walk
 * ends with it.
 *
 * Rule cache: one 64-bit word per slot, written and read with single
 * atomic accesses, so no reader can see a torn entry.  The pc is
 * multiplied by an odd constant modulo 2^47 (a bijection): the top bits
 * select the slot and the low bits are the tag, so slot + tag identify
 * the pc exactly.  Pcs at or above 2^47 are never cached.
 *
 * dlclose: modules loaded before lp_fast_unwind_init are never unloaded
 * (they are the program and its startup dependencies, provided the
 * caller initialises before the program's first dlopen), so their rules
 * are permanent.  Rules of later modules are volatile: stamped with the
 * loader generation (dlpi_adds + dlpi_subs) the walk began under, and
 * before a walk uses its first volatile rule it re-reads the generation
 * (dl_iterate_phdr, under the loader's lock); if it moved, the volatile
 * rules are dropped and the walk starts over.  Once confirmed, the rules
 * hold for the whole walk: it only meets modules with frames on this
 * thread's stack, which no correct program unloads under it.
 *
 * Memo: the walk is a chain of dependent loads (~7 ns a frame).  Each
 * thread keeps its previous walk; wherever a new walk reaches one of its
 * states (same pc and sp, and same rbp if the rest of the walk uses it)
 * the steps that follow are verified with independent loads (~1 ns a
 * frame), until a word differs; the walk then goes on by itself and may
 * meet the memo again further up.
 *
 * Memory safety: every stack load lies between the walk's own rsp and
 * the top of the mapping the walk started on (this thread's stack, or
 * the mapping holding rsp: stack_bounds.c, which says when that bound
 * may be out of date), every .eh_frame read inside the module's mapping,
 * and the CFA strictly rises.
 *
 * The stacks a walk may read: stack_bounds.c.
 */
#ifndef _GNU_SOURCE /* the build passes it */
#define _GNU_SOURCE
#endif
#include "unwind/fast_unwind.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "unwind/stack_bounds.h"

#if defined(__x86_64__) && defined(DLFO_STRUCT_HAS_EH_DBASE)

/* Any odd multiplier keeps the hash a bijection; the unit test builds
 * with 1 to pile every pc of a module into a few slots. */
#ifndef LP_FAST_UNWIND_HASH_MUL
#define LP_FAST_UNWIND_HASH_MUL UINT64_C(0x9e3779b97f4a7c15)
#endif

/* Cache word: tag (high bits) | rule (RULE_BITS low bits). */
#define PC_BITS 47
#define PC_LIMIT (UINT64_C(1) << PC_BITS)
#define SLOT_BITS 18
#define SLOT_COUNT (UINT64_C(1) << SLOT_BITS)
#define TAG_BITS (PC_BITS - SLOT_BITS)
#define RULE_BITS (64 - TAG_BITS)
#define HASH_MUL ((LP_FAST_UNWIND_HASH_MUL | 1) & (PC_LIMIT - 1))

/* Rule fields, low bits first.  The CFA offset comes first: on the walk's
 * critical path it takes a single AND. */
#define CFA_OFF_MAX ((UINT64_C(1) << 18) - 1) /* bits 0..17: CFA offset */
#define RULE_ALIGNED (UINT64_C(1) << 18) /* CFA = *(rbp + slot offset) */
#define RULE_KIND_SHIFT 19
#define RULE_KIND (UINT64_C(3) << RULE_KIND_SHIFT)
#define RULE_EMPTY (UINT64_C(0) << RULE_KIND_SHIFT)
#define RULE_STANDARD (UINT64_C(1) << RULE_KIND_SHIFT)   /* step to the caller */
#define RULE_LAST (UINT64_C(2) << RULE_KIND_SHIFT)	     /* outermost frame */
#define RULE_UNSUPPORTED (UINT64_C(3) << RULE_KIND_SHIFT) /* libunwind's job */
/* No CFI: step by the frame pointer if rbp looks like one, else end (a
 * last rule never uses rbp for the CFA: the flag marks the kind). */
#define RULE_FRAME_POINTER (RULE_LAST | RULE_CFA_RBP)
#define RULE_VOLATILE (UINT64_C(1) << 21)
#define RULE_STAMP_SHIFT 22 /* 4 bits of loader generation */
#define RULE_CFA_RBP (UINT64_C(1) << 26)
#define RULE_RBP_SAVED (UINT64_C(1) << 27)
/* Bits 28..34, signed: the rbp slot (CFA + 8 * it), or for an aligned
 * rule the CFA slot (rbp + it, in bytes). */
#define RULE_SLOT_SHIFT 28
_Static_assert(RULE_BITS >= 35, "rule fields overlap the tag");

/* libunwind's end of the walk: a return address below this stops it. */
#define LOWEST_PC 0x4000
/* libunwind's bound on a guessed frame: rbp at most this far above sp. */
#define FP_FRAME_MAX 0x4000

/* DWARF register numbers of x86-64. */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16
#define REG_COUNT 17

#define PERMANENT_MAX 512
#define REMEMBER_DEPTH 6

/* The unit test builds the walk without memo too, to test the plain
 * walk on every frame. */
#ifndef LP_FAST_UNWIND_MEMO
#define LP_FAST_UNWIND_MEMO 1
#endif
#define MEMO_STEPS 128

static uint64_t *cache;
static uint64_t generation; /* loader generation last seen; only grows */
static uintptr_t permanent[PERMANENT_MAX]; /* .eh_frame_hdr of each */
static int permanent_count;
static bool init_ok;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

enum {
	STEP_BP_SLOT = 1,  /* rbp was read at cfa + bp_slot */
	STEP_CFA_SLOT = 2, /* the CFA was read at cfa + cfa_slot */
	STEP_USES_BP = 4,  /* the step used the rbp it was given */
};

/* One step of a recorded walk: the caller's CFA, the return address read
 * at cfa - 8, the rbp read from the stack (a step that keeps rbp leaves
 * bp alone: a state's rbp is the last one read, or the walk's first),
 * where rbp and the CFA were read from. */
struct lp_memo_step {
	uintptr_t cfa, ra, bp;
	int16_t bp_slot, cfa_slot;
	uint8_t flags;
};

/* The previous walk of this thread.  Its steps after a state (pc, sp,
 * rbp) depend only on that state, the rules (fixed for one loader
 * generation) and the stack words they read; so wherever a new walk
 * reaches one of its states, the steps that follow are replayed by
 * checking those words, loads that do not depend on each other, instead
 * of walking.  A walk may leave the memo (a word differs: another caller
 * down there) and meet it again further up (the same outer frames), as
 * stacks of one program mostly do.  Steps are step[0, count). */
struct lp_memo {
	uintptr_t pc, sp, bp; /* the state the walk started from */
	uintptr_t top;	      /* the top of its stack: a walk under another
			       * bound does not replay it (locate_stack) */
	uint64_t gen;
	int count;	     /* steps recorded */
	bool ends;	     /* the rule after the last step is RULE_LAST */
	bool volatile_rules; /* the steps used volatile rules */
	int bp_free_from;    /* no step from here on uses or reads rbp */
	struct lp_memo_step step[MEMO_STEPS];
};

/* This thread: the stacks it runs on, and two records: the memo a walk
 * reads and the one it writes, which then swap (the memo stays whole
 * while the walk is under way). */
struct lp_thread {
	struct lp_stack_bounds stacks;
	struct lp_memo *memo, *spare;
	bool locating; /* in locate_stack: a signal handler's walk gives up */
	bool walking;  /* a signal handler's walk leaves the memo alone */
	struct lp_memo records[2];
};
static __thread struct lp_thread this_thread
	__attribute__((tls_model("initial-exec")));

/* --- loader generation ------------------------------------------------ */

static int
read_generation_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	if (size < offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
		return -1;
	*(uint64_t *)data = info->dlpi_adds + info->dlpi_subs;
	return 1;
}

static uint64_t
read_generation(void)
{
	uint64_t g = UINT64_MAX;

	dl_iterate_phdr(read_generation_cb, &g);
	return g;
}

/* Forget every volatile rule.  CAS, not store: a rule written meanwhile
 * by another thread is newer than what we saw. */
static void
flush_volatile(void)
{
	for (uint64_t i = 0; i < SLOT_COUNT; i++) {
		uint64_t w = __atomic_load_n(&cache[i], __ATOMIC_RELAXED);
		if (w & RULE_VOLATILE)
			__atomic_compare_exchange_n(&cache[i], &w, 0, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
}

/* Confirm the loader generation is still walk_gen.  If not, publish the
 * new one (it only grows) and drop the volatile rules: stamps have 4
 * bits, a rule must not outlive 16 generations. */
static LP_NOINLINE bool
confirm_generation(uint64_t walk_gen)
{
	uint64_t now = read_generation();
	if (now == walk_gen)
		return true;

	uint64_t seen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
	while (seen < now) {
		if (__atomic_compare_exchange_n(&generation, &seen, now, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			flush_volatile();
			break;
		}
	}
	return false;
}

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

/* --- deriving rules --------------------------------------------------- */

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

static bool
is_permanent(uintptr_t eh_frame_hdr)
{
	for (int i = 0; i < permanent_count; i++)
		if (permanent[i] == eh_frame_hdr)
			return true;
	return false;
}

/* Derive the rule of pc from its module's CFI.  *keep: worth caching
 * (false when pc lies in no module: a JIT's code, or something mapped
 * there later). */
static uint64_t
derive_rule(uintptr_t pc, bool *keep)
{
	struct dl_find_object mod;
	struct lp_cie cie;
	struct lp_cfi_reader fde;
	struct lp_cfi_row row;
	uintptr_t start, length;

	*keep = false;
	if (_dl_find_object((void *)pc, &mod) != 0)
		return RULE_FRAME_POINTER;
	*keep = true;
	/* A module without .eh_frame_hdr is never one of the permanent
	 * ones (noted by theirs): volatile, as a later module's. */
	uint64_t vol = mod.dlfo_eh_frame && is_permanent((uintptr_t)mod.dlfo_eh_frame)
			       ? 0 : RULE_VOLATILE;
	if (!mod.dlfo_eh_frame)
		return RULE_FRAME_POINTER | vol;
	switch (find_fde(pc, &mod, &cie, &fde, &start, &length)) {
	case FDE_FOUND:
		break;
	case FDE_NONE:
		return RULE_FRAME_POINTER | vol;
	case FDE_AT_ENTRY:
		return RULE_LAST | vol;
	default:
		return RULE_UNSUPPORTED | vol;
	}

	memset(&row, 0, sizeof(row));
	for (int i = 0; i < REG_COUNT; i++)
		row.where[i] = WHERE_SAME;
	if (!run_cfi(&cie.instr, &cie, &row, NULL, 0, UINTPTR_MAX))
		return RULE_UNSUPPORTED | vol;
	struct lp_cfi_row initial = row;
	if (!run_cfi(&fde, &cie, &row, &initial, start, pc))
		return RULE_UNSUPPORTED | vol;
	return classify_row(&row) | vol;
}

/* Miss: derive the rule and publish it.  A volatile rule is stamped with
 * the generation the walk started under, and withdrawn if the published
 * generation moved meanwhile (a flush may have run before our store). */
static LP_NOINLINE uint64_t
fill_rule(uintptr_t pc, uint64_t slot, uint64_t tag, uint64_t walk_gen)
{
	bool keep;
	uint64_t rule = derive_rule(pc, &keep);

	if (rule & RULE_VOLATILE)
		rule |= (walk_gen & 15) << RULE_STAMP_SHIFT;
	if (!keep || slot >= SLOT_COUNT)
		return rule;
	uint64_t w = tag << RULE_BITS | rule;
	__atomic_store_n(&cache[slot], w, __ATOMIC_RELAXED);
	if ((rule & RULE_VOLATILE) &&
	    __atomic_load_n(&generation, __ATOMIC_ACQUIRE) != walk_gen)
		__atomic_compare_exchange_n(&cache[slot], &w, 0, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	return rule;
}

static inline uint64_t
lookup_rule(uintptr_t pc, uint64_t walk_gen)
{
	if (lp_unlikely(pc >= PC_LIMIT))
		return fill_rule(pc, SLOT_COUNT, 0, walk_gen);
	uint64_t h = (pc * HASH_MUL) & (PC_LIMIT - 1);
	uint64_t slot = h >> TAG_BITS, tag = h & ((UINT64_C(1) << TAG_BITS) - 1);
	uint64_t w = __atomic_load_n(&cache[slot], __ATOMIC_RELAXED);
	if (lp_likely(w >> RULE_BITS == tag && (w & RULE_KIND) != RULE_EMPTY) &&
	    (!(w & RULE_VOLATILE) ||
	     ((w >> RULE_STAMP_SHIFT) & 15) == (walk_gen & 15)))
		return w;
	return fill_rule(pc, slot, tag, walk_gen);
}

/* --- the stack a walk runs on ----------------------------------------- */

/* sp lies outside this thread's known stack: the top of the read-write
 * mapping holding sp (stack_bounds.c), 0 if there is none or it cannot
 * be known now. */
static LP_COLD uintptr_t
locate_stack(uintptr_t sp)
{
	struct lp_thread *ts = &this_thread;

	/* A signal handler that interrupted this thread's locate_stack
	 * gives up: the bounds are being rewritten under it. */
	if (ts->locating)
		return 0;
	ts->locating = true;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	uintptr_t top = lp_stack_bounds_locate(&ts->stacks, sp);
	/* A memo recorded under another bound is not replayed under this
	 * one (its steps read up to its own top).  A walk on the thread's
	 * stack needs no such check: no state of a memo recorded on another
	 * mapping lies on it. */
	if (top && !ts->walking && ts->memo && ts->memo->top != top)
		ts->memo->gen = UINT64_MAX;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ts->locating = false;
	return top;
}

/* --- the walk --------------------------------------------------------- */

static int
note_module_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME &&
		    permanent_count < PERMANENT_MAX)
			permanent[permanent_count++] =
				info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
	}
	return 0;
}

static void
init_once_fn(void)
{
	struct dl_find_object mine;

	void *m = mmap(NULL, SLOT_COUNT * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return;
	/* The modules loaded now can never be unloaded (they are the
	 * program and its startup dependencies, as long as we are
	 * initialised before the program's first dlopen). */
	dl_iterate_phdr(note_module_cb, NULL);
	uint64_t gen = read_generation();
	__atomic_store_n(&generation, gen, __ATOMIC_RELEASE);
	if (gen == UINT64_MAX ||
	    _dl_find_object((void *)(uintptr_t)&init_once_fn, &mine) != 0 ||
	    !mine.dlfo_eh_frame) {
		munmap(m, SLOT_COUNT * sizeof(uint64_t));
		return;
	}
	__atomic_store_n(&cache, (uint64_t *)m, __ATOMIC_RELEASE);
	init_ok = true;
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

bool
lp_fast_unwind_init(void)
{
	pthread_once(&init_once, init_once_fn);
	return init_ok;
}

static inline uintptr_t
load_word(uintptr_t addr)
{
	uintptr_t v;

	memcpy(&v, (const void *)addr, sizeof(v));
	return v;
}

/* Whether the walk recorded in m uses the rbp of its state i: a step
 * from there on uses rbp before one reads it from the stack (or the walk
 * goes on past the memo). */
static bool
memo_needs_bp(const struct lp_memo *m, int i)
{
	if (i >= m->bp_free_from)
		return !m->ends;
	for (; i < m->count; i++) {
		unsigned flags = m->step[i].flags;
		if (flags & STEP_USES_BP)
			return true;
		if (flags & STEP_BP_SLOT)
			return false;
	}
	return !m->ends;
}

/* Replay steps of a memo while the stack words they read still hold
 * what they held (rbp's only where the rest of the walk uses it); ips
 * receives their return addresses, *bp follows rbp, rec[0, rec_count)
 * receives the steps as this walk reads them.  The CFAs of the steps rise
 * and none exceeds the thread's top: checking the first one against the
 * floor bounds them.  Returns the steps replayed. */
static inline __attribute__((always_inline)) int
replay_steps(const struct lp_memo *m, int at, int count, void **ips, uintptr_t floor,
	     uintptr_t *bp, struct lp_memo_step *rec, int rec_count)
{
	const struct lp_memo_step *step = m->step + at;
	uintptr_t cur = *bp;
	int i = 0;

	if (count <= 0 || step[0].cfa - 8 < floor)
		return 0;
	for (; i < count; i++) {
		const struct lp_memo_step *st = &step[i];
		unsigned flags = st->flags;
		if (lp_unlikely(flags & STEP_CFA_SLOT) &&
		    (st->cfa + st->cfa_slot < floor || load_word(st->cfa + st->cfa_slot) != st->cfa))
			break;
		if (load_word(st->cfa - 8) != st->ra)
			break;
		if (flags & STEP_BP_SLOT) {
			if (st->cfa + st->bp_slot < floor)
				break;
			uintptr_t v = load_word(st->cfa + st->bp_slot);
			if (lp_unlikely(v != st->bp) && memo_needs_bp(m, at + i + 1))
				break;
			cur = v;
		}
		ips[i] = (void *)st->ra;
		if (i < rec_count) {
			rec[i] = *st;
			rec[i].bp = cur;
		}
	}
	*bp = cur;
	return i;
}

/* The state before step i of a memo: (pc to look up, sp, rbp), and
 * whether the rest of the walk depends on that rbp. */
static inline uintptr_t
memo_sp(const struct lp_memo *m, int i)
{
	return i ? m->step[i - 1].cfa : m->sp;
}

static inline uintptr_t
memo_pc(const struct lp_memo *m, int i)
{
	return i ? m->step[i - 1].ra - 1 : m->pc;
}

static inline bool
memo_matches_bp(const struct lp_memo *m, int i, uintptr_t bp)
{
	int k = i;

	while (k > 0 && !(m->step[k - 1].flags & STEP_BP_SLOT))
		k--;
	return (k ? m->step[k - 1].bp : m->bp) == bp || !memo_needs_bp(m, i);
}

static inline int
min_int(int a, int b)
{
	return a < b ? a : b;
}

/* Where a walk starts: this frame's pc, sp, rbp; every load lies in
 * [floor, top - 8], the mapped stack above the walk's own frame. */
struct lp_walk_start {
	uintptr_t pc, sp, bp, top;
	uint64_t gen; /* loader generation of the rules it may use */
	bool own_memo;
};

#define WALK_STALE (-2) /* the loader generation moved: walk again */

/* The rule a guessed frame steps by: CFA = rbp + 16, rbp saved at CFA -
 * 16 (slot -2), the return address at CFA - 8, as gcc's frame pointer
 * prologue (push %rbp; mov %rsp, %rbp) leaves them. */
#define RULE_AS_FRAME_POINTER                                                   \
	(RULE_STANDARD | RULE_CFA_RBP | RULE_RBP_SAVED | 16 |                      \
	 ((uint64_t)-2 & 0x7f) << RULE_SLOT_SHIFT)

/* A rule that is not RULE_STANDARD, for the frame at (sp, bp) on a
 * stack ending at top: what the walk does with it.  RULE_UNSUPPORTED:
 * give up; RULE_LAST: the outermost frame; RULE_EMPTY: end here, a guess
 * that failed (its end depends on rbp: not one the memo may skip to);
 * RULE_AS_FRAME_POINTER: step by the frame pointer.  Out of line: the
 * walk's loop keeps its registers.
 *
 * No CFI: rbp may be the frame's base if libunwind would think so (at or
 * above sp, within FP_FRAME_MAX of it), it is aligned and its two words
 * lie on the stack; rbp 0 marks the outermost frame (the x86-64 ABI).
 * The return address above it must be code, not an address on the
 * stack.  The walk then reads that word again, as any CFI step's. */
static LP_NOINLINE uint64_t
rule_without_cfi(uint64_t rule, uintptr_t sp, uintptr_t bp, uintptr_t top)
{
	if ((rule & RULE_KIND) != RULE_LAST)
		return RULE_UNSUPPORTED;
	if ((rule & RULE_FRAME_POINTER) != RULE_FRAME_POINTER)
		return RULE_LAST;
	if (!bp || (bp & 7) || bp < sp || bp - sp > FP_FRAME_MAX || bp > top - 16)
		return RULE_EMPTY;
	uintptr_t ra = load_word(bp + 8);
	if (ra >= sp && ra < top)
		return RULE_EMPTY;
	return RULE_AS_FRAME_POINTER;
}

/* Walk the stack from start.  Returns the number of frames, -1 (give
 * up) or WALK_STALE, recording the walk (in t->spare, which then becomes
 * the memo) on success. */
static inline __attribute__((always_inline)) int
walk_stack(struct lp_thread *t, const struct lp_walk_start *start, void **ips, int max)
{
	const uintptr_t floor = start->sp, top = start->top;
	const struct lp_memo *m = t->memo;
	struct lp_memo *rec = t->spare;
	int room = start->own_memo ? MEMO_STEPS : 0;
	/* next: the first state of m not below sp; -1: m matches nothing.
	 * tried: a state whose replay stopped at once (its first step differs
	 * from this walk's): walked, not tried again. */
	int next = start->own_memo && m->gen == start->gen ? 0 : -1, tried = -1;
	/* checked: the generation was confirmed, volatile rules are
	 * current (their modules have frames on this stack: they stay). */
	bool checked = false, used_volatile = false, ends = false;
	uintptr_t lookup = start->pc, sp = start->sp, bp = start->bp;
	int n = 0, ret = -1;

	/* Step frame by frame.  Postcondition of each step: sp, bp are the
	 * caller's CFA and rbp, lookup its pc, ips[0..n) the return
	 * addresses so far, rec->step[0..min(n, room)) the steps. */
	for (;;) {
		while (next >= 0 && next <= m->count && memo_sp(m, next) < sp)
			next++;
		if (next > m->count)
			next = -1;
		if (next >= 0 && next != tried && memo_sp(m, next) == sp &&
		    memo_pc(m, next) == lookup && memo_matches_bp(m, next, bp)) {
			if (m->volatile_rules && !checked) {
				if (!confirm_generation(start->gen)) {
					ret = WALK_STALE;
					goto fail;
				}
				checked = true;
			}
			used_volatile |= m->volatile_rules;
			/* From here this walk is m's, as long as the words m
			 * read still hold what it read. */
			int done = replay_steps(m, next, min_int(m->count - next, max - n),
						ips + n, floor, &bp, n < room ? rec->step + n : NULL,
						room - n);
			n += done;
			next += done;
			if (next == m->count && m->ends && n < max) {
				ends = true;
				break;
			}
			if (done) {
				sp = m->step[next - 1].cfa;
				lookup = m->step[next - 1].ra - 1;
			}
			/* The step from state next differs: walk it. */
			tried = next;
			if (n >= max)
				break;
		}
		if (n >= max)
			break;
		uint64_t rule = lookup_rule(lookup, start->gen);
		if (lp_unlikely(rule & RULE_VOLATILE) && !checked) {
			if (!confirm_generation(start->gen)) {
				ret = WALK_STALE;
				goto fail;
			}
			checked = true;
		}
		used_volatile |= (rule & RULE_VOLATILE) != 0;
		if (lp_unlikely((rule & RULE_KIND) != RULE_STANDARD)) {
			rule = rule_without_cfi(rule, sp, bp, top);
			if ((rule & RULE_KIND) == RULE_UNSUPPORTED)
				goto fail;
			if ((rule & RULE_KIND) != RULE_STANDARD) {
				ends = (rule & RULE_KIND) == RULE_LAST;
				break;
			}
		}
		/* The slot field, sign-extended: rbp's slot in words, or
		 * for an aligned rule where the CFA is, in bytes. */
		int64_t slot_field = (int64_t)(rule << (57 - RULE_SLOT_SHIFT)) >> 57;
		uintptr_t cfa, cfa_at = 0, bp_at = 0;
		if (lp_likely(!(rule & RULE_ALIGNED))) {
			cfa = ((rule & RULE_CFA_RBP) ? bp : sp) + (rule & CFA_OFF_MAX);
			bp_at = cfa + (uintptr_t)(slot_field * 8);
		} else {
			cfa_at = bp + (uintptr_t)slot_field;
			if (lp_unlikely(cfa_at < floor || cfa_at > top - 8))
				goto fail;
			cfa = load_word(cfa_at);
			bp_at = bp;
		}
		/* The CFA strictly rises and stays on the stack. */
		if (lp_unlikely(cfa < sp + 8 || cfa > top))
			goto fail;
		uintptr_t ra = load_word(cfa - 8);
		if (rule & RULE_RBP_SAVED) {
			if (lp_unlikely(bp_at < floor || bp_at > top - 8))
				goto fail;
			bp = load_word(bp_at);
		}
		sp = cfa;
		if (lp_unlikely(ra < LOWEST_PC))
			break;
		if (n < room) {
			/* Slots are kept relative to the CFA, in 16 bits;
			 * a step that does not fit ends the record. */
			intptr_t cfa_rel = (intptr_t)(cfa_at - cfa), bp_rel = (intptr_t)(bp_at - cfa);
			if (((rule & RULE_ALIGNED) && (cfa_rel < INT16_MIN || cfa_rel > INT16_MAX)) ||
			    ((rule & RULE_RBP_SAVED) && (bp_rel < INT16_MIN || bp_rel > INT16_MAX)))
				room = n;
			else
				rec->step[n] = (struct lp_memo_step){
					.cfa = cfa, .ra = ra, .bp = bp,
					.bp_slot = (int16_t)bp_rel, .cfa_slot = (int16_t)cfa_rel,
					.flags = (uint8_t)(((rule & RULE_RBP_SAVED) ? STEP_BP_SLOT : 0) |
							   ((rule & RULE_ALIGNED) ? STEP_CFA_SLOT : 0) |
							   ((rule & RULE_CFA_RBP) ? STEP_USES_BP : 0)),
				};
		}
		ips[n++] = (void *)ra;
		lookup = ra - 1; /* the call, not what follows it */
	}
	if (start->own_memo) {
		int count = min_int(n, room), k = count;
		rec->pc = start->pc;
		rec->sp = start->sp;
		rec->bp = start->bp;
		rec->top = top;
		rec->gen = start->gen;
		rec->count = count;
		rec->ends = ends && n == count;
		rec->volatile_rules = used_volatile;
		while (k > 0 && !(rec->step[k - 1].flags & (STEP_BP_SLOT | STEP_USES_BP)))
			k--;
		rec->bp_free_from = k;
		t->spare = t->memo;
		t->memo = rec;
	}
	return n;

fail:
	/* The memo is untouched: the next walk may still meet it. */
	return ret;
}

/* The loader generation moved under a walk: once more, under the new
 * one (out of line: the walk is inlined once, on the hot path). */
static LP_NOINLINE int
walk_again(struct lp_thread *t, struct lp_walk_start *start, void **ips, int max)
{
	start->gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
	int n = walk_stack(t, start, ips, max);
	return n == WALK_STALE ? -1 : n;
}

LP_NOINLINE int
lp_fast_unwind(void **ips, int max)
{
	struct lp_walk_start start;

	/* pc is the instruction that reads rsp: the CFI row there
	 * describes this very frame. */
	__asm__ volatile("leaq 0(%%rip), %0\n\t"
			 "movq %%rsp, %1\n\t"
			 "movq %%rbp, %2"
			 : "=r"(start.pc), "=r"(start.sp), "=r"(start.bp));
	if (lp_unlikely(!__atomic_load_n(&cache, __ATOMIC_ACQUIRE)))
		return -1;
	if (max <= 0)
		return 0;
	struct lp_thread *t = &this_thread;
	start.top = t->stacks.hi;
	if (lp_unlikely(start.sp < t->stacks.lo || start.sp >= start.top) &&
	    !(start.top = locate_stack(start.sp)))
		return -1;

	if (lp_unlikely(!t->memo)) {
		t->memo = &t->records[0];
		t->spare = &t->records[1];
	}
	start.own_memo = LP_FAST_UNWIND_MEMO && !t->walking;
	if (start.own_memo) {
		t->walking = true;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	}
	/* A walk that met a rule of a module loaded or unloaded since the
	 * generation was last seen is walked once more. */
	start.gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
	int n = walk_stack(t, &start, ips, max);
	if (lp_unlikely(n == WALK_STALE))
		n = walk_again(t, &start, ips, max);
	if (start.own_memo) {
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		t->walking = false;
	}
	return n;
}

#else /* no _dl_find_object: libunwind does everything */

bool
lp_fast_unwind_init(void)
{
	return false;
}

bool
lp_fast_unwind_function(uintptr_t pc, uintptr_t *lo, uintptr_t *hi)
{
	(void)pc;
	(void)lo;
	(void)hi;
	return false;
}

int
lp_fast_unwind(void **ips, int max)
{
	(void)ips;
	(void)max;
	return -1;
}

#endif
