/* unwind_switch.c - allocations on stacks an unwinder must follow:
 *   co_heap_leaf   1 x 136 bytes, on a makecontext coroutine whose stack
 *                  was malloc'd from the heap (the program checks it lies
 *                  in [heap])
 *   co_mmap_leaf   1 x 152 bytes, on a coroutine stack mmap'd above a
 *                  guard page
 *   nocfi_leaf     1 x 168 bytes, called from nocfi_frame, which has no
 *                  unwind tables (unwind_switch_nocfi.c), only a frame
 *                  pointer
 *   jit_leaf       1 x 184 bytes, called from machine code copied into an
 *                  anonymous executable mapping (a JIT's: push %rbp;
 *                  mov %rsp, %rbp; call)
 *   co_jit_leaf    1 x 200 bytes, the same JIT code on a coroutine stack
 * For each, facts state the chain of functions above malloc, innermost
 * first, separated by '|' ("?" for the JIT's frame, which no symbol
 * names), and how the stack ends: "libc" (a coroutine's first frame
 * returns into glibc's __start_context, which ends the chain) or
 * "_start".  stack.co_heap_leaf says where that coroutine's stack lies. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "truth.h"

void nocfi_frame(void (*next)(void));

static void *volatile sink;
static ucontext_t main_uc, co_uc;

/* --- coroutines ------------------------------------------------------ */

__attribute__((noinline)) static void
co_heap_leaf(void)
{
	sink = malloc(136);
}

__attribute__((noinline)) static void
co_heap_mid(void)
{
	co_heap_leaf();
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void
co_heap_entry(void)
{
	co_heap_mid();
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void
co_mmap_leaf(void)
{
	sink = malloc(152);
}

__attribute__((noinline)) static void
co_mmap_mid(void)
{
	co_mmap_leaf();
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void
co_mmap_entry(void)
{
	co_mmap_mid();
	__asm__ volatile("" ::: "memory");
}

static void
run_coroutine(void *stack, size_t size, void (*entry)(void))
{
	getcontext(&co_uc);
	co_uc.uc_stack.ss_sp = stack;
	co_uc.uc_stack.ss_size = size;
	co_uc.uc_link = &main_uc;
	makecontext(&co_uc, entry, 0);
	swapcontext(&main_uc, &co_uc);
}

/* The name of the mapping holding addr ("" for an anonymous one). */
static void
mapping_name(uintptr_t addr, char *name, size_t size)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];

	snprintf(name, size, "?");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		int off = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s%n", &a, &b, &off) >= 2 &&
		    addr >= a && addr < b) {
			const char *n = line + off;
			while (*n == ' ')
				n++;
			snprintf(name, size, "%s", n);
			name[strcspn(name, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
}

/* --- code without unwind tables ---------------------------------------- */

__attribute__((noinline)) static void
nocfi_leaf(void)
{
	sink = malloc(168);
}

__attribute__((noinline)) static void
nocfi_caller(void)
{
	nocfi_frame(nocfi_leaf);
	__asm__ volatile("" ::: "memory");
}

/* --- a JIT ---------------------------------------------------------------- */

/* jit(fn): push %rbp; mov %rsp, %rbp; call *%rdi; pop %rbp; ret */
static const uint8_t jit_code[] = { 0x55, 0x48, 0x89, 0xe5, 0xff, 0xd7, 0x5d, 0xc3 };
static void (*jit)(void (*fn)(void));

__attribute__((noinline)) static void
jit_leaf(void)
{
	sink = malloc(184);
}

__attribute__((noinline)) static void
jit_caller(void)
{
	jit(jit_leaf);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void
co_jit_leaf(void)
{
	sink = malloc(200);
}

__attribute__((noinline)) static void
co_jit_entry(void)
{
	jit(co_jit_leaf);
	__asm__ volatile("" ::: "memory");
}

int
main(void)
{
	char name[256];

	/* 64 KiB: below the mmap threshold, carved from the heap. */
	void *heap_stack = malloc(64 << 10);
	mapping_name((uintptr_t)heap_stack, name, sizeof(name));
	truth_fact_str("stack.co_heap_leaf", name);
	run_coroutine(heap_stack, 64 << 10, co_heap_entry);
	truth_leak("co_heap_leaf", 1, 136);
	truth_fact_str("chain.co_heap_leaf", "co_heap_leaf|co_heap_mid|co_heap_entry");
	truth_fact_str("end.co_heap_leaf", "libc");

	size_t size = 256 << 10;
	uint8_t *m = mmap(NULL, size + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	if (m == MAP_FAILED)
		return 1;
	mprotect(m, 4096, PROT_NONE);
	run_coroutine(m + 4096, size, co_mmap_entry);
	truth_leak("co_mmap_leaf", 1, 152);
	truth_fact_str("chain.co_mmap_leaf", "co_mmap_leaf|co_mmap_mid|co_mmap_entry");
	truth_fact_str("end.co_mmap_leaf", "libc");

	nocfi_caller();
	truth_leak("nocfi_leaf", 1, 168);
	truth_fact_str("chain.nocfi_leaf", "nocfi_leaf|nocfi_frame|nocfi_caller|main");
	truth_fact_str("end.nocfi_leaf", "_start");

	uint8_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		return 1;
	memcpy(code, jit_code, sizeof(jit_code));
	mprotect(code, 4096, PROT_READ | PROT_EXEC);
	jit = (void (*)(void (*)(void)))(void *)code;
	jit_caller();
	truth_leak("jit_leaf", 1, 184);
	truth_fact_str("chain.jit_leaf", "jit_leaf|?|jit_caller|main");
	truth_fact_str("end.jit_leaf", "_start");

	run_coroutine(m + 4096, size, co_jit_entry);
	truth_leak("co_jit_leaf", 1, 200);
	truth_fact_str("chain.co_jit_leaf", "co_jit_leaf|?|co_jit_entry");
	truth_fact_str("end.co_jit_leaf", "libc");

	truth_write();
	free(heap_stack);
	return 0;
}
