/* SPDX-License-Identifier: MIT */
/* thread_registers.c - see thread_registers.h. */
#include "detect/thread_registers.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/own_memory.h"
#include "core/syscall.h"

#define MAX_AT_ONCE 64
#define RING_BYTES (2 * 4096) /* the control page and one page of samples */

/* perf's x86-64 register numbers: rax..rip are 0-8, r8..r15 16-23. */
#define REGS_MASK (0x1ffull | (0xffull << 16))

struct sampler {
	int fd;
	char *ring;
};

static int
open_sampler(int tid, struct sampler *s)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_TASK_CLOCK; /* ticks only while it runs */
	a.sample_period = 20000;            /* ns of its CPU time */
	a.sample_type = PERF_SAMPLE_REGS_USER;
	a.sample_regs_user = REGS_MASK;
	a.exclude_kernel = 1; /* what paranoid 2 allows; its user registers all the same */
	a.exclude_hv = 1;
	a.wakeup_events = 1;
	s->fd = (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (s->fd < 0)
		return errno;
	s->ring = lp_own_mmap(NULL, RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (s->ring == MAP_FAILED) {
		int e = errno;
		lp_close(s->fd);
		s->fd = -1;
		return e;
	}
	return 0;
}

static void
close_sampler(struct sampler *s)
{
	if (s->fd < 0)
		return;
	lp_own_munmap(s->ring, RING_BYTES);
	lp_close(s->fd);
	s->fd = -1;
}

/* The first sample in the ring with registers, if any. */
static bool
read_sample(const struct sampler *s, uint64_t regs[LP_SAMPLED_REGS])
{
	const struct perf_event_mmap_page *meta = (const void *)s->ring;
	uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t off = meta->data_offset ? meta->data_offset : 4096;
	uint64_t size = meta->data_size ? meta->data_size : RING_BYTES - 4096;
	const char *data = s->ring + off;
	for (uint64_t at = 0; at + sizeof(struct perf_event_header) <= head && at < size;) {
		const struct perf_event_header *h = (const void *)(data + at);
		if (!h->size || at + h->size > size)
			break; /* wrapped: never with one page and a first sample */
		const uint64_t *body = (const uint64_t *)(h + 1);
		if (h->type == PERF_RECORD_SAMPLE &&
		    h->size >= sizeof(*h) + 8 * (1 + LP_SAMPLED_REGS) &&
		    body[0] == PERF_SAMPLE_REGS_ABI_64) {
			memcpy(regs, body + 1, 8 * LP_SAMPLED_REGS);
			return true;
		}
		at += h->size;
	}
	return false;
}

static unsigned
sample_batch(const int *tids, unsigned n, uint64_t (*regs)[LP_SAMPLED_REGS], bool *got,
	     uint64_t deadline, int *why)
{
	struct sampler s[MAX_AT_ONCE];
	struct pollfd p[MAX_AT_ONCE];
	unsigned opened = 0, done = 0;
	for (unsigned i = 0; i < n; i++) {
		got[i] = false;
		int e = open_sampler(tids[i], &s[i]);
		if (e && e != ESRCH && !*why)
			*why = e; /* not allowed or not supported here; a thread that exited: none */
		opened += !e;
	}
	while (opened && done < n) {
		unsigned waiting = 0;
		for (unsigned i = 0; i < n; i++) {
			if (s[i].fd >= 0 && !got[i] && read_sample(&s[i], regs[i])) {
				got[i] = true;
				done++;
				close_sampler(&s[i]);
			}
			if (s[i].fd >= 0)
				p[waiting++] = (struct pollfd){ .fd = s[i].fd, .events = POLLIN };
		}
		uint64_t now = lp_now_ns();
		if (!waiting || now >= deadline)
			break;
		poll(p, waiting, (int)((deadline - now) / 1000000) + 1); /* EINTR: look again */
	}
	for (unsigned i = 0; i < n; i++)
		close_sampler(&s[i]);
	return done;
}

unsigned
lp_sample_thread_registers(const int *tids, unsigned n, uint64_t (*regs)[LP_SAMPLED_REGS],
			   bool *got, uint64_t timeout_ns, int *why)
{
	int saved_errno = errno;
	*why = 0;
	uint64_t deadline = lp_now_ns() + timeout_ns;
	unsigned sampled = 0;
	for (unsigned i = 0; i < n; i += MAX_AT_ONCE) {
		unsigned k = n - i < MAX_AT_ONCE ? n - i : MAX_AT_ONCE;
		sampled += sample_batch(tids + i, k, regs + i, got + i, deadline, why);
	}
	if (sampled)
		*why = 0;
	errno = saved_errno;
	return sampled;
}
