/* enomem.c - requests the allocator must refuse, and what it says.
 *
 * usage: enomem calls      one line per call: the result (NULL or not,
 *                          return code) and errno; identical with and
 *                          without the shim
 *        enomem exhaust    lower RLIMIT_AS to 256 MiB above what is mapped,
 *                          allocate 4 KiB blocks until malloc fails, free
 *                          them all, exit
 *        enomem hold       the same, but exit with the memory still taken
 *                          (the exit report must find room, or say why)
 *
 * Ground truth (truth.h): keep_after_failed_realloc() leaks the block
 * whose realloc failed (the block must stay live), 1000 B; in the
 * exhaust modes, pre_leak() leaks 5 x 64 B before the address space runs
 * out. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "truth.h"

static void *volatile sink;

#define HUGE (SIZE_MAX / 2)

static void
show(const char *what, const void *p, int err)
{
	printf("%-40s %s errno=%s\n", what, p ? "ptr " : "NULL",
	       err == 0 ? "0" : err == ENOMEM ? "ENOMEM" : err == EINVAL ? "EINVAL" : "other");
}

static void
show_rc(const char *what, int rc, int err, int out_untouched)
{
	printf("%-40s rc=%s errno=%s out=%s\n", what,
	       rc == 0 ? "0" : rc == ENOMEM ? "ENOMEM" : rc == EINVAL ? "EINVAL" : "other",
	       err == 0 ? "0" : err == ENOMEM ? "ENOMEM" : "other",
	       out_untouched ? "untouched" : "set");
}

#define CALL(expr, label)                                                      \
	do {                                                                   \
		errno = 0;                                                     \
		void *p_ = (expr);                                             \
		int e_ = errno;                                                \
		show(label, p_, e_);                                           \
		free(p_);                                                      \
	} while (0)

__attribute__((noinline)) static void
keep_after_failed_realloc(void)
{
	char *p = malloc(1000);
	memset(p, 0xab, 1000);
	errno = 0;
	void *q = realloc(p, HUGE);
	show("realloc(live, SIZE_MAX/2)", q, errno);
	errno = 0;
	q = reallocarray(p, SIZE_MAX / 8, 16); /* overflows */
	show("reallocarray(live, overflow)", q, errno);
	/* The block is intact and still ours. */
	int intact = 1;
	for (int i = 0; i < 1000; i++)
		intact &= (unsigned char)p[i] == 0xab;
	printf("%-40s %s\n", "block after failed reallocs", intact ? "intact" : "CHANGED");
	sink = p;
	truth_leak("keep_after_failed_realloc", 1, 1000);
}

