/* SPDX-License-Identifier: MIT */
/* roots.c - see roots.h. */
#include "detect/roots.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/bootstrap.h"
#include "core/mapping_at.h"
#include "core/seccomp.h"
#include "core/syscall.h"
#include "detect/pymalloc.h"
#include "unwind/fast_unwind.h"

static uintptr_t main_tp;

void
lp_roots_note_main_thread(void)
{
	main_tp = (uintptr_t)__builtin_thread_pointer();
}

/* --- in the process --------------------------------------------------- */

static bool own_add(struct lp_roots_input *in, uintptr_t lo, uintptr_t hi);

/* The shim's module: its writable segments join what is ours. */
static int
shim_segments(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct lp_roots_input *in = arg;
	static const char anchor = 0;
	(void)size;
	bool mine = false;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (uintptr_t)&anchor >= lo &&
		    (uintptr_t)&anchor < lo + ph->p_memsz)
			mine = true;
	}
	if (!mine)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W))
			own_add(in, info->dlpi_addr + ph->p_vaddr,
				info->dlpi_addr + ph->p_vaddr + ph->p_memsz);
		/* Our __thread data (the unwinder's memo holds the registers
		 * of the latest malloc's caller): static TLS, at the same
		 * distance below every thread's pointer. */
		if (ph->p_type == PT_TLS && info->dlpi_tls_data) {
			in->shim_tls_below_tp = (uintptr_t)__builtin_thread_pointer() -
						(uintptr_t)info->dlpi_tls_data;
			in->shim_tls_size = ph->p_memsz;
		}
	}
	return 1;
}

/* glibc's static TLS of a thread whose thread pointer is tp (the TCB at
 * tp, the modules' blocks below it), as LeakSanitizer finds it. */
static void
main_tls(struct lp_roots_input *in)
{
	static void (*get_info)(size_t *, size_t *);
	static const unsigned *sizeof_pthread;
	static bool looked;
	if (!looked) {
		get_info = (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
		sizeof_pthread = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
		looked = true;
	}
	if (!main_tp || !get_info)
		return;
	size_t size = 0, align = 0;
	get_info(&size, &align);
	uintptr_t tcb = sizeof_pthread ? *sizeof_pthread : 2304;
	in->main_tls_lo = main_tp + tcb - size;
	in->main_tls_hi = main_tp + tcb;
}

static long
parse_decimal(const char *s)
{
	long v = 0;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (*s - '0');
	return v;
}

static uintptr_t
parse_hex(const char *s)
{
	uintptr_t v = 0;
	if (s[0] == '0' && s[1] == 'x')
		s += 2;
	for (;; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0'
			: *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
		if (d < 0)
			return v;
		v = v * 16 + (uintptr_t)d;
	}
}

/* /proc/self/task/TID/syscall: "running" (on a CPU), or the call and its
 * arguments, then the stack pointer and the program counter; "-1", sp and
 * pc for a thread stopped outside any call (preempted in user code, whose
 * registers then hold what it was working on).  The stack pointer of a
 * thread in a call, else 0: those others are sampled (sample_running). */
static uintptr_t
blocked_sp(const char *tid)
{
	char path[64], buf[256];
	size_t n = strlen(tid);
	if (n > 20)
		return 0;
	memcpy(path, "/proc/self/task/", 16);
	memcpy(path + 16, tid, n);
	memcpy(path + 16 + n, "/syscall", 9);
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	long got = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
	lp_close(fd);
	if (got <= 0 || buf[0] == 'r' || (buf[0] == '-' && buf[1] == '1'))
		return 0;
	buf[got] = 0;
	const char *tok[9];
	int ntok = 0;
	for (char *p = buf; *p && ntok < 9;) {
		while (*p == ' ' || *p == '\n')
			p++;
		if (!*p)
			break;
		tok[ntok++] = p;
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
	return ntok >= 3 ? parse_hex(tok[ntok - 2]) : 0;
}

static void
decimal(long v, char out[24])
{
	int n = 0;
	for (long t = v; t; t /= 10)
		n++;
	out[n] = 0;
	for (long t = v; t; t /= 10)
		out[--n] = (char)('0' + t % 10);
}

/* Running threads: their registers and stack pointer from one perf
 * sample each (thread_registers.h); one that blocked meanwhile, from
 * /proc again. */
static void
sample_running(struct lp_roots_input *in, const int *tids, unsigned n)
{
	bool got[LP_SAMPLED_THREADS] = { false };
	if (lp_seccomp_filtered())
		in->sample_errno = LP_SAMPLE_SECCOMP; /* not even tried: it could kill us */
	else
		lp_sample_thread_registers(tids, n, in->thread_regs, got, 20000000,
					   &in->sample_errno);
	unsigned kept = 0;
	for (unsigned i = 0; i < n; i++) {
		char tid[24];
		decimal(tids[i], tid);
		uintptr_t sp = got[i] ? (uintptr_t)in->thread_regs[i][LP_SAMPLED_SP] : blocked_sp(tid);
		if (got[i])
			memmove(in->thread_regs[kept++], in->thread_regs[i], sizeof(in->thread_regs[i]));
		if (sp && in->nsp < LP_ROOT_THREADS)
			in->sp[in->nsp++] = sp;
		else
			in->sp_unknown++;
	}
	in->nthread_regs = kept;
}

static void
list_threads(struct lp_roots_input *in)
{
	char buf[4096];
	char self[24];
	int running[LP_SAMPLED_THREADS];
	unsigned nrunning = 0;
	decimal(syscall(SYS_gettid), self);
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/task",
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		in->sp_unknown = 1;
		return;
	}
	long got;
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < got;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			in->threads++;
			if (!strcmp(d->d_name, self))
				continue;
			uintptr_t sp = blocked_sp(d->d_name);
			if (sp && in->nsp < LP_ROOT_THREADS)
				in->sp[in->nsp++] = sp;
			else if (!sp && nrunning < LP_SAMPLED_THREADS)
				running[nrunning++] = (int)parse_decimal(d->d_name);
			else
				in->sp_unknown++;
		}
	}
	lp_close(fd);
	if (nrunning)
		sample_running(in, running, nrunning);
}

