/* SPDX-License-Identifier: MIT */
/*
 * startup.h - start-up, the exit report and fork: the shim's life in the
 * program's.  Reports on signal: report_signal.h; through the API: api.c.
 */
#pragma once

#include "core/base.h"

/* Set around a call through the process's own binding of malloc at
 * start-up: the malloc interposer clears it, which shows the binding is
 * ours. */
extern __thread int lp_malloc_probe __attribute__((tls_model("initial-exec"))) LP_HIDDEN;
