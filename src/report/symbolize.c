/* SPDX-License-Identifier: MIT */
/* symbolize.c - see symbolize.h.  Called with the guard held: every
 * allocation here goes to the real allocator unrecorded. */
#include "report/symbolize.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bootstrap.h"
#include "core/hash.h"
#include "core/linewriter.h"
#include "core/options.h"
#include "core/strpool.h"
#include "core/syscall.h"
#include "record/stackdepot.h"
#include "report/modules.h"
#include "report/spawn.h"
#include "symbolizer/protocol.h"

#define HELPER_NAME "leakprobe-symbolizer"

/* --- where the helper is --------------------------------------------------- */

static char helper_paths[4][4096];
static unsigned nhelper_paths;
/* Why no helper runs any more, or NULL; "" when the user said so. */
static const char *helper_off;
static char helper_off_buf[512];

static bool
join(char *dst, size_t cap, const char *dir, const char *rest)
{
	size_t a = strlen(dir), b = strlen(rest);
	if (a + b + 2 > cap)
		return false;
	memcpy(dst, dir, a);
	dst[a] = '/';
	memcpy(dst + a + 1, rest, b + 1);
	return true;
}

/* An absolute path for p (relative to the working directory now: the
 * program may chdir before its report). */
static bool
absolute(char *dst, size_t cap, const char *p)
{
	char cwd[4096];
	if (p[0] == '/') {
		if (strlen(p) >= cap)
			return false;
		strcpy(dst, p);
		return true;
	}
	return getcwd(cwd, sizeof(cwd)) && join(dst, cap, cwd, p);
}

static void
add_helper_dir(const char *dir)
{
	static const char *const names[] = { "leakprobe/" HELPER_NAME, HELPER_NAME };
	for (size_t i = 0; i < LP_ARRAY_LENGTH(names); i++) {
		char *dst = helper_paths[nhelper_paths];
		if (nhelper_paths < LP_ARRAY_LENGTH(helper_paths) &&
		    join(dst, sizeof(helper_paths[0]), dir, names[i]))
			nhelper_paths++;
	}
}

/* Postcondition: helper_paths[] lists where to look, in order: the
 * LEAKPROBE_SYMBOLIZER path; or, in the shim's directory (as it was
 * loaded, then with symbolic links resolved), leakprobe/HELPER (the
 * installed layout: libdir/leakprobe/) and HELPER (the build tree). */
static void
find_helper(void)
{
	const char *opt = lp_opt.symbolizer;
	if (opt && (!strcmp(opt, "none") || !strcmp(opt, "0"))) {
		helper_off = "";
		return;
	}
	if (opt && opt[0]) {
		if (absolute(helper_paths[0], sizeof(helper_paths[0]), opt))
			nhelper_paths = 1;
		return;
	}
	Dl_info info;
	char self[4096], real[PATH_MAX];
	if (!dladdr((void *)&lp_symbolize_init, &info) || !info.dli_fname ||
	    !absolute(self, sizeof(self), info.dli_fname))
		return;
	bool resolved = realpath(self, real) != NULL;
	*strrchr(self, '/') = 0;
	add_helper_dir(self);
	if (resolved && strrchr(real, '/')) {
		*strrchr(real, '/') = 0;
		if (strcmp(real, self))
			add_helper_dir(real);
	}
}

void
lp_symbolize_init(void)
{
	lp_modules_init();
	find_helper();
}

/* --- names, kept across reports --------------------------------------- */

struct frame_key {
	uintptr_t ip, bias;
};

/* One captured frame.  names[nnames - 1] is the containing function,
 * the others were inlined there (innermost first). */
struct named_frame {
	struct frame_key key;
	const char *module; /* pooled path of the module it was named in */
	uintptr_t offset;
	bool answered;      /* by the helper: never asked again */
	bool queued;        /* in this report's request */
	uint32_t nnames;
	struct lp_frame_name *names; /* &one, or an array of its own */
	struct lp_frame_name one;
	UT_hash_handle hh;
};
static struct named_frame *frames;

struct wanted {
	struct named_frame *f;
	struct lp_module *m;
	uint64_t addr; /* the call instruction, relative to the load bias */
};
static struct wanted *queue;
static size_t nqueue, capqueue;

static char note[1024];
static bool have_note;
static bool out_of_memory; /* some frame could not be named */

static void
set_names(struct named_frame *f, struct lp_frame_name *names, uint32_t n)
{
	if (f->names != &f->one)
		lp_real.free(f->names);
	f->names = names ? names : &f->one;
	f->nnames = names ? n : 1;
}