static uintptr_t exit_frame(uintptr_t sp, uintptr_t limit);

void
lp_roots_prepare(struct lp_roots_input *in, uintptr_t self_sp, const uint64_t regs[6],
		 bool at_exit)
{
	memset(in, 0, sizeof(*in));
	struct lp_mapping stack;
	int cancel_state;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state); /* open is a cancellation point */
	if (at_exit && lp_mapping_at(self_sp, &stack))
		self_sp = exit_frame(self_sp, stack.hi);
	pthread_setcancelstate(cancel_state, NULL);
	in->nown = lp_own_ranges(in->own, LP_OWN_RANGES);
	dl_iterate_phdr(shim_segments, in);
	in->self_sp = self_sp;
	memcpy(in->self_regs, regs, sizeof(in->self_regs));
	main_tls(in);
	list_threads(in);
}

static uintptr_t
exit_frame(uintptr_t sp, uintptr_t limit)
{
	static uintptr_t lo, hi;
	if (!hi) {
		void *exit_fn = lp_next("exit");
		if (!exit_fn || !lp_fast_unwind_function((uintptr_t)exit_fn, &lo, &hi))
			hi = 1;
	}
	for (uintptr_t p = (sp + 7) & ~(uintptr_t)7; hi > 1 && p + 8 <= limit; p += 8) {
		uintptr_t w = *(const uintptr_t *)p;
		if (w > lo && w <= hi) /* a noreturn call may end the function */
			return p + 8;
	}
	return sp;
}

/* --- in the snapshot -------------------------------------------------- */

struct mapping {
	uintptr_t lo, hi;
	char perms[5];
	bool anonymous;
	const char *path; /* "" when anonymous */
};

#define HEAP_MAX (64ul << 20) /* glibc's arena heaps: aligned, this big */

/* A non-main arena's heap: heap_info {ar_ptr, prev, size, mprotect_size}
 * at a 64 MiB boundary, its arena's malloc_state just after the first
 * heap's. */
