/* SPDX-License-Identifier: MIT */
/*
 * strpool.h - one copy of each distinct string, kept for the life of the
 * process: module paths and the names of frames, which every report
 * after the first reuses (file names repeat in every frame).  Memory from
 * the real allocator (callers hold the guard); never freed, bounded by the
 * distinct strings.
 */
#pragma once

#include "core/base.h"

/* The pooled copy of s[0..n) (NUL-terminated), NULL when memory ran out
 * (or s is NULL). */
const char *lp_intern(const char *s, size_t n) LP_HIDDEN;
