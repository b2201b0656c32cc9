/* SPDX-License-Identifier: MIT */
/* hash.h - uthash, its tables in the shim's own memory (lp_real). */
#pragma once

#include "core/bootstrap.h"

#define uthash_malloc(size) lp_real.malloc(size)
#define uthash_free(ptr, size) lp_real.free(ptr)
#include <uthash.h>