/* The entry for (ip, bias), as named in the module that holds it now.
 * *m_out: that module (NULL: none).  NULL when memory ran out. */
static struct named_frame *
frame_for(uintptr_t ip, uintptr_t bias, struct lp_module **m_out)
{
	/* ip is a return address: the call is the instruction before it. */
	uintptr_t pc = ip ? ip - 1 : 0;
	struct lp_module *m = lp_module_at(pc, bias);
	struct frame_key key = { ip, bias };
	struct named_frame *f;

	*m_out = m;
	HASH_FIND(hh, frames, &key, sizeof(key), f);
	if (f && f->module == (m ? m->path : NULL))
		return f;
	if (!f) {
		f = lp_real.calloc(1, sizeof(*f));
		if (!f) {
			out_of_memory = true;
			return NULL;
		}
		f->key = key;
		f->names = &f->one;
		HASH_ADD(hh, frames, key, sizeof(f->key), f);
		if (!f->hh.tbl) { /* the table could not grow */
			lp_real.free(f);
			out_of_memory = true;
			return NULL;
		}
	}
	/* New, or another module is at this address now. */
	set_names(f, NULL, 1);
	f->one = (struct lp_frame_name){ NULL, NULL, 0 };
	f->module = m ? m->path : NULL;
	f->offset = m ? ip - m->bias : 0;
	f->answered = false;
	return f;
}

static void
fill(const struct named_frame *f, uintptr_t ip, struct lp_frame *out)
{
	const struct lp_frame_name *outer = &f->names[f->nnames - 1];
	*out = (struct lp_frame){ ip, outer->function, outer->file, outer->line,
				  f->module, f->offset, f->nnames - 1, f->names };
}

/* This report's request state of each module (by index). */
static uint32_t *req_of, *status_of;
static unsigned capreq;

void
lp_symbolize_begin(void)
{
	nqueue = 0;
	have_note = false;
	note[0] = 0;
	out_of_memory = !lp_modules_begin();
	unsigned n = lp_modules_count();
	if (n > capreq) {
		uint32_t *r = lp_real.realloc(req_of, n * sizeof(*r));
		if (r)
			req_of = r;
		uint32_t *s = r ? lp_real.realloc(status_of, n * sizeof(*s)) : NULL;
		if (s)
			status_of = s;
		if (!r || !s) {
			out_of_memory = true;
			return;
		}
		capreq = n;
	}
	for (unsigned i = 0; i < n; i++) {
		req_of[i] = UINT32_MAX;
		status_of[i] = LPSYM_OK;
	}
}

static uint32_t *
req(const struct lp_module *m)
{
	return &req_of[m - lp_module(0)];
}

static void
want(uintptr_t ip, uintptr_t bias)
{
	struct lp_module *m;
	struct named_frame *f = frame_for(ip, bias, &m);
	if (!f || f->answered || f->queued || !m || capreq < lp_modules_count())
		return;
	if (nqueue == capqueue) {
		size_t ncap = capqueue ? capqueue * 2 : 256;
		struct wanted *n = lp_real.realloc(queue, ncap * sizeof(*n));
		if (!n) {
			out_of_memory = true;
			return;
		}
		queue = n;
		capqueue = ncap;
	}
	f->queued = true;
	queue[nqueue++] = (struct wanted){ f, m, (uint64_t)(ip - 1 - m->bias) };
}

void
lp_symbolize_want_stack(const struct lp_stack *s)
{
	for (uint32_t i = 0; s && i < s->depth; i++)
		want(s->ips[i], lp_stack_bias(s, i));
}

/* --- the exchange with the helper ---------------------------------------- */

