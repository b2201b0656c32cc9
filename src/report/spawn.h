/* SPDX-License-Identifier: MIT */
/*
 * spawn.h - run a helper program from inside the target without the
 * program noticing.
 *
 * The helper is the child of a "supervisor": a clone child
 * (clone(CLONE_VM | CLONE_VFORK) with exit signal 0) that never calls
 * execve.  No SIGCHLD reaches the program when it ends, and the program's
 * wait(), waitpid(-1, ...) and waitid(P_ALL, ...) neither see it nor
 * return early because of it (only __WCLONE/__WALL waits do; the shim reaps
 * it with waitpid(pid, __WCLONE)).  The helper itself cannot be that clone
 * child: execve resets a process's exit signal to SIGCHLD.  So the
 * supervisor starts it, waits for it with the timeout and kills it when it
 * hangs; the helper's SIGCHLD goes to the supervisor.
 *
 * Until execve, both share the program's memory, so they make system calls
 * only: the supervisor resets the signal handlers the program installed
 * (none of them can run in it, or in the helper), puts the given
 * descriptor on fd 0 and closes every other one (in its copy of the
 * table); the helper executes the program with an empty environment (no
 * LD_PRELOAD, no LEAKPROBE_*).  The calling thread blocks every signal
 * for the clone only and waits with them open (x86-64; see spawn.c for
 * elsewhere).
 */
#pragma once

#include "core/base.h"

enum lp_spawn_outcome {
	LP_SPAWN_EXITED,      /* ran and exited; *status is its exit status */
	LP_SPAWN_NO_PROCESS,  /* clone failed (RLIMIT_NPROC, memory, seccomp) */
	LP_SPAWN_EXEC_FAILED, /* no path could be executed */
	LP_SPAWN_KILLED,      /* ended by a signal */
	LP_SPAWN_TIMED_OUT,   /* killed (SIGKILL) after timeout_ms */
	LP_SPAWN_LOST,        /* reaped by someone else (waitpid with __WALL) */
};

/* Run the first of paths[0..npaths) that execve accepts as
 * {path, arg, NULL}, fd 0 = fd, and wait for it to end, at most
 * timeout_ms.  *err: errno of what failed (clone, or the last execve).
 * errno is preserved. */
enum lp_spawn_outcome lp_spawn_wait(const char *const *paths, unsigned npaths,
				    const char *arg, int fd, unsigned timeout_ms,
				    int *status, int *err) LP_HIDDEN;