static void
calls(void)
{
	CALL(malloc(HUGE), "malloc(SIZE_MAX/2)");
	CALL(malloc(SIZE_MAX), "malloc(SIZE_MAX)");
	CALL(malloc((size_t)PTRDIFF_MAX + 1), "malloc(PTRDIFF_MAX+1)");
	CALL(calloc(HUGE, 4), "calloc(SIZE_MAX/2, 4) overflow");
	CALL(calloc(4, HUGE), "calloc(4, SIZE_MAX/2) overflow");
	CALL(calloc(1, HUGE), "calloc(1, SIZE_MAX/2)");
	CALL(calloc((size_t)1 << 32, (size_t)1 << 32), "calloc(2^32, 2^32) overflow");
	CALL(realloc(NULL, HUGE), "realloc(NULL, SIZE_MAX/2)");
	CALL(reallocarray(NULL, HUGE, 3), "reallocarray(NULL, overflow)");
	CALL(aligned_alloc(64, HUGE), "aligned_alloc(64, SIZE_MAX/2)");
	CALL(aligned_alloc(4096, SIZE_MAX - 4095), "aligned_alloc(4096, SIZE_MAX-4095)");
	CALL(aligned_alloc(3, 16), "aligned_alloc(3, 16) odd alignment");
	CALL(memalign(64, HUGE), "memalign(64, SIZE_MAX/2)");
	CALL(memalign((size_t)1 << 62, 16), "memalign(2^62, 16)");
	CALL(valloc(HUGE), "valloc(SIZE_MAX/2)");
	CALL(pvalloc(HUGE), "pvalloc(SIZE_MAX/2)");
	CALL(pvalloc(SIZE_MAX - 100), "pvalloc(SIZE_MAX-100) rounds over");

	void *out;
	int rc;
	out = &out;
	errno = 0;
	rc = posix_memalign(&out, 64, HUGE);
	show_rc("posix_memalign(64, SIZE_MAX/2)", rc, errno, out == &out);
	out = &out;
	errno = 0;
	rc = posix_memalign(&out, (size_t)1 << 40, 4096);
	show_rc("posix_memalign(2^40, 4096)", rc, errno, out == &out);
	if (rc == 0)
		free(out);
	out = &out;
	errno = 0;
	rc = posix_memalign(&out, 24, 64); /* not a power of two */
	show_rc("posix_memalign(24, 64)", rc, errno, out == &out);
	out = &out;
	errno = 0;
	rc = posix_memalign(&out, 4, 64); /* smaller than a pointer */
	show_rc("posix_memalign(4, 64)", rc, errno, out == &out);

	/* Success leaves errno alone (glibc >= 2.33 also for free). */
	errno = EILSEQ;
	void *p = malloc(100);
	printf("%-40s errno %s\n", "malloc(100) success", errno == EILSEQ ? "kept" : "changed");
	errno = EILSEQ;
	free(p);
	printf("%-40s errno %s\n", "free(block)", errno == EILSEQ ? "kept" : "changed");
	errno = EILSEQ;
	free(NULL);
	printf("%-40s errno %s\n", "free(NULL)", errno == EILSEQ ? "kept" : "changed");

	/* realloc(p, 0) frees and returns NULL (glibc). */
	p = malloc(10);
	errno = 0;
	void *q = realloc(p, 0);
	show("realloc(live, 0)", q, errno);
	free(q);
	/* malloc(0) and calloc(0, x) give a unique pointer. */
	CALL(malloc(0), "malloc(0)");
	CALL(calloc(0, HUGE), "calloc(0, SIZE_MAX/2)");
	keep_after_failed_realloc();
}

__attribute__((noinline)) static void
pre_leak(void)
{
	for (int i = 0; i < 5; i++)
		sink = malloc(64);
	truth_leak("pre_leak", 5, 320);
}

static unsigned long
mapped_bytes(void)
{
	unsigned long total = 0, lo, hi;
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			total += hi - lo;
	if (f)
		fclose(f);
	return total;
}

struct chain {
	struct chain *next;
};

static void
exhaust(int hold)
{
	pre_leak();
	/* Everything that needs memory later is done now: the truth file,
	 * the stdout buffer. */
	truth_write();
	printf("exhausting\n");
	struct rlimit rl;
	rl.rlim_cur = rl.rlim_max = mapped_bytes() + (256ul << 20);
	if (setrlimit(RLIMIT_AS, &rl) != 0) {
		perror("setrlimit");
		exit(3);
	}
	struct chain *head = NULL;
	unsigned long n = 0;
	for (;;) {
		struct chain *c = malloc(4096);
		if (!c)
			break;
		c->next = head;
		head = c;
		n++;
	}
	int err = errno;
	printf("exhausted: errno %s, blocks %s\n", err == ENOMEM ? "ENOMEM" : "other",
	       n > 10000 ? "> 10000" : "few");
	if (!hold) {
		while (head) {
			struct chain *c = head;
			head = c->next;
			free(c);
		}
	}
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "calls")) {
		calls();
		truth_write();
	} else if (!strcmp(argv[1], "exhaust")) {
		exhaust(0);
	} else if (!strcmp(argv[1], "hold")) {
		exhaust(1);
	} else {
		return 2;
	}
	return 0;
}
