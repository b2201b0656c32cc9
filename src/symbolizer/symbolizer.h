/* SPDX-License-Identifier: MIT */
/*
 * symbolizer.h - leakprobe-symbolizer's parts: a module (one ELF file and
 * its debug information, opened once and kept for the run), the search for
 * separate debug files (never over the network), and names.
 *
 * This program runs outside the target process: libdw, libelf and their
 * compression libraries live here, never in the program under the shim.
 */
#pragma once

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

/* One named frame.  function is malloc'd (demangled); file points into
 * libdw's data and lives as long as the module. */
struct sym_frame {
	char *function;   /* NULL when unknown */
	const char *file; /* NULL when there is no line information */
	int line;
	bool inlined;     /* a function inlined into the next frame */
};

struct sym_module;

/* Open path (the file the program had loaded).  build_id: what the loaded
 * image carried (NULL/0: not checked); a file whose build-id differs is
 * not used (it changed on disk since it was loaded).  Never NULL: a module
 * that could not be opened answers every lookup with nothing. */
struct sym_module *sym_module_open(const char *path, const uint8_t *build_id,
				   size_t build_id_len);
enum lpsym_status sym_module_status(const struct sym_module *m);
/* Frames for the instruction at addr (relative to the load bias),
 * innermost first: the functions inlined there, then the function that
 * contains it (always present, even when unnamed).  Returns how many
 * (1..max).  Free each frame's function with free(). */
int sym_lookup(struct sym_module *m, uint64_t addr, struct sym_frame *out, int max);
void sym_module_close(struct sym_module *m);

/* debuginfo.c: libdwfl callbacks that look for separate debug files in
 * the places a distribution installs them, and never anywhere else. */
extern const Dwfl_Callbacks sym_dwfl_callbacks;
/* Before the module's debug information is first read: what the callback
 * needs to know about it. */
void sym_debuginfo_attach(Dwfl_Module *dm, const char *path);
/* Before dwfl_end: free what attach kept. */
void sym_debuginfo_detach(Dwfl_Module *dm);

/* names.c: "f@@GLIBC_2.34" -> "f", "_Z1fv" -> "f()" (malloc'd copy). */
char *sym_demangle(const char *name);
