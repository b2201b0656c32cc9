/* SPDX-License-Identifier: MIT */
/*
 * symbolize.h - instruction pointers -> function, file:line, module+offset.
 *
 * Runs only while a report is written (libdw is slow to load and
 * allocates).  Modules unloaded by dlclose are remembered when dlclose is
 * called, so stacks captured in a plugin still resolve after it is gone.
 */
#pragma once

#include "lp.h"

struct lp_frame {
	uintptr_t ip;
	const char *function; /* NULL when unknown */
	const char *file;     /* NULL when there is no line information */
	int line;
	const char *module;   /* NULL when the address is in no known module */
	uintptr_t offset;     /* ip - the module's load address */
};

/* Start-up: learn the executable's path while /proc/self/exe still
 * resolves (it stops once the main thread has exited). */
void lp_symbolize_init(void) LP_HIDDEN;

/* Between begin and end, frames returned by lp_symbolize stay valid. */
void lp_symbolize_begin(void) LP_HIDDEN;
void lp_symbolize(uintptr_t ip, struct lp_frame *out) LP_HIDDEN;
/* Frame i of a depot stack: named in the module load it was captured in. */
struct lp_stack;
void lp_symbolize_frame(const struct lp_stack *s, uint32_t i, struct lp_frame *out) LP_HIDDEN;
void lp_symbolize_end(void) LP_HIDDEN;
/* Close every ELF/DWARF file libdw holds (frames already resolved stay
 * valid): the report's output file may need the descriptors. */
void lp_symbolize_release_files(void) LP_HIDDEN;
/* Modules that could not be opened for lack of a file descriptor during
 * this report (their frames carry module + offset only). */
unsigned lp_symbolize_starved(void) LP_HIDDEN;
/* Memory ran out while naming this report's frames: some show as
 * addresses only. */
bool lp_symbolize_out_of_memory(void) LP_HIDDEN;

/* Remember every loaded module before a dlclose may unmap some. */
void lp_modules_remember(void) LP_HIDDEN;
