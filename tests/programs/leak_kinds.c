/* leak_kinds.c - one allocation function per case of valgrind's leak
 * kinds; the test compares leakprobe's classification with valgrind's
 * (bytes and blocks per kind and per case_* function).  Built -O0, and
 * every store that keeps or drops a block goes through a volatile
 * pointer, so the optimizer cannot move what reaches a block. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct node {
	struct node *next;
	char pad[40];
};

void *volatile held_by_global;
char *volatile interior_only;
void *volatile *in_mmap;
__thread void *volatile tls_keep;

static int wake[2], parked[2];

__attribute__((noinline)) void *case_lost_block(void) { return malloc(100); }
__attribute__((noinline)) struct node *case_list_head(void) { return calloc(1, sizeof(struct node)); }
__attribute__((noinline)) struct node *case_list_rest(void) { return calloc(1, sizeof(struct node)); }
__attribute__((noinline)) struct node *case_cycle(void) { return calloc(1, sizeof(struct node)); }
__attribute__((noinline)) struct node *case_self(void) { return calloc(1, sizeof(struct node)); }
__attribute__((noinline)) void *case_global(void) { return malloc(77); }
__attribute__((noinline)) char *case_interior(void) { return malloc(300); }
__attribute__((noinline)) void *case_mmap_held(void) { return malloc(55); }
__attribute__((noinline)) void *case_blocked_stack(void) { return malloc(66); }
__attribute__((noinline)) void *case_tls(void) { return malloc(88); }
__attribute__((noinline)) void *case_exited_thread(void) { return malloc(99); }
__attribute__((noinline)) void *case_memalign_lost(void)
{
	void *p = NULL;
	return posix_memalign(&p, 64, 128) ? NULL : p;
}
__attribute__((noinline)) void *case_memalign_held(void) { return aligned_alloc(256, 512); }

/* Keeps its block on its stack and in its TLS, then blocks in read()
 * until the process exits. */
static void *
parked_thread(void *arg)
{
	(void)arg;
	void *volatile on_stack = case_blocked_stack();
	tls_keep = case_tls();
	char c = 1;
	(void)!write(parked[1], &c, 1);
	(void)!read(wake[0], &c, 1); /* never written: blocked at exit */
	return (void *)on_stack;
}

/* Keeps its block on its own stack only, and exits: lost. */
static void *
exiting_thread(void *arg)
{
	(void)arg;
	void *volatile on_stack = case_exited_thread();
	(void)on_stack;
	return NULL;
}
__attribute__((noinline)) void *case_rbp_across_malloc(void) { return malloc(123); }

/* The block's only copy in rbp (callee-saved) across a call to malloc,
 * then dropped: the shim's unwinder reads the saved rbp and keeps it in
 * its own TLS, which must not count as the program's.  Optimized, so
 * that rbp is not the frame pointer. */
__attribute__((noinline, optimize("O2", "omit-frame-pointer"))) static void
drop_after_malloc_in_rbp(void)
{
	register void *keep __asm__("rbp") = case_rbp_across_malloc();
	__asm__ volatile("" : "+r"(keep));
	void *volatile q = malloc(1);
	__asm__ volatile("" : "+r"(keep));
	keep = 0;
	__asm__ volatile("" : "+r"(keep));
	free(q);
}

__attribute__((noinline)) void *case_register_spin(void) { return malloc(44); }
static volatile int spinning;

/* Zeroes the stack below the caller: no stale copy of a callee's value
 * stays where the red zone under the stack pointer would be read. */
__attribute__((noinline)) static void
scrub_below(void)
{
	volatile char z[4096];
	memset((char *)z, 0, sizeof(z));
}

/* Keeps its block in r12 only, and spins until the process exits (it
 * runs while the exit report classifies).  Optimized, so that nothing but
 * the register holds it. */
__attribute__((noinline, optimize("O2", "omit-frame-pointer"))) static void *
spinning_thread(void *arg)
{
	(void)arg;
	register void *keep __asm__("r12") = case_register_spin();
	__asm__ volatile("" : "+r"(keep));
	scrub_below();
	__asm__ volatile("" : "+r"(keep));
	spinning = 1;
	for (;;)
		__asm__ volatile("pause" : "+r"(keep));
	return NULL;
}

/* tls_module.so, next to this program: its TLS keeps a block (dropped
 * again with LEAK_KINDS_DROP_MODULE_TLS set: then it is lost). */
static void
keep_in_dlopened_tls(void)
{
	char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n <= 0)
		return;
	path[n] = 0;
	strcpy(strrchr(path, '/') + 1, "tls_module.so");
	void *m = dlopen(path, RTLD_NOW);
	void (*keep)(void) = m ? (void (*)(void))dlsym(m, "keep_in_module_tls") : NULL;
	if (keep)
		keep();
	void (*drop)(void) = m ? (void (*)(void))dlsym(m, "drop_module_tls") : NULL;
	if (drop && getenv("LEAK_KINDS_DROP_MODULE_TLS"))
		drop();
}

/* argv[1]: the exit status (a program that fails on its own). */
int
main(int argc, char **argv)
{
	void *volatile p;

	p = case_lost_block();
	struct node *volatile h = case_list_head();
	h->next = case_list_rest();
	h->next->next = case_list_rest();
	h = NULL;
	struct node *volatile a = case_cycle(), *volatile b = case_cycle();
	a->next = b;
	b->next = a;
	a = b = NULL;
	struct node *volatile s = case_self();
	s->next = s;
	s = NULL;
	held_by_global = case_global();
	char *volatile q = case_interior();
	interior_only = q + 100;
	q = NULL;
	in_mmap = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	in_mmap[10] = case_mmap_held();
	p = case_memalign_lost();
	held_by_global = NULL;
	held_by_global = case_memalign_held();
	void *volatile keep_global = case_global();
	static void *volatile second_global __attribute__((used));
	second_global = keep_global;
	keep_global = NULL;
	p = NULL;
	(void)p;

	pthread_t t;
	if (pipe(wake) || pipe(parked))
		return 1;
	pthread_create(&t, NULL, exiting_thread, NULL);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, parked_thread, NULL);
	char c;
	(void)!read(parked[0], &c, 1);
	keep_in_dlopened_tls();
	pthread_create(&t, NULL, spinning_thread, NULL);
	while (!spinning)
		sched_yield();
	drop_after_malloc_in_rbp(); /* the main thread's last malloc */
	/* Clear what main's own frames may hold of the callees' values. */
	volatile char scrub[4096];
	memset((char *)scrub, 0, sizeof(scrub));
	return argc > 1 ? atoi(argv[1]) : 0;
}