static int
by_module_then_addr(const void *a, const void *b)
{
	const struct wanted *x = a, *y = b;
	if (x->m != y->m)
		return x->m < y->m ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct buf {
	char *p;
	size_t len, cap;
};

static bool
buf_put(struct buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 65536;
		while (ncap < b->len + n)
			ncap *= 2;
		char *np = lp_real.realloc(b->p, ncap);
		if (!np)
			return false;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return true;
}

static bool
buf_pad(struct buf *b)
{
	static const char zero[8];
	return buf_put(b, zero, (size_t)(LPSYM_ALIGN(b->len) - b->len));
}

/* Postcondition: b holds the request for queue[0..nqueue), each module it
 * names numbered (*req(m)) in the order of the table. */
static bool
encode_request(struct buf *b)
{
	struct lpsym_request_header h = { LPSYM_REQUEST_MAGIC, 0, (uint32_t)nqueue };
	bool ok = buf_put(b, &h, sizeof(h));
	for (size_t i = 0; i < nqueue && ok; i++) {
		struct lp_module *m = queue[i].m;
		if (*req(m) != UINT32_MAX)
			continue;
		*req(m) = h.nmodules++;
		struct lpsym_module mh = { (uint32_t)strlen(m->path), m->build_id_len };
		ok = buf_put(b, &mh, sizeof(mh)) && buf_put(b, m->path, mh.path_len) &&
		     buf_put(b, m->build_id, mh.build_id_len) && buf_pad(b);
	}
	for (size_t i = 0; i < nqueue && ok; i++) {
		struct lpsym_addr a = { queue[i].addr, *req(queue[i].m), 0 };
		ok = buf_put(b, &a, sizeof(a));
	}
	if (ok)
		memcpy(b->p + offsetof(struct lpsym_request_header, nmodules), &h.nmodules,
		       sizeof(h.nmodules));
	return ok;
}

static bool
write_all_at(int fd, const char *p, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = pwrite(fd, p + done, n - done, (off_t)done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		done += (size_t)w;
	}
	return true;
}

/* A descriptor for the exchange, never one of 0-2 (a program that closed
 * them expects its next open() to get them back). */
static int
exchange_file(void)
{
	int fd = memfd_create("leakprobe-symbolizer", MFD_CLOEXEC);
	if (fd >= 0 && fd <= 2) {
		int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		lp_close(fd);
		fd = high;
	}
	return fd;
}

static struct lp_module *
module_by_req(uint32_t index)
{
	for (unsigned i = 0; i < lp_modules_count(); i++)
		if (req_of[i] == index)
			return lp_module(i);
	return NULL;
}

/* One LPSYM_FRAMES record; false (and nothing named) if it is malformed. */
static bool
decode_frames(const char *p, size_t len, size_t *answered)
{
	uint32_t head[2];
	if (len < sizeof(head))
		return false;
	memcpy(head, p, sizeof(head));
	uint32_t index = head[0], n = head[1];
	if (index >= nqueue || n == 0 || n > LPSYM_MAX_FRAMES)
		return false;
	struct lp_frame_name tmp[LPSYM_MAX_FRAMES];
	size_t pos = sizeof(head);
	for (uint32_t k = 0; k < n; k++) {
		struct lpsym_frame fr;
		if (len - pos < sizeof(fr))
			return false;
		memcpy(&fr, p + pos, sizeof(fr));
		pos += sizeof(fr);
		uint32_t fl = fr.function_len == LPSYM_NONE ? 0 : fr.function_len;
		uint32_t il = fr.file_len == LPSYM_NONE ? 0 : fr.file_len;
		if (fl > LPSYM_MAX_STRING || il > LPSYM_MAX_STRING || len - pos < (size_t)fl + il)
			return false;
		tmp[k].function = fr.function_len == LPSYM_NONE ? NULL : lp_intern(p + pos, fl);
		tmp[k].file = fr.file_len == LPSYM_NONE ? NULL : lp_intern(p + pos + fl, il);
		tmp[k].line = fr.line > 0 ? fr.line : 0;
		pos += (size_t)fl + il;
	}
	struct named_frame *f = queue[index].f;
	if (f->answered)
		return true; /* a second answer for one address: the first stays */
	struct lp_frame_name *names = NULL;
	if (n > 1) {
		names = lp_real.malloc(n * sizeof(*names));
		if (!names) {
			out_of_memory = true;
			n = 1;
			tmp[0] = tmp[n - 1];
		} else
			memcpy(names, tmp, n * sizeof(*names));
	}
	set_names(f, names, n);
	if (n == 1)
		f->one = tmp[0];
	f->answered = true;
	(*answered)++;
	return true;
}

/* Postcondition: every frame the helper answered is named; *complete when
 * it answered all.  Returns how many modules had changed on disk, the
 * first in *changed. */
static unsigned
decode_answer(const char *p, size_t len, size_t *answered, bool *complete,
	      const char **changed)
{
	unsigned nchanged = 0;
	size_t pos = sizeof(struct lpsym_answer_header);

	*complete = false;
	if (len < pos || memcmp(p, LPSYM_ANSWER_MAGIC, 8))
		return 0;
	while (len - pos >= sizeof(struct lpsym_record)) {
		struct lpsym_record rec;
		memcpy(&rec, p + pos, sizeof(rec));
		pos += sizeof(rec);
		if (rec.len > len - pos)
			break;
		const char *payload = p + pos;
		if (rec.kind == LPSYM_END) {
			*complete = true;
			break;
		}
		/* A malformed answer for one address is skipped: the record's
		 * length still says where the next one starts. */
		if (rec.kind == LPSYM_FRAMES)
			decode_frames(payload, rec.len, answered);
		if (rec.kind == LPSYM_MODULE && rec.len >= 8) {
			uint32_t v[2];
			memcpy(v, payload, sizeof(v));
			struct lp_module *m = module_by_req(v[0]);
			if (m)
				status_of[m - lp_module(0)] = v[1];
			if (m && v[1] == LPSYM_CHANGED && !nchanged++)
				*changed = m->path;
		}
		uint64_t next = LPSYM_ALIGN(pos + rec.len);
		if (next > len)
			break;
		pos = (size_t)next;
	}
	return nchanged;
}

static void
set_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
set_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	lp_vfmt(note, sizeof(note), fmt, ap);
	va_end(ap);
	have_note = true;
}

