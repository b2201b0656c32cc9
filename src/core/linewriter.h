/* SPDX-License-Identifier: MIT */
/*
 * linewriter.h - buffered writes to a file descriptor with a small printf.
 *
 * No malloc, no stdio, no locale: usable from the exit hook, the worker
 * thread and (lp_fmt alone) a signal handler.  Write errors are remembered,
 * never raised.
 */
#pragma once

#include <stdarg.h>

#include "core/base.h"

struct lp_lw {
	int fd;
	bool failed;
	size_t len;
	char buf[16384];
};

void lp_lw_init(struct lp_lw *lw, int fd) LP_HIDDEN;
void lp_lw_write(struct lp_lw *lw, const char *s, size_t n) LP_HIDDEN;
void lp_lw_puts(struct lp_lw *lw, const char *s) LP_HIDDEN;
void lp_lw_printf(struct lp_lw *lw, const char *fmt, ...)
	__attribute__((format(printf, 2, 3))) LP_HIDDEN;
/* A JSON string literal, quotes included; NULL prints null. */
void lp_lw_json_string(struct lp_lw *lw, const char *s) LP_HIDDEN;
/* Text from outside (command line, paths): control characters as \n,
 * \t or \xNN, so one report line stays one line. */
void lp_lw_text_safe(struct lp_lw *lw, const char *s) LP_HIDDEN;
/* Returns false if any write since lp_lw_init failed. */
bool lp_lw_flush(struct lp_lw *lw) LP_HIDDEN;

/* snprintf subset: %s %c %d %i %u %x %p with l/ll/z, width, '-', '0',
 * and %.Nf for doubles.  Always NUL-terminates; returns the length written. */
size_t lp_vfmt(char *dst, size_t cap, const char *fmt, va_list ap) LP_HIDDEN;
size_t lp_fmt(char *dst, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4))) LP_HIDDEN;

/* write(2) all of it, retrying on EINTR and short writes. */
bool lp_write_all(int fd, const char *s, size_t n) LP_HIDDEN;
