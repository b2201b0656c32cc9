/* SPDX-License-Identifier: MIT */
/* log.c - see log.h. */
#include "core/warn.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/linewriter.h"
#include "core/report_stream.h"

#define NOTES_MAX 8
#define NOTE_LEN 256

static struct {
	char text[NOTE_LEN];
	int ready;
} notes[NOTES_MAX];
static unsigned notes_taken;

static void
emit(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n = strlen(prefix);
	int fd = lp_report_stream();

	if (fd < 0)
		return; /* stderr was closed when we started */
	memcpy(buf, prefix, n);
	n += lp_vfmt(buf + n, sizeof(buf) - n - 1, fmt, ap);
	buf[n++] = '\n';
	lp_write_all(fd, buf, n);
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
	unsigned i = __atomic_fetch_add(&notes_taken, 1, __ATOMIC_RELAXED);
	if (i >= NOTES_MAX)
		return;
	va_list ap;
	va_start(ap, fmt);
	lp_vfmt(notes[i].text, NOTE_LEN, fmt, ap);
	va_end(ap);
	__atomic_store_n(&notes[i].ready, 1, __ATOMIC_RELEASE);
}

const char *
lp_note_at(unsigned i)
{
	unsigned n = __atomic_load_n(&notes_taken, __ATOMIC_RELAXED);
	if (i >= n || i >= NOTES_MAX || !__atomic_load_n(&notes[i].ready, __ATOMIC_ACQUIRE))
		return NULL;
	return notes[i].text;
}

void
lp_die(const char *msg)
{
	int fd = lp_report_stream();
	if (fd >= 0) {
		lp_write_all(fd, "leakprobe: fatal: ", 18);
		lp_write_all(fd, msg, strlen(msg));
		lp_write_all(fd, "\n", 1);
	}
	abort();
}
