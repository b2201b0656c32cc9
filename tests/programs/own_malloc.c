/* own_malloc.c - an executable that defines malloc, calloc, realloc and
 * free itself (a bump allocator that never frees), ahead of any preloaded
 * library.  The shim's hooks are never called for its allocations; it
 * must say so.  Deterministic stdout, exit code 4.  No truth of leaks: the
 * shim cannot see them (that is the point). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ARENA (512ul << 20) /* reserved, touched only as used */

static size_t used;
static size_t calls;

void *
malloc(size_t n)
{
	static char *volatile arena_init;
	char *a = __atomic_load_n(&arena_init, __ATOMIC_ACQUIRE);
	if (!a) {
		void *m = mmap(NULL, ARENA, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED)
			return NULL;
		char *expect = NULL;
		if (__atomic_compare_exchange_n(&arena_init, &expect, (char *)m, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			a = m;
		else {
			munmap(m, ARENA);
			a = expect;
		}
	}
	if (n > ARENA)
		return NULL;
	size_t cur = __atomic_load_n(&used, __ATOMIC_RELAXED), start;
	do {
		start = (cur + 16 + 15) & ~(size_t)15;
		if (start + n > ARENA)
			return NULL;
	} while (!__atomic_compare_exchange_n(&used, &cur, start + n, 0,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	((size_t *)(a + start))[-1] = n;
	__atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
	return a + start;
}

void
free(void *p)
{
	(void)p; /* a bump allocator never frees */
}

void *
calloc(size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total))
		return NULL;
	void *p = malloc(total);
	if (p)
		memset(p, 0, total);
	return p;
}

void *
realloc(void *p, size_t n)
{
	void *q = malloc(n);
	if (q && p) {
		size_t old = ((size_t *)p)[-1];
		memcpy(q, p, old < n ? old : n);
	}
	return q;
}

int
main(void)
{
	size_t before = calls;
	char *s = strdup("bump allocated");
	char *t = malloc(100);
	snprintf(t, 100, "%s twice", s);
	t = realloc(t, 200);
	printf("%s\n", t);
	printf("own malloc used: %s\n", calls > before ? "yes" : "no");
	free(s);
	free(t);
	return 4;
}