static bool
is_arena_heap(const struct mapping *m)
{
	if (m->lo % HEAP_MAX || m->hi - m->lo < 4096)
		return false;
	const uintptr_t *h = (const uintptr_t *)m->lo;
	return h[0] >= HEAP_MAX && (h[0] % HEAP_MAX) < 4096 && h[1] % HEAP_MAX == 0 &&
	       h[2] && h[2] <= HEAP_MAX && h[2] % 4096 == 0 && h[3] >= h[2] && h[3] <= HEAP_MAX;
}

/* A chunk glibc mmapped for one block (prev_size 0, size with IS_MMAPPED
 * and without NON_MAIN_ARENA), at a page start: its length, else 0. */
static uintptr_t
mmapped_chunk(uintptr_t page, uintptr_t hi)
{
	const uint64_t *w = (const uint64_t *)page;
	uint64_t size = w[1] & ~(uint64_t)7;
	if (w[0] != 0 || (w[1] & 7) != 2 || !size || size % 4096 || size > hi - page)
		return 0;
	return size;
}

static void
scan(struct lp_reach *r, struct lp_roots_stats *st, uintptr_t lo, uintptr_t hi)
{
	if (hi <= lo)
		return;
	lp_reach_scan_root(r, lo, hi);
	st->bytes += hi - lo;
	st->regions++;
}

struct live_ctx {
	struct lp_reach *r;
	struct lp_roots_stats *st;
};

static void
scan_live(uintptr_t lo, uintptr_t hi, void *ctx)
{
	struct live_ctx *c = ctx;
	scan(c->r, c->st, lo, hi);
}

/* [lo, hi), where a pymalloc pool is read for its live blocks only. */
static void
scan_less_free_objects(const struct lp_roots_input *in, struct lp_reach *r,
		       struct lp_roots_stats *st, uintptr_t lo, uintptr_t hi)
{
	uintptr_t ps = in->pymalloc_pool_size, from = lo;
	struct live_ctx c = { r, st };
	if (!ps) {
		scan(r, st, lo, hi);
		return;
	}
	for (uintptr_t p = (lo + ps - 1) & ~(ps - 1); p + ps <= hi; p += ps) {
		if (!lp_pymalloc_pool_live(p, ps, scan_live, &c))
			continue;
		scan(r, st, from, p); /* the order of reading does not matter */
		from = p + ps;
	}
	scan(r, st, from, hi);
}

/* The shim's static TLS of the thread whose pointer is tp: [lo, hi). */
static struct lp_range
shim_tls_of(const struct lp_roots_input *in, uintptr_t tp)
{
	if (!tp || !in->shim_tls_size)
		return (struct lp_range){ 0, 0 };
	return (struct lp_range){ tp - in->shim_tls_below_tp,
				  tp - in->shim_tls_below_tp + in->shim_tls_size };
}

/* [lo, hi) less what is ours and malloc's chunks, in pieces; less the
 * shim's TLS, byte-exact (the program's own TLS is beside it): the main
 * thread's (in a mapping of the loader's, wherever that is scanned) and
 * tls, that of the thread whose stack this is. */
static void
scan_program_memory(const struct lp_roots_input *in, struct lp_reach *r,
		    struct lp_roots_stats *st, uintptr_t lo, uintptr_t hi, struct lp_range tls)
{
	if (hi <= lo)
		return;
	const struct lp_range holes[2] = { tls, shim_tls_of(in, main_tp) };
	for (int i = 0; i < 2; i++) {
		const struct lp_range *h = &holes[i];
		if (h->hi <= lo || h->lo >= hi)
			continue;
		scan_program_memory(in, r, st, lo, h->lo > lo ? h->lo : lo, tls);
		lo = h->hi;
		if (lo >= hi)
			return;
	}
	for (int i = 0; i < in->nown; i++) {
		const struct lp_range *o = &in->own[i];
		if (o->hi <= lo || o->lo >= hi)
			continue;
		scan_program_memory(in, r, st, lo, o->lo > lo ? o->lo : lo, tls);
		lo = o->hi;
		if (lo >= hi)
			return;
	}
	uintptr_t from = lo;
	for (uintptr_t page = (lo + 4095) & ~(uintptr_t)4095; page + 16 <= hi; page += 4096) {
		uintptr_t len = mmapped_chunk(page, hi);
		if (!len)
			continue;
		scan_less_free_objects(in, r, st, from, page);
		from = page + len;
		page = from - 4096;
	}
	scan_less_free_objects(in, r, st, from, hi);
}

