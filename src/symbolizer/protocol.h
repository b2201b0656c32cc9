/* SPDX-License-Identifier: MIT */
/*
 * protocol.h - what the shim and leakprobe-symbolizer exchange.
 *
 * The target records, another process names: at report time the shim
 * writes a request into an anonymous file (memfd) and starts the helper
 * with that file as its fd 0.  The helper reads the request with pread,
 * appends its answers after it with pwrite and exits; the shim then reads
 * them back.  One descriptor on the shim's side, no pipe that can fill up
 * or raise SIGPIPE in the program, and whatever the helper wrote before it
 * died or was killed is still there.
 *
 * Native byte order and sizes (the helper runs on the same machine).  All
 * records are 8-byte aligned; lengths count bytes and never include
 * padding; a string length of LPSYM_NONE means "no string".
 *
 * Request, at offset 0:
 *   struct lpsym_request_header
 *   nmodules x { struct lpsym_module, path bytes, build-id bytes, pad }
 *   naddrs   x struct lpsym_addr          (grouped by module)
 *
 * Answer, at offset LPSYM_ALIGN(request size): a sequence of records
 *   struct lpsym_record { kind, len } followed by len payload bytes, pad.
 *   LPSYM_FRAMES  u32 addr index, u32 nframes, then nframes x
 *                 { struct lpsym_frame, function bytes, file bytes }
 *                 innermost first: the functions inlined at the address,
 *                 then the function that contains it (always the last).
 *   LPSYM_MODULE  u32 module index, u32 status (enum lpsym_status)
 *   LPSYM_END     no payload: every address was answered.
 * A reader stops at the first record that does not fit; every length is
 * checked against the record that holds it.
 */
#pragma once

#include <stdint.h>

#define LPSYM_REQUEST_MAGIC "LPSYMRQ1"
#define LPSYM_ANSWER_MAGIC "LPSYMAN1"
#define LPSYM_NONE UINT32_MAX
#define LPSYM_ALIGN(n) (((n) + 7) & ~(uint64_t)7)
/* Sanity bounds, checked by both sides. */
#define LPSYM_MAX_PATH 4096
#define LPSYM_MAX_BUILD_ID 64
#define LPSYM_MAX_FRAMES 64 /* inlined frames per address, and the function */
#define LPSYM_MAX_STRING 8192

struct lpsym_request_header {
	char magic[8];
	uint32_t nmodules;
	uint32_t naddrs;
};

struct lpsym_module {
	uint32_t path_len;
	uint32_t build_id_len; /* 0: the loaded image had none (not checked) */
};

struct lpsym_addr {
	uint64_t addr;   /* the call instruction, relative to the module's load bias */
	uint32_t module; /* index into the module table */
	uint32_t pad;
};

struct lpsym_answer_header {
	char magic[8];
};

enum lpsym_kind { LPSYM_FRAMES = 1, LPSYM_MODULE = 2, LPSYM_END = 3 };

struct lpsym_record {
	uint32_t kind;
	uint32_t len;
};

struct lpsym_frame {
	int32_t line;      /* 0: unknown */
	uint32_t function_len;
	uint32_t file_len;
	uint32_t flags;    /* LPSYM_INLINED */
};
#define LPSYM_INLINED 1u

enum lpsym_status {
	LPSYM_OK = 0,          /* DWARF found: functions, files, lines */
	LPSYM_SYMBOLS_ONLY,    /* no debug information: symbol table names */
	LPSYM_UNREADABLE,      /* the file could not be opened or parsed */
	LPSYM_CHANGED,         /* its build-id is not the loaded image's */
};
