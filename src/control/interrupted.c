/* SPDX-License-Identifier: MIT */
/* interrupted.c - see interrupted.h. */
#include "control/interrupted.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <sys/syscall.h>

#include "core/guard.h"
#include "core/spinlock.h"
#include "unwind/fast_unwind.h"

/* Executable ranges of libc and the dynamic loader, learned at start-up. */
#define LOCKED_RANGES 8
static struct { uintptr_t lo, hi; } locked[LOCKED_RANGES];
static unsigned nlocked;

static int
note_system_module(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	const char *n = info->dlpi_name;
	if (!n || !(strstr(n, "/libc.so") || strstr(n, "/ld-linux") || strstr(n, "/libpthread.so")))
		return 0;
	for (int i = 0; i < info->dlpi_phnum && nlocked < LOCKED_RANGES; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			locked[nlocked].lo = info->dlpi_addr + ph->p_vaddr;
			locked[nlocked].hi = locked[nlocked].lo + ph->p_memsz;
			nlocked++;
		}
	}
	return 0;
}

/* libc functions that hold no lock and call nothing that does, anywhere
 * in their code: string and clock functions, and the wrappers of the
 * system calls a program waits in (the signal often lands a few
 * instructions before or after the call itself, a program that just
 * printed "ready" is still in write()), and the loader's TLS lookup
 * (a shared libpython calls it all the time).  Without them a loop that spends
 * its time there (a Python loop reading the clock) would never let the
 * handler start the worker. */
#define LEAVES_MAX 64
static struct { uintptr_t lo, hi; } leaves[LEAVES_MAX];
static unsigned nleaves;

static void
note_leaf_functions(void)
{
	static const char *const names[] = {
		"clock_gettime", "gettimeofday", "time", "memcpy", "memmove", "memset",
		"memcmp", "memchr", "strlen", "strnlen", "strcmp", "strncmp", "strchr",
		"strrchr", "strcpy", "strncpy", "__errno_location", "pthread_self",
		"read", "write", "readv", "writev", "pread64", "pwrite64", "send", "recv",
		"sendto", "recvfrom", "sendmsg", "recvmsg", "accept", "accept4", "connect",
		"poll", "ppoll", "select", "pselect", "epoll_wait", "epoll_pwait", "nanosleep",
		"clock_nanosleep", "usleep", "pause", "sigsuspend", "sigtimedwait",
		"sigwaitinfo", "waitpid", "wait4", "waitid", "kill", "getpid", "ioctl",
		/* ld.so: its fast path (the slow one, which locks, is apart) */
		"__tls_get_addr",
	};
	for (size_t i = 0; i < LP_ARRAY_LENGTH(names) && nleaves < LEAVES_MAX; i++) {
		void *f = dlsym(RTLD_DEFAULT, names[i]); /* IFUNCs: the chosen one */
		uintptr_t lo, hi;
		if (f && lp_fast_unwind_function((uintptr_t)f, &lo, &hi)) {
			leaves[nleaves].lo = lo;
			leaves[nleaves].hi = hi;
			nleaves++;
		}
	}
}

static bool
in_leaf_function(uintptr_t ip)
{
	for (unsigned i = 0; i < nleaves; i++)
		if (ip >= leaves[i].lo && ip < leaves[i].hi)
			return true;
	return false;
}

static bool
in_system_code(uintptr_t ip, uintptr_t *lo)
{
	for (unsigned i = 0; i < nlocked; i++)
		if (ip >= locked[i].lo && ip < locked[i].hi) {
			*lo = locked[i].lo;
			return true;
		}
	return false;
}

/* System calls libc makes holding none of the locks pthread_create takes:
 * blocking calls on descriptors, waits, signals sent.  Not futex (libc's
 * own locks wait in it), nor the memory calls (made holding the stack
 * list lock when thread stacks are freed). */
static bool
call_without_locks(long nr)
{
	switch (nr) {
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
	case SYS_pread64: case SYS_pwrite64: case SYS_ioctl: case SYS_fcntl:
	case SYS_flock: case SYS_openat: case SYS_accept: case SYS_accept4:
	case SYS_connect: case SYS_recvfrom: case SYS_recvmsg: case SYS_recvmmsg:
	case SYS_sendto: case SYS_sendmsg: case SYS_sendmmsg: case SYS_poll:
	case SYS_ppoll: case SYS_select: case SYS_pselect6: case SYS_epoll_wait:
	case SYS_epoll_pwait: case SYS_pause: case SYS_nanosleep: case SYS_clock_nanosleep:
	case SYS_rt_sigsuspend: case SYS_rt_sigtimedwait: case SYS_wait4: case SYS_waitid:
	case SYS_msgrcv: case SYS_msgsnd: case SYS_semop: case SYS_semtimedop:
	case SYS_kill: case SYS_tkill: case SYS_tgkill:
		return true;
	default:
		return false;
	}
}

/* The number a libc wrapper loads just before its syscall instruction at
 * insn ("mov $nr,%eax" or "xor %eax,%eax"), or -1 if it is not that
 * shape (not guessed: the caller then waits for a safer moment). */
static long
wrapper_syscall_number(const uint8_t *insn, uintptr_t lo)
{
	if ((uintptr_t)insn >= lo + 5 && insn[-5] == 0xb8) {
		uint32_t nr;
		memcpy(&nr, insn - 4, sizeof(nr));
		return nr < 1024 ? (long)nr : -1;
	}
	if ((uintptr_t)insn >= lo + 2 && insn[-2] == 0x31 && insn[-1] == 0xc0)
		return 0;
	return -1;
}

/* May the handler call pthread_create here?  It takes two locks of
 * glibc's: the stack list lock (held only inside libc, around a few
 * instructions) and the TLS lock (recursive).  So: not inside the shim's
 * guarded parts (its interposers' own code holds nothing), and not
 * inside libc or the loader, unless at the boundary of a system
 * call libc makes without such a lock (the signal is delivered there:
 * the thread was blocked in it, or it just sent the signal).  A signal
 * nested in another handler that interrupted libc is not recognised: the
 * remaining risk is that handler having interrupted thread creation or
 * exit itself. */
bool
lp_interrupted_where_safe(const ucontext_t *uc)
{
	if (lp_guarded() || lp_locks_held)
		return false;
	uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	long ax = (long)uc->uc_mcontext.gregs[REG_RAX];
	uintptr_t lo;
	if (!in_system_code(ip, &lo) || in_leaf_function(ip))
		return true;
	const uint8_t *p = (const uint8_t *)ip;
	if (p[0] == 0x0f && p[1] == 0x05)
		return call_without_locks(ax); /* restarted after us: its number in rax */
	if (ip >= lo + 2 && p[-2] == 0x0f && p[-1] == 0x05)
		return call_without_locks(wrapper_syscall_number(p - 2, lo));
	return false;
}

void
lp_interrupted_learn(void)
{
	dl_iterate_phdr(note_system_module, NULL);
	note_leaf_functions();
}