static bool
parse_line(char *line, struct mapping *m)
{
	char *p = line;
	m->lo = parse_hex(p);
	while (*p && *p != '-')
		p++;
	if (!*p)
		return false;
	m->hi = parse_hex(++p);
	while (*p && *p != ' ')
		p++;
	if (!*p)
		return false;
	memcpy(m->perms, p + 1, 4);
	m->perms[4] = 0;
	for (int field = 0; field < 4 && *p; field++) { /* perms offset dev inode */
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
	}
	while (*p == ' ')
		p++;
	m->path = p;
	m->anonymous = !*p || !strncmp(p, "[anon:", 6);
	return true;
}

/* glibc puts a thread's descriptor at the top of its stack; it begins
 * with tcbhead_t, whose tcb and self fields point at the descriptor
 * itself (the thread pointer).  Looked for in the last 8 KiB, 64-byte
 * aligned; 0 when none is there. */
static uintptr_t
tcb_in(const struct mapping *m)
{
	uintptr_t from = m->hi - m->lo > 8192 ? m->hi - 8192 : m->lo;
	for (uintptr_t p = (from + 63) & ~(uintptr_t)63; p + 24 <= m->hi; p += 64) {
		const uintptr_t *w = (const uintptr_t *)p;
		if (w[0] == p && w[2] == p)
			return p;
	}
	return 0;
}

/* The thread whose stack pointer lies in m, if any: scan from there. */
static uintptr_t
stack_pointer_in(const struct lp_roots_input *in, const struct mapping *m)
{
	if (in->self_sp >= m->lo && in->self_sp < m->hi)
		return in->self_sp;
	for (unsigned i = 0; i < in->nsp; i++)
		if (in->sp[i] >= m->lo && in->sp[i] < m->hi)
			return in->sp[i] - 128 > m->lo ? in->sp[i] - 128 : m->lo; /* red zone */
	return 0;
}

static void
scan_mapping(const struct lp_roots_input *in, struct lp_reach *r, struct lp_roots_stats *st,
	     const struct mapping *m)
{
	if (m->perms[0] != 'r' || m->perms[1] != 'w')
		return;
	if (!strcmp(m->path, "[heap]"))
		return;
	if (!strncmp(m->path, "/dev/", 5) && strcmp(m->path, "/dev/zero"))
		return; /* device memory: reading may have effects */
	if (m->path[0] == '[' && !m->anonymous && strcmp(m->path, "[stack]"))
		return; /* [vvar] and the like */
	if (m->anonymous && is_arena_heap(m))
		return;
	uintptr_t sp = stack_pointer_in(in, m);
	uintptr_t tcb = m->anonymous ? tcb_in(m) : 0;
	if (sp) {
		scan_program_memory(in, r, st, sp, m->hi, shim_tls_of(in, tcb));
		return;
	}
	/* A thread stack with no known stack pointer: the main stack, or
	 * glibc's, with its thread's TCB at the top. */
	bool stack_like = !strcmp(m->path, "[stack]") || tcb;
	if (stack_like && !in->sp_unknown)
		return; /* every live thread is accounted for: an exited thread's */
	scan_program_memory(in, r, st, m->lo, m->hi, shim_tls_of(in, tcb));
}

/* Calls fn for every line of /proc/self/maps, in address order; false
 * when it cannot be read. */
static bool
each_mapping(void (*fn)(const struct mapping *m, void *ctx), void *ctx)
{
	char buf[8192];
	size_t have = 0;
	struct mapping m;
	bool any = false;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	for (;;) {
		long got = syscall(SYS_read, fd, buf + have, sizeof(buf) - 1 - have);
		if (got <= 0)
			break;
		have += (size_t)got;
		buf[have] = 0;
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = 0;
			if (parse_line(line, &m)) {
				fn(&m, ctx);
				any = true;
			}
			line = nl + 1;
		}
		have = (size_t)(buf + have - line);
		memmove(buf, line, have);
	}
	lp_close(fd);
	return any;
}

#define MAX_READABLE 65536

/* Pass 1: the readable memory, touching mappings merged; and every
 * readable mapping with what the heuristics ask of it. */
