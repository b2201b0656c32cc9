/* unit.h - a tiny harness for the shim's unit tests: CHECK records a
 * failure with its location and goes on; main() ends with UNIT_DONE(),
 * which prints "N passed, N failed" and sets the exit code. */
#pragma once

#include <stdio.h>

static int unit_passed, unit_failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (cond) {                                                    \
			unit_passed++;                                         \
		} else {                                                       \
			unit_failed++;                                         \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
				__LINE__, #cond);                              \
		}                                                              \
	} while (0)

#define UNIT_DONE()                                                            \
	do {                                                                   \
		printf("%d passed, %d failed\n", unit_passed, unit_failed);    \
		return unit_failed ? 1 : 0;                                    \
	} while (0)
