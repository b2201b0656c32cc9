/* fake_symbolizer.c - stands in for leakprobe-symbolizer (through
 * LEAKPROBE_SYMBOLIZER) and misbehaves; what it does is the name it is
 * run under (a link to it):
 *   hang     writes its pid to ./fake.pid (the program's working
 *            directory) and never answers
 *   garbage  answers with malformed records: lengths past the end, an
 *            address index out of range, too many frames, a string
 *            longer than its record, an unknown kind
 *   half     names the first half of the addresses "fake_name" at
 *            fake.c:7, then exits with status 3 without LPSYM_END
 *   crash    names the first address, then aborts
 *   slow     writes ./slow.pid, then answers nothing for 1.5 s and exits
 * See src/symbolizer/protocol.h. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol.h"

static char out[1 << 16];
static size_t len;
static uint64_t at;

static void
put(const void *p, size_t n)
{
	if (len + n <= sizeof(out)) {
		memcpy(out + len, p, n);
		len += n;
	}
}

static void
pad(void)
{
	static const char zero[8];
	put(zero, (size_t)(LPSYM_ALIGN(len) - len));
}

static void
flush(void)
{
	if (pwrite(0, out, len, (off_t)at) != (ssize_t)len)
		exit(5);
}

static void
record(uint32_t kind, uint32_t rlen)
{
	struct lpsym_record r = { kind, rlen };
	put(&r, sizeof(r));
}

static void
named(uint32_t index)
{
	static const char fn[] = "fake_name", file[] = "fake.c";
	struct lpsym_frame f = { 7, sizeof(fn) - 1, sizeof(file) - 1, 0 };
	uint32_t head[2] = { index, 1 };
	record(LPSYM_FRAMES, (uint32_t)(sizeof(head) + sizeof(f) + sizeof(fn) - 1 + sizeof(file) - 1));
	put(head, sizeof(head));
	put(&f, sizeof(f));
	put(fn, sizeof(fn) - 1);
	put(file, sizeof(file) - 1);
	pad();
}

int
main(int argc, char **argv)
{
	const char *mode = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	struct stat st;
	struct lpsym_request_header h;

	(void)argc;
	if (fstat(0, &st) != 0 || pread(0, &h, sizeof(h), 0) != sizeof(h))
		return 2;
	at = LPSYM_ALIGN((uint64_t)st.st_size);
	put(LPSYM_ANSWER_MAGIC, 8);
	if (!strcmp(mode, "hang") || !strcmp(mode, "slow")) {
		FILE *f = fopen(!strcmp(mode, "hang") ? "fake.pid" : "slow.pid", "w");
		if (f) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
		if (!strcmp(mode, "slow")) {
			usleep(1500000);
			return 0;
		}
		for (;;)
			pause();
	}
	if (!strcmp(mode, "garbage")) {
		uint32_t v[2] = { h.naddrs + 5, 1 };       /* index out of range */
		record(LPSYM_FRAMES, 8);
		put(v, sizeof(v));
		uint32_t w[2] = { 0, 1000 };               /* too many frames */
		record(LPSYM_FRAMES, 8);
		put(w, sizeof(w));
		record(99, 0);                             /* unknown kind */
		uint32_t x[2] = { 0, 1 };                  /* a string past its record */
		struct lpsym_frame f = { 1, 4000, 0, 0 };
		record(LPSYM_FRAMES, (uint32_t)(sizeof(x) + sizeof(f) + 4));
		put(x, sizeof(x));
		put(&f, sizeof(f));
		put("abcd", 4);
		pad();
		record(LPSYM_FRAMES, 0x7fffffff);          /* a length past the end */
		flush();
		return 0;
	}
	if (!strcmp(mode, "half")) {
		for (uint32_t i = 0; i < h.naddrs / 2; i++)
			named(i);
		flush();
		return 3;
	}
	if (!strcmp(mode, "crash")) {
		named(0);
		flush();
		abort();
	}
	return 4;
}
