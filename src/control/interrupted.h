/* SPDX-License-Identifier: MIT */
/*
 * interrupted.h - may a signal handler start a thread here?  pthread_create
 * takes two of glibc's locks; the handler may only call it when the code
 * it interrupted holds neither (interrupted.c says how that is told).
 */
#pragma once

#include <ucontext.h>

#include "core/base.h"

/* Start-up: learn where libc and the loader are, and which of their
 * functions hold no lock. */
void lp_interrupted_learn(void) LP_HIDDEN;
/* From a signal handler: the context it interrupted. */
bool lp_interrupted_where_safe(const ucontext_t *uc) LP_HIDDEN;