static const char *
errname(int err)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
	const char *n = strerrorname_np(err);
	if (n)
		return n;
#endif
	return err == EMFILE ? "EMFILE" : "an error";
}

#define FALLBACK_NAMES "frames show dynamic symbol names and module+offset only"

static void
turn_off(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
turn_off(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	lp_vfmt(helper_off_buf, sizeof(helper_off_buf), fmt, ap);
	va_end(ap);
	helper_off = helper_off_buf;
}

/* Why the helper gave no (or not every) answer, said once in the report.
 * A helper that cannot be found or executed, or hangs, is not tried in
 * later reports; a shortage (descriptors, processes, memory) is. */
static void
explain(enum lp_spawn_outcome o, int status, int err, size_t answered, bool complete)
{
	switch (o) {
	case LP_SPAWN_NO_PROCESS:
		set_note("the symbolizer could not be started (clone: %s): " FALLBACK_NAMES,
			 errname(err));
		return;
	case LP_SPAWN_EXEC_FAILED:
		if (err == ENOENT)
			turn_off("%s not found: %s%s", HELPER_NAME, helper_paths[0],
				 nhelper_paths > 1 ? " and next to it" : "");
		else
			turn_off("%s could not be run: %s", helper_paths[nhelper_paths - 1],
				 errname(err));
		set_note("%s: " FALLBACK_NAMES, helper_off);
		return;
	case LP_SPAWN_TIMED_OUT:
		set_note("the symbolizer did not finish within %u ms (LEAKPROBE_SYMBOLIZER_TIMEOUT) "
			 "and was killed: %zu of %zu frames named, the others show dynamic symbol "
			 "names and module+offset only",
			 (unsigned)lp_opt.symbolizer_timeout, answered, nqueue);
		turn_off("it did not finish within %u ms in an earlier report",
			 (unsigned)lp_opt.symbolizer_timeout);
		return;
	case LP_SPAWN_KILLED:
		if (!complete)
			set_note("the symbolizer was ended by signal %d: %zu of %zu frames named, "
				 "the others show dynamic symbol names and module+offset only",
				 status, answered, nqueue);
		return;
	case LP_SPAWN_EXITED:
	case LP_SPAWN_LOST:
		if (!complete)
			set_note("the symbolizer answered for %zu of %zu frames (exit status %d); "
				 "the others show dynamic symbol names and module+offset only",
				 answered, nqueue, status);
		return;
	}
}

/* Postcondition: the helper ran (or why not is noted) and every frame it
 * answered is named. */
static void
exchange(void)
{
	struct buf req = { 0 };
	char *ans = NULL;
	int fd = -1;

	if (!encode_request(&req)) {
		out_of_memory = true;
		goto out;
	}
	/* Past RLIMIT_FSIZE a write raises SIGXFSZ, which would end the
	 * program. */
	struct rlimit fsize;
	if (getrlimit(RLIMIT_FSIZE, &fsize) == 0 && fsize.rlim_cur != RLIM_INFINITY &&
	    req.len >= fsize.rlim_cur) {
		set_note("the request to the symbolizer (%zu bytes) would pass RLIMIT_FSIZE: "
			 FALLBACK_NAMES, req.len);
		goto out;
	}
	fd = exchange_file();
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			set_note("no file descriptor left to read debug information (the "
				 "symbolizer needs one): " FALLBACK_NAMES);
		else
			set_note("no exchange file for the symbolizer (memfd_create: %s): "
				 FALLBACK_NAMES, errname(errno));
		goto out;
	}
	if (!write_all_at(fd, req.p, req.len)) {
		set_note("the request to the symbolizer could not be written (%s): "
			 FALLBACK_NAMES, errname(errno));
		goto out;
	}
	const char *paths[LP_ARRAY_LENGTH(helper_paths)];
	for (unsigned i = 0; i < nhelper_paths; i++)
		paths[i] = helper_paths[i];
	int status, err;
	enum lp_spawn_outcome o = lp_spawn_wait(paths, nhelper_paths, "--serve", fd,
						(unsigned)lp_opt.symbolizer_timeout, &status, &err);
	size_t answered = 0;
	bool complete = false;
	struct stat st;
	uint64_t at = LPSYM_ALIGN(req.len);
	if (o != LP_SPAWN_NO_PROCESS && o != LP_SPAWN_EXEC_FAILED && fstat(fd, &st) == 0 &&
	    (uint64_t)st.st_size > at) {
		size_t n = (size_t)((uint64_t)st.st_size - at);
		ans = lp_real.malloc(n);
		if (!ans)
			out_of_memory = true;
		else if (pread(fd, ans, n, (off_t)at) == (ssize_t)n) {
			const char *changed = NULL;
			unsigned nchanged = decode_answer(ans, n, &answered, &complete, &changed);
			if (nchanged)
				set_note("%u module(s) changed on disk since they were loaded "
					 "(another build-id), e.g. %s: their frames show "
					 "module+offset only", nchanged, changed);
		}
	}
	explain(o, status, err, answered, complete);
out:
	if (fd >= 0)
		lp_close(fd);
	lp_real.free(ans);
	lp_real.free(req.p);
}

