/* SPDX-License-Identifier: MIT */
/*
 * base.h - the attributes and macros every file of the shim uses.
 *
 * Naming: leakprobe_* is the public API (include/leakprobe.h), lp_* is
 * internal.  Everything internal has hidden visibility; the version script
 * (leakprobe.map) exports only the interposed entry points and the API.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LP_HIDDEN __attribute__((visibility("hidden")))
#define LP_EXPORT __attribute__((visibility("default")))
#define LP_NOINLINE __attribute__((noinline))
#define LP_COLD __attribute__((cold, noinline))
#define lp_likely(x) __builtin_expect(!!(x), 1)
#define lp_unlikely(x) __builtin_expect(!!(x), 0)
#define LP_ARRAY_LENGTH(a) (sizeof(a) / sizeof((a)[0]))
