/* SPDX-License-Identifier: MIT */
/* mapping_at.c - see mapping_at.h. */
#ifndef _GNU_SOURCE /* the build passes it */
#define _GNU_SOURCE
#endif
#include "core/mapping_at.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/syscall.h"

/* The kernel's struct procmap_query (linux/fs.h, Linux 6.11): the mapping
 * holding an address, by ioctl on /proc/self/maps. */
struct lp_procmap_query {
	uint64_t size, query_flags, query_addr;
	uint64_t vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define LP_PROCMAP_QUERY _IOWR('f', 17, struct lp_procmap_query)
#define LP_PROCMAP_READABLE 1
#define LP_PROCMAP_WRITABLE 2

/* 1 PROCMAP_QUERY answers, -1 the kernel has none, 0 not tried yet. */
static int procmap_query_works;

void
lp_mapping_at_use_text(void)
{
	procmap_query_works = -1;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parse /proc/self/maps from fd, with plain read(2) (stdio would
 * allocate), up to the line holding addr: "lo-hi rwxp ...".  Lines come
 * in address order: one starting above addr ends the search. */
static bool
find_mapping_text(int fd, uintptr_t addr, struct lp_mapping *m)
{
	char buf[2048];
	uintptr_t a = 0, b = 0;
	int field = 0; /* 0 start, 1 end, 2 permissions, 3 rest of the line */
	char perm[2] = { 0, 0 };
	unsigned nperm = 0;

	for (;;) {
		ssize_t len = read(fd, buf, sizeof(buf));
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			return false;
		for (ssize_t i = 0; i < len; i++) {
			char c = buf[i];
			int d = hex_digit(c);
			if (field == 0 && d >= 0) {
				a = a << 4 | (uintptr_t)d;
			} else if (field == 0) {
				if (a > addr)
					return false;
				field = 1;
			} else if (field == 1 && d >= 0) {
				b = b << 4 | (uintptr_t)d;
			} else if (field == 1) {
				field = 2;
			} else if (field == 2) {
				if (nperm < 2)
					perm[nperm++] = c;
				else
					field = 3;
			}
			if (field == 3 && a <= addr && addr < b) {
				m->lo = a;
				m->hi = b;
				m->rw = perm[0] == 'r' && perm[1] == 'w';
				return true;
			}
			if (c == '\n') {
				field = 0;
				a = b = 0;
				nperm = 0;
			}
		}
	}
}

bool
lp_mapping_at(uintptr_t addr, struct lp_mapping *m)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;

	bool found = false;
	int works = __atomic_load_n(&procmap_query_works, __ATOMIC_RELAXED);
	if (works >= 0) {
		struct lp_procmap_query q = { .size = sizeof(q), .query_addr = addr };
		if (ioctl(fd, LP_PROCMAP_QUERY, &q) == 0) {
			__atomic_store_n(&procmap_query_works, 1, __ATOMIC_RELAXED);
			found = q.vma_start <= addr && addr < q.vma_end;
			m->lo = (uintptr_t)q.vma_start;
			m->hi = (uintptr_t)q.vma_end;
			m->rw = (q.vma_flags & (LP_PROCMAP_READABLE | LP_PROCMAP_WRITABLE)) ==
				(LP_PROCMAP_READABLE | LP_PROCMAP_WRITABLE);
			goto done;
		}
		if (errno == ENOENT) /* nothing mapped there */
			goto done;
		if (works == 0 && (errno == ENOTTY || errno == EINVAL))
			__atomic_store_n(&procmap_query_works, -1, __ATOMIC_RELAXED);
	}
	found = find_mapping_text(fd, addr, m);
done:
	lp_close(fd);
	return found;
}