/* Frames the helper did not name, in a module still loaded: dladdr knows
 * its dynamic symbols (the vDSO's too, which no file holds). */
static void
name_locally(struct named_frame *f, const struct lp_module *m)
{
	Dl_info info;
	if (f->names[f->nnames - 1].function || !m->current ||
	    (f->answered && status_of[m - lp_module(0)] != LPSYM_UNREADABLE))
		return;
	uintptr_t pc = f->key.ip ? f->key.ip - 1 : 0;
	if (!dladdr((void *)pc, &info) || !info.dli_sname)
		return;
	const char *at = strchr(info.dli_sname, '@');
	f->names[f->nnames - 1].function =
		lp_intern(info.dli_sname, at ? (size_t)(at - info.dli_sname) : strlen(info.dli_sname));
}

void
lp_symbolize_resolve(void)
{
	if (!nqueue)
		return;
	qsort(queue, nqueue, sizeof(*queue), by_module_then_addr);
	if (helper_off) {
		if (helper_off[0])
			set_note("the symbolizer is not run (%s): " FALLBACK_NAMES, helper_off);
	} else if (!nhelper_paths)
		set_note("no symbolizer to run (the shim's own path is unknown): " FALLBACK_NAMES);
	else
		exchange();
	for (size_t i = 0; i < nqueue; i++) {
		name_locally(queue[i].f, queue[i].m);
		queue[i].f->queued = false;
	}
	nqueue = 0;
}

/* --- rendering ------------------------------------------------------------ */

static void
symbolize_in(uintptr_t ip, uintptr_t bias, struct lp_frame *out)
{
	struct lp_module *m;
	struct named_frame *f = frame_for(ip, bias, &m);
	if (!f) {
		*out = (struct lp_frame){ ip, NULL, NULL, 0, m ? m->path : NULL,
					  m ? ip - m->bias : 0, 0, NULL };
		return;
	}
	fill(f, ip, out);
}

void
lp_symbolize(uintptr_t ip, struct lp_frame *out)
{
	symbolize_in(ip, LP_BIAS_UNKNOWN, out);
}

void
lp_symbolize_frame(const struct lp_stack *s, uint32_t i, struct lp_frame *out)
{
	symbolize_in(s->ips[i], lp_stack_bias(s, i), out);
}

void
lp_symbolize_end(void)
{
	/* Names stay for later reports; the module list is rebuilt. */
	nqueue = 0;
}

const char *
lp_symbolize_note(void)
{
	return have_note ? note : NULL;
}

bool
lp_symbolize_out_of_memory(void)
{
	return out_of_memory;
}
