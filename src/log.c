/* SPDX-License-Identifier: MIT */
/* log.c - see log.h. */
#include "log.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "linewriter.h"

static void
emit(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n = strlen(prefix);

	memcpy(buf, prefix, n);
	n += lp_vfmt(buf + n, sizeof(buf) - n - 1, fmt, ap);
	buf[n++] = '\n';
	lp_write_all(2, buf, n);
}

void
lp_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("leakprobe: warning: ", fmt, ap);
	va_end(ap);
}

void
lp_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("leakprobe: ", fmt, ap);
	va_end(ap);
}

void
lp_die(const char *msg)
{
	lp_write_all(2, "leakprobe: fatal: ", 18);
	lp_write_all(2, msg, strlen(msg));
	lp_write_all(2, "\n", 1);
	abort();
}