static void
note_readable(const struct mapping *m, void *ctx)
{
	struct lp_reach *r = ctx;
	struct lp_range *out = (struct lp_range *)r->readable;
	if (m->perms[0] != 'r' || (m->path[0] == '[' && !strcmp(m->path, "[vvar]")))
		return;
	if (r->nmaps < MAX_READABLE) {
		struct lp_reach_map *maps = (struct lp_reach_map *)r->maps;
		maps[r->nmaps++] = (struct lp_reach_map){
			m->lo, m->hi, (m->path[0] == '/' ? LP_MAP_FILE : 0) |
				      (m->perms[2] == 'x' ? LP_MAP_EXEC : 0) };
	}
	if (r->nreadable && out[r->nreadable - 1].hi == m->lo)
		out[r->nreadable - 1].hi = m->hi;
	else if (r->nreadable < MAX_READABLE)
		out[r->nreadable++] = (struct lp_range){ m->lo, m->hi };
}

struct scan_ctx {
	const struct lp_roots_input *in;
	struct lp_reach *r;
	struct lp_roots_stats *st;
};

static void
scan_fn(const struct mapping *m, void *ctx)
{
	struct scan_ctx *c = ctx;
	scan_mapping(c->in, c->r, c->st, m);
}

/* [lo, hi), pages rounded out, is ours. false: no room (the scan then
 * declines rather than read our memory as the program's). */
static bool
own_add(struct lp_roots_input *in, uintptr_t lo, uintptr_t hi)
{
	if (in->nown < 0 || in->nown >= (int)LP_ARRAY_LENGTH(in->own))
		return false;
	in->own[in->nown++] = (struct lp_range){ lo & ~(uintptr_t)4095,
						 (hi + 4095) & ~(uintptr_t)4095 };
	return true;
}

static bool
own_add_mapping(struct lp_roots_input *in, const void *p, size_t len)
{
	return own_add(in, (uintptr_t)p, (uintptr_t)p + len);
}

bool
lp_roots_scan(struct lp_roots_input *in, struct lp_reach *r, struct lp_roots_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (in->nown < 0)
		return false;
	/* The scan's own memory, made before the maps are read for the
	 * roots and never moved: the readable table and a work list that
	 * holds the most it can (each block climbs at most twice). */
	size_t readable_bytes = MAX_READABLE * sizeof(struct lp_range);
	struct lp_range *readable = lp_own_mmap(NULL, readable_bytes, PROT_READ | PROT_WRITE,
						MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t work_bytes = ((2 * r->n + 64) * sizeof(uint32_t) + 4095) & ~(size_t)4095;
	void *work = lp_own_mmap(NULL, work_bytes, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	size_t maps_bytes = MAX_READABLE * sizeof(struct lp_reach_map);
	void *maps = lp_own_mmap(NULL, maps_bytes, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (readable == MAP_FAILED || work == MAP_FAILED || maps == MAP_FAILED)
		return false;
	r->maps = maps;
	r->nmaps = 0;
	lp_vec_free(&r->work);
	r->work.data = work; /* faulted in as it is used */
	r->work.cap = work_bytes / sizeof(uint32_t);
	if (!own_add_mapping(in, readable, readable_bytes) ||
	    !own_add_mapping(in, maps, maps_bytes) ||
	    !own_add_mapping(in, r->work.data, r->work.cap * r->work.elem))
		return false;
	r->readable = readable;
	r->nreadable = 0;
	if (!each_mapping(note_readable, r))
		return false;
	struct scan_ctx c = { in, r, st };
	if (!each_mapping(scan_fn, &c))
		return false;
	scan(r, st, (uintptr_t)in->self_regs, (uintptr_t)(in->self_regs + 6));
	for (unsigned i = 0; i < in->nthread_regs; i++)
		scan(r, st, (uintptr_t)in->thread_regs[i],
		     (uintptr_t)(in->thread_regs[i] + LP_SAMPLED_REGS));
	if (in->main_tls_hi > in->main_tls_lo)
		scan_program_memory(in, r, st, in->main_tls_lo, in->main_tls_hi,
				    (struct lp_range){ 0, 0 });
	return true;
}
