/* SPDX-License-Identifier: MIT */
/*
 * signal.c - sigaction() and friends for the report signal only: the
 * program sees and sets its own disposition while ours stays installed
 * (control/report_signal.c).  Every other signal, and every call in a
 * vfork child, passes straight through.
 */
#include <signal.h>
#include <string.h>

#include "control/report_signal.h"
#include "core/bootstrap.h"

/* The report signal's disposition is the program's to see and set; ours
 * stays installed (control/report_signal.c).  In a vfork child (another
 * pid in our memory) everything passes straight through. */
LP_EXPORT int
sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!lp_report_signal_owned(sig))
		return lp_report_signal_real_sigaction(sig, act, old);
	lp_report_signal_program_action(act, old);
	return 0;
}

LP_EXPORT sighandler_t
signal(int sig, sighandler_t handler)
{
	static sighandler_t (*real_signal)(int, sighandler_t);
	struct sigaction act, old;

	if (sig == 0 || sig != lp_report_signal_number()) {
		if (!real_signal)
			real_signal = (sighandler_t (*)(int, sighandler_t))lp_next("signal");
		return real_signal(sig, handler);
	}
	/* glibc's signal(): BSD semantics, the signal blocked in its handler. */
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	act.sa_flags = SA_RESTART;
	sigaddset(&act.sa_mask, sig);
	if (sigaction(sig, &act, &old) != 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* The System V and BSD variants go to glibc's internal sigaction, around
 * our interposer: route them through it for the report signal. */
static sighandler_t
set_handler(int sig, sighandler_t handler, int flags, const char *real_name)
{
	struct sigaction act, old;

	if (sig == 0 || sig != lp_report_signal_number()) {
		sighandler_t (*real)(int, sighandler_t) =
			(sighandler_t (*)(int, sighandler_t))lp_next(real_name);
		return real ? real(sig, handler) : SIG_ERR;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	act.sa_flags = flags;
	if (sigaction(sig, &act, &old) != 0)
		return SIG_ERR;
	return old.sa_handler;
}

LP_EXPORT sighandler_t
sysv_signal(int sig, sighandler_t handler)
{
	return set_handler(sig, handler, SA_RESETHAND | SA_NODEFER, "sysv_signal");
}

LP_EXPORT sighandler_t
bsd_signal(int sig, sighandler_t handler)
{
	return signal(sig, handler);
}

/* sigset(): System V; SIG_HOLD blocks the signal, anything else installs
 * the disposition and unblocks it.  Returns SIG_HOLD if it was blocked. */
LP_EXPORT sighandler_t
sigset(int sig, sighandler_t disp)
{
	sigset_t one, old_mask;

	if (sig == 0 || sig != lp_report_signal_number()) {
		sighandler_t (*real)(int, sighandler_t) =
			(sighandler_t (*)(int, sighandler_t))lp_next("sigset");
		return real ? real(sig, disp) : SIG_ERR;
	}
	sigemptyset(&one);
	sigaddset(&one, sig);
	if (disp == SIG_HOLD) {
		struct sigaction cur;
		sigprocmask(SIG_BLOCK, &one, &old_mask);
		sigaction(sig, NULL, &cur);
		return sigismember(&old_mask, sig) ? SIG_HOLD : cur.sa_handler;
	}
	sighandler_t prev = set_handler(sig, disp, 0, "sigset");
	sigprocmask(SIG_UNBLOCK, &one, &old_mask);
	return sigismember(&old_mask, sig) ? SIG_HOLD : prev;
}

/* The worker must know when the main thread leaves this way. */
LP_EXPORT void
pthread_exit(void *ret)
{
	static void (*real_exit)(void *);
	if (!real_exit)
		real_exit = (void (*)(void *))lp_next("pthread_exit");
	lp_report_signal_thread_exits();
	real_exit(ret);
	__builtin_unreachable();
}
