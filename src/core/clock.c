/* SPDX-License-Identifier: MIT */
/* clock.c - see clock.h. */
#include "core/clock.h"

#include <errno.h>
#include <time.h>

uint64_t lp_start_ns;

uint64_t
lp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool
lp_sem_wait_ms(sem_t *sem, unsigned ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	while (sem_timedwait(sem, &until) != 0)
		if (errno != EINTR)
			return false;
	return true;
}
