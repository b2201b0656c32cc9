/* SPDX-License-Identifier: MIT */
/*
 * symbolize.h - instruction pointers -> function, file:line, the functions
 * inlined there, module+offset.
 *
 * The target records, another process names: the shim never loads a DWARF
 * reader.  At report time the frames to print are collected (want), sent
 * in one batch to leakprobe-symbolizer, a helper process started for the
 * occasion (resolve, see spawn.h and symbolizer/protocol.h), and the
 * answers are kept for this and later reports.  Module and offset always
 * come from the shim itself; when the helper cannot run, functions come
 * from dladdr (dynamic symbols) and the report says why.
 *
 * Frames are named in the module (modules.h) that held them when they
 * were captured, also one unloaded since.  Everything here runs with the
 * guard held, under the report mutex.
 */
#pragma once

#include "core/base.h"

struct lp_frame_name {
	const char *function; /* NULL when unknown */
	const char *file;     /* NULL when there is no line information */
	int line;
};

struct lp_frame {
	uintptr_t ip;
	/* The function that contains ip (for an inlined call: the one it was
	 * inlined into, at the line of that call). */
	const char *function;
	const char *file;
	int line;
	const char *module; /* NULL when the address is in no known module */
	uintptr_t offset;   /* ip - the module's load address */
	/* Functions inlined at ip, innermost first: each is printed as a
	 * frame of its own, before the one above. */
	uint32_t ninlined;
	const struct lp_frame_name *inlined;
};

/* Start-up: the executable's path (modules.h) and where the helper is. */
void lp_symbolize_init(void) LP_HIDDEN;

/* A report: begin (the modules loaded now and remembered), want every
 * frame it will print, resolve (one exchange with the helper), then
 * lp_symbolize_frame/lp_symbolize while rendering, then end.  Frames stay
 * valid until end. */
void lp_symbolize_begin(void) LP_HIDDEN;
struct lp_stack;
void lp_symbolize_want_stack(const struct lp_stack *s) LP_HIDDEN;
void lp_symbolize_resolve(void) LP_HIDDEN;
/* Frame i of a depot stack: named in the module load it was captured in.
 * A frame that was not wanted gets module+offset only. */
void lp_symbolize_frame(const struct lp_stack *s, uint32_t i, struct lp_frame *out) LP_HIDDEN;
void lp_symbolize(uintptr_t ip, struct lp_frame *out) LP_HIDDEN;
void lp_symbolize_end(void) LP_HIDDEN;
/* Why this report's frames are not fully named (the helper could not run,
 * timed out, a module changed on disk...), or NULL. */
const char *lp_symbolize_note(void) LP_HIDDEN;
/* Memory ran out while naming this report's frames: some show as
 * addresses only. */
bool lp_symbolize_out_of_memory(void) LP_HIDDEN;
