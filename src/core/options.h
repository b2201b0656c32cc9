/* SPDX-License-Identifier: MIT */
/* options.h - parsed LEAKPROBE_* options (see options.def). */
#pragma once

#include "core/base.h"

enum lp_format { LP_FORMAT_TEXT, LP_FORMAT_JSON };
/* LEAKPROBE_CLASSIFY: which reports say what is leaked. */
enum lp_classify_when { LP_CLASSIFY_NEVER, LP_CLASSIFY_EXIT, LP_CLASSIFY_ALL };
/* LEAKPROBE_LEAK_KINDS: bit k is enum lp_leak_kind k (reachability.h);
 * LP_KINDS_CYCLES is Python's unreachable groups. */
#define LP_KINDS_DEFINITE (1u << 0)
#define LP_KINDS_INDIRECT (1u << 1)
#define LP_KINDS_POSSIBLE (1u << 2)
#define LP_KINDS_CYCLES (1u << 4)

struct lp_triple {
	uint64_t v[3];
};

struct lp_options {
#define LP_OPTION(type, field, NAME, def, min, max, help) LP_OPT_FIELD_##type field;
#define LP_OPT_FIELD_bool bool
#define LP_OPT_FIELD_uint uint64_t
#define LP_OPT_FIELD_size uint64_t
#define LP_OPT_FIELD_format uint64_t
#define LP_OPT_FIELD_classify uint64_t
#define LP_OPT_FIELD_kinds uint64_t
#define LP_OPT_FIELD_signal int
#define LP_OPT_FIELD_string const char *
#define LP_OPT_FIELD_program const char *
#define LP_OPT_FIELD_triple struct lp_triple
#include "core/options.def"
#undef LP_OPTION
};

extern struct lp_options lp_opt LP_HIDDEN;

/* Read every option from the environment.  A bad value: one warning naming
 * the option and the accepted form; the default is used. */
void lp_options_load(void) LP_HIDDEN;
/* The options table as markdown, on fd. */
void lp_options_print_help(int fd) LP_HIDDEN;

/* Parsers, exposed for the unit tests and the fuzzer. */
bool lp_parse_bool(const char *s, bool *out) LP_HIDDEN;
bool lp_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out) LP_HIDDEN;
bool lp_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out) LP_HIDDEN;
bool lp_parse_signal(const char *s, int *out) LP_HIDDEN;
bool lp_parse_triple(const char *s, uint64_t max, struct lp_triple *out) LP_HIDDEN;
bool lp_parse_format(const char *s, uint64_t *out) LP_HIDDEN;
bool lp_parse_classify(const char *s, uint64_t *out) LP_HIDDEN;
bool lp_parse_kinds(const char *s, uint64_t *out) LP_HIDDEN;
