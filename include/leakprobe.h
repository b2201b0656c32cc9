/* SPDX-License-Identifier: MIT */
/**
 * @file leakprobe.h
 * @brief Public API of libleakprobe.so, the LD_PRELOAD leak diagnostic.
 *
 * A program that may run with or without the shim declares the API weak,
 * so it links and runs either way:
 *
 * @code
 * #define LEAKPROBE_WEAK_API
 * #include <leakprobe.h>
 * ...
 * if (leakprobe_report)              // NULL without the shim
 *         leakprobe_report("after warm-up");
 * @endcode
 *
 * Build such a program with -rdynamic or not at all: nothing to link.  The
 * header is valid C (C99 and later) and C++.
 */
#ifndef LEAKPROBE_H
#define LEAKPROBE_H

#ifdef __cplusplus
extern "C" {
#endif

#ifdef LEAKPROBE_WEAK_API
#define LEAKPROBE_API __attribute__((weak))
#else
#define LEAKPROBE_API
#endif

/**
 * Write a report now, to LEAKPROBE_OUTPUT in LEAKPROBE_FORMAT, with reason
 * "api".  @p label (may be NULL) is shown in the header and as "label" in
 * JSON.  Returns 0 when a report was written, -1 when the shim is not
 * tracking this process (inert under the launcher, or failed to start).
 */
LEAKPROBE_API int leakprobe_report(const char *label);

/**
 * As leakprobe_report(), and the same report also as JSON in the file
 * @p json_path (written atomically, mode 0600), for a tool that reads it
 * back (the leakprobe Python module).  @p flags: LEAKPROBE_REPORT_CLASSIFY
 * gives this report a leak verdict whatever LEAKPROBE_CLASSIFY says;
 * LEAKPROBE_REPORT_UNNAMED asks the symbolizer for no frame (names known
 * from earlier reports are still used; the rest are module+offset: cheap,
 * for reports compared with each other); LEAKPROBE_REPORT_JSON_ONLY
 * writes the JSON copy alone; LEAKPROBE_REPORT_LEAKS_ONLY lists only the
 * lost sites in it when it has a verdict ("sites_listed": "lost").  Returns 0 when the JSON copy was written,
 * -1 when the shim is not tracking, 1 when the copy could not be.
 */
#define LEAKPROBE_REPORT_CLASSIFY 1u
#define LEAKPROBE_REPORT_UNNAMED 2u
#define LEAKPROBE_REPORT_JSON_ONLY 4u
#define LEAKPROBE_REPORT_LEAKS_ONLY 8u
LEAKPROBE_API int leakprobe_report_json(const char *label, const char *json_path,
					unsigned flags);

/** 1 when the shim tracks this process (reports can be had), else 0. */
LEAKPROBE_API int leakprobe_active(void);

/**
 * Run the cycle detector over generations 0..@p generation of the object
 * model (objects created or tracked through the interposed CPython-style
 * object API), like gc.collect(generation): what it examined moves to the
 * next generation; nothing is ever freed.  Call it where no other thread
 * mutates objects (CPython: with the GIL held).  Returns the number of
 * unreachable objects found, -1 when the shim is not tracking.
 */
LEAKPROBE_API long leakprobe_collect(int generation);

#ifdef __cplusplus
}
#endif

#endif /* LEAKPROBE_H */
