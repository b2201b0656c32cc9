/* SPDX-License-Identifier: MIT */
/*
 * seccomp.h - whether a seccomp filter confines this process.
 *
 * A filter may kill the process for a system call it does not list
 * (systemd's SystemCallFilter= does, by default), and there is no asking
 * it first.  So calls the program itself would not make (perf_event_open,
 * pidfd_open) are only made without a filter; the shim goes the longer
 * way otherwise.
 */
#pragma once

#include "core/base.h"

/* From /proc/self/status ("Seccomp: 2"), read now: a filter can be
 * installed at any time.  True also when it cannot be read. */
bool lp_seccomp_filtered(void) LP_HIDDEN;
