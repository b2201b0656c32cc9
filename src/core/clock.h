/* SPDX-License-Identifier: MIT */
/* clock.h - time for ages, costs and waits. */
#pragma once

#include <semaphore.h>

#include "core/base.h"

/* Monotonic clock in nanoseconds. */
uint64_t lp_now_ns(void) LP_HIDDEN;
/* When start-up began (lp_now_ns). */
extern uint64_t lp_start_ns LP_HIDDEN;
/* Wait up to ms milliseconds for sem (EINTR retried): true when taken. */
bool lp_sem_wait_ms(sem_t *sem, unsigned ms) LP_HIDDEN;
