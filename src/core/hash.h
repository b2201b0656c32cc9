/* SPDX-License-Identifier: MIT */
/* hash.h - uthash, its tables in the shim's own memory (lp_real).  An
 * allocation that fails leaves the element out (its hh.tbl is NULL) instead
 * of uthash's default, exit(-1): seen under RLIMIT_AS, when the exit
 * report's frame table grew (test_enomem). */
#pragma once

#include "core/bootstrap.h"

#define uthash_malloc(size) lp_real.malloc(size)
#define uthash_free(ptr, size) lp_real.free(ptr)
#define HASH_NONFATAL_OOM 1
#include <uthash.h>
