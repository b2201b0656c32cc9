/* SPDX-License-Identifier: MIT */
/*
 * leakprobe-symbolizer - names the frames of a leakprobe report, in a
 * process of its own (see protocol.h and docs/design.md).
 *
 *   leakprobe-symbolizer --serve
 *       what the shim runs: the request on fd 0 (a memfd), answers
 *       appended to it.
 *   leakprobe-symbolizer -e FILE ADDR...
 *       by hand: the frames at each address of FILE (hex, a file virtual
 *       address, i.e. a report's module offset minus one), innermost
 *       first, printed as `addr2line -i -f -C -e FILE ADDR` does.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbolizer.h"

/* --- the answer, appended to fd 0 --------------------------------------- */

struct out {
	int fd;
	uint64_t off; /* file offset of buf[0] */
	char *buf;
	size_t len, cap;
	bool failed;
};

static void
out_flush(struct out *o)
{
	size_t done = 0;
	while (!o->failed && done < o->len) {
		ssize_t n = pwrite(o->fd, o->buf + done, o->len - done, (off_t)(o->off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			o->failed = true;
		else
			done += (size_t)n;
	}
	o->off += o->len;
	o->len = 0;
}

static void *
out_reserve(struct out *o, size_t n)
{
	if (o->len + n > o->cap) {
		size_t ncap = o->cap ? o->cap : 65536;
		while (ncap < o->len + n)
			ncap *= 2;
		char *b = realloc(o->buf, ncap);
		if (!b) {
			o->failed = true;
			return NULL;
		}
		o->buf = b;
		o->cap = ncap;
	}
	void *p = o->buf + o->len;
	o->len += n;
	return p;
}

static void
out_bytes(struct out *o, const void *p, size_t n)
{
	void *d = out_reserve(o, n);
	if (d)
		memcpy(d, p, n);
}

static void
out_pad(struct out *o)
{
	static const char zero[8];
	size_t n = (size_t)(LPSYM_ALIGN(o->off + o->len) - (o->off + o->len));
	out_bytes(o, zero, n);
}

static size_t
clamp_len(const char *s)
{
	if (!s)
		return 0;
	size_t n = strlen(s);
	return n > LPSYM_MAX_STRING ? LPSYM_MAX_STRING : n;
}

static void
out_frames(struct out *o, uint32_t index, const struct sym_frame *f, int n)
{
	uint32_t len = 8;
	for (int i = 0; i < n; i++)
		len += (uint32_t)(sizeof(struct lpsym_frame) + clamp_len(f[i].function) +
				  clamp_len(f[i].file));
	struct lpsym_record rec = { LPSYM_FRAMES, len };
	uint32_t head[2] = { index, (uint32_t)n };
	out_bytes(o, &rec, sizeof(rec));
	out_bytes(o, head, sizeof(head));
	for (int i = 0; i < n; i++) {
		struct lpsym_frame fr = {
			f[i].line,
			f[i].function ? (uint32_t)clamp_len(f[i].function) : LPSYM_NONE,
			f[i].file ? (uint32_t)clamp_len(f[i].file) : LPSYM_NONE,
			f[i].inlined ? LPSYM_INLINED : 0,
		};
		out_bytes(o, &fr, sizeof(fr));
		out_bytes(o, f[i].function, clamp_len(f[i].function));
		out_bytes(o, f[i].file, clamp_len(f[i].file));
	}
	out_pad(o);
}

static void
out_u32_record(struct out *o, uint32_t kind, uint32_t a, uint32_t b)
{
	struct lpsym_record rec = { kind, kind == LPSYM_END ? 0 : 8 };
	out_bytes(o, &rec, sizeof(rec));
	if (kind != LPSYM_END) {
		uint32_t v[2] = { a, b };
		out_bytes(o, v, sizeof(v));
	}
}

/* --- the request ---------------------------------------------------------- */

struct req_module {
	char *path;
	uint8_t build_id[LPSYM_MAX_BUILD_ID];
	uint32_t build_id_len;
	struct sym_module *open;
	bool tried;
};

static bool
read_all(int fd, char **buf, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(struct lpsym_request_header))
		return false;
	*len = (size_t)st.st_size;
	*buf = malloc(*len);
	if (!*buf)
		return false;
	size_t done = 0;
	while (done < *len) {
		ssize_t n = pread(fd, *buf + done, *len - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

static void
free_frames(struct sym_frame *f, int n)
{
	for (int i = 0; i < n; i++)
		free(f[i].function);
}

/* Postcondition: every address of the request has a LPSYM_FRAMES record
 * (or the output failed), followed by the status of each module opened and
 * LPSYM_END. */
static int
serve(void)
{
	char *req;
	size_t len, pos;
	struct lpsym_request_header h;

	if (!read_all(0, &req, &len))
		return 2;
	memcpy(&h, req, sizeof(h));
	if (memcmp(h.magic, LPSYM_REQUEST_MAGIC, 8) || h.nmodules > (1u << 20))
		return 2;
	pos = sizeof(h);
	struct req_module *mods = calloc(h.nmodules ? h.nmodules : 1, sizeof(*mods));
	if (!mods)
		return 3;
	for (uint32_t i = 0; i < h.nmodules; i++) {
		struct lpsym_module mh;
		if (pos + sizeof(mh) > len)
			return 2;
		memcpy(&mh, req + pos, sizeof(mh));
		pos += sizeof(mh);
		if (mh.path_len > LPSYM_MAX_PATH || mh.build_id_len > LPSYM_MAX_BUILD_ID ||
		    pos + mh.path_len + mh.build_id_len > len)
			return 2;
		mods[i].path = strndup(req + pos, mh.path_len);
		memcpy(mods[i].build_id, req + pos + mh.path_len, mh.build_id_len);
		mods[i].build_id_len = mh.build_id_len;
		pos = (size_t)LPSYM_ALIGN(pos + mh.path_len + mh.build_id_len);
	}
	if ((len - pos) / sizeof(struct lpsym_addr) < h.naddrs)
		return 2;

	struct out o = { .fd = 0, .off = LPSYM_ALIGN(len) };
	struct lpsym_answer_header ah;
	memcpy(ah.magic, LPSYM_ANSWER_MAGIC, 8);
	out_bytes(&o, &ah, sizeof(ah));
	struct sym_frame frames[LPSYM_MAX_FRAMES];
	uint32_t last_module = UINT32_MAX;
	for (uint32_t i = 0; i < h.naddrs && !o.failed; i++) {
		struct lpsym_addr a;
		memcpy(&a, req + pos + (size_t)i * sizeof(a), sizeof(a));
		if (a.module >= h.nmodules)
			continue;
		struct req_module *m = &mods[a.module];
		if (!m->tried) {
			m->tried = true;
			m->open = sym_module_open(m->path, m->build_id, m->build_id_len);
		}
		/* Another module: what was answered so far reaches the shim
		 * even if this one turns out slow. */
		if (a.module != last_module && o.len > 4096)
			out_flush(&o);
		last_module = a.module;
		int n = sym_lookup(m->open, a.addr, frames, LPSYM_MAX_FRAMES);
		out_frames(&o, i, frames, n);
		free_frames(frames, n);
		if (o.len >= 65536)
			out_flush(&o);
	}
	for (uint32_t i = 0; i < h.nmodules; i++)
		if (mods[i].tried)
			out_u32_record(&o, LPSYM_MODULE, i, sym_module_status(mods[i].open));
	out_u32_record(&o, LPSYM_END, 0, 0);
	out_flush(&o);
	/* No cleanup: the process ends here. */
	return o.failed ? 4 : 0;
}

/* --- by hand ---------------------------------------------------------------- */

static int
usage(void)
{
	fputs("usage: leakprobe-symbolizer -e FILE ADDR...   (frames at each address, "
	      "as addr2line -i -f -C)\n"
	      "       leakprobe-symbolizer --serve           (what libleakprobe.so runs)\n",
	      stderr);
	return 2;
}

static int
by_hand(const char *file, char **addrs, int naddrs)
{
	struct sym_module *m = sym_module_open(file, NULL, 0);
	struct sym_frame frames[LPSYM_MAX_FRAMES];

	if (sym_module_status(m) == LPSYM_UNREADABLE) {
		fprintf(stderr, "leakprobe-symbolizer: cannot read %s\n", file);
		return 1;
	}
	for (int i = 0; i < naddrs; i++) {
		char *end;
		errno = 0;
		unsigned long long a = strtoull(addrs[i], &end, 16);
		if (errno || *end || end == addrs[i]) {
			fprintf(stderr, "leakprobe-symbolizer: not a hex address: %s\n", addrs[i]);
			return 2;
		}
		int n = sym_lookup(m, a, frames, LPSYM_MAX_FRAMES);
		for (int k = 0; k < n; k++)
			printf("%s\n%s:%d\n", frames[k].function ? frames[k].function : "??",
			       frames[k].file ? frames[k].file : "??", frames[k].file ? frames[k].line : 0);
		free_frames(frames, n);
	}
	sym_module_close(m);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--serve")) {
		/* fds 1 and 2 were closed by the shim: nothing this process
		 * prints may reach the program's output, and a file opened
		 * here must not land on them by accident. */
		for (int fd = 1; fd <= 2; fd++)
			if (fcntl(fd, F_GETFD) < 0)
				open("/dev/null", O_RDWR);
		/* Past RLIMIT_FSIZE, a write fails instead of killing us. */
		signal(SIGXFSZ, SIG_IGN);
		return serve();
	}
	if (argc >= 3 && !strcmp(argv[1], "-e"))
		return by_hand(argv[2], argv + 3, argc - 3);
	return usage();
}
