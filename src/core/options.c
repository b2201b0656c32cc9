/* SPDX-License-Identifier: MIT */
/* options.c - parse the LEAKPROBE_* environment (table in options.def). */
#include "core/options.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/linewriter.h"
#include "core/warn.h"

struct lp_options lp_opt;

/* Strings are copied, each into its own buffer: the program may setenv()
 * over the original later. */
#define LP_OPT_COPY_bool 1
#define LP_OPT_COPY_uint 1
#define LP_OPT_COPY_size 1
#define LP_OPT_COPY_format 1
#define LP_OPT_COPY_classify 1
#define LP_OPT_COPY_kinds 1
#define LP_OPT_COPY_signal 1
#define LP_OPT_COPY_triple 1
#define LP_OPT_COPY_string 4096
#define LP_OPT_COPY_program 4096
#define LP_OPTION(type, field, NAME, def, min, max, help) \
	static char copy_##field[LP_OPT_COPY_##type];
#include "core/options.def"
#undef LP_OPTION

static const char *
trim_eq(const char *a, const char *b)
{
	/* Case-insensitive equality; returns a when equal. */
	size_t i = 0;
	for (; a[i] && b[i]; i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x += 32;
		if (y >= 'A' && y <= 'Z')
			y += 32;
		if (x != y)
			return NULL;
	}
	return a[i] == b[i] ? a : NULL;
}

bool
lp_parse_bool(const char *s, bool *out)
{
	static const char *yes[] = { "1", "yes", "true", "on" };
	static const char *no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < LP_ARRAY_LENGTH(yes); i++) {
		if (trim_eq(s, yes[i])) {
			*out = true;
			return true;
		}
		if (trim_eq(s, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Digits only, no sign, no overflow; returns the end of the digits. */
static const char *
parse_digits(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return NULL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return NULL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return p;
}

bool
lp_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	const char *end = parse_digits(s, &v);

	if (!end || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool
lp_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	static const struct { const char *suffix; unsigned shift; } units[] = {
		{ "", 0 }, { "b", 0 },
		{ "k", 10 }, { "kb", 10 }, { "kib", 10 },
		{ "m", 20 }, { "mb", 20 }, { "mib", 20 },
		{ "g", 30 }, { "gb", 30 }, { "gib", 30 },
	};
	uint64_t v;
	const char *end = parse_digits(s, &v);

	if (!end)
		return false;
	for (size_t i = 0; i < LP_ARRAY_LENGTH(units); i++) {
		if (!trim_eq(end, units[i].suffix))
			continue;
		if (v > (UINT64_MAX >> units[i].shift))
			return false;
		v <<= units[i].shift;
		if (v < min || v > max)
			return false;
		*out = v;
		return true;
	}
	return false;
}

bool
lp_parse_triple(const char *s, uint64_t max, struct lp_triple *out)
{
	struct lp_triple t;
	const char *p = s;

	for (int i = 0; i < 3; i++) {
		const char *end = parse_digits(p, &t.v[i]);
		if (!end || t.v[i] > max)
			return false;
		if (i < 2 && *end != ',')
			return false;
		p = end + (i < 2);
		if (i == 2 && *end)
			return false;
	}
	*out = t;
	return true;
}

bool
lp_parse_format(const char *s, uint64_t *out)
{
	if (trim_eq(s, "text"))
		*out = LP_FORMAT_TEXT;
	else if (trim_eq(s, "json"))
		*out = LP_FORMAT_JSON;
	else
		return false;
	return true;
}

bool
lp_parse_classify(const char *s, uint64_t *out)
{
	if (trim_eq(s, "0") || trim_eq(s, "never"))
		*out = LP_CLASSIFY_NEVER;
	else if (trim_eq(s, "exit"))
		*out = LP_CLASSIFY_EXIT;
	else if (trim_eq(s, "1") || trim_eq(s, "all"))
		*out = LP_CLASSIFY_ALL;
	else
		return false;
	return true;
}

/* "definite,indirect": a comma-separated list, each name once or more. */
bool
lp_parse_kinds(const char *s, uint64_t *out)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{ "definite", LP_KINDS_DEFINITE }, { "indirect", LP_KINDS_INDIRECT },
		{ "possible", LP_KINDS_POSSIBLE }, { "cycles", LP_KINDS_CYCLES },
	};
	uint64_t bits = 0;
	char word[16];
	while (*s) {
		size_t n = 0;
		while (*s == ' ')
			s++;
		while (*s && *s != ',' && *s != ' ' && n < sizeof(word) - 1)
			word[n++] = *s++;
		word[n] = 0;
		while (*s == ' ')
			s++;
		if (*s && *s != ',')
			return false;
		if (*s == ',')
			s++;
		size_t i = 0;
		while (i < LP_ARRAY_LENGTH(names) && strcmp(word, names[i].name))
			i++;
		if (i == LP_ARRAY_LENGTH(names))
			return false;
		bits |= names[i].bit;
	}
	if (!bits)
		return false;
	*out = bits;
	return true;
}

bool
lp_parse_signal(const char *s, int *out)
{
	static const struct { const char *name; int sig; } names[] = {
		{ "none", 0 },	     { "usr1", SIGUSR1 }, { "usr2", SIGUSR2 },
		{ "hup", SIGHUP },   { "pwr", SIGPWR },	  { "urg", SIGURG },
		{ "winch", SIGWINCH }, { "prof", SIGPROF }, { "io", SIGIO },
	};
	uint64_t v;

	if ((s[0] == 's' || s[0] == 'S') && (s[1] == 'i' || s[1] == 'I') &&
	    (s[2] == 'g' || s[2] == 'G') && s[3])
		s += 3;
	for (size_t i = 0; i < LP_ARRAY_LENGTH(names); i++) {
		if (trim_eq(s, names[i].name)) {
			*out = names[i].sig;
			return true;
		}
	}
	if (trim_eq(s, "rtmin")) {
		*out = SIGRTMIN;
		return true;
	}
	if (!lp_parse_uint(s, 1, (uint64_t)SIGRTMAX, &v))
		return false;
	/* Signals that cannot be caught, or that mean a crash, are refused. */
	if (v == SIGKILL || v == SIGSTOP || v == SIGSEGV || v == SIGBUS ||
	    v == SIGFPE || v == SIGILL || v == SIGABRT)
		return false;
	/* 32 .. SIGRTMIN-1 belong to glibc (thread cancellation, setxid). */
	if (v >= 32 && v < (uint64_t)SIGRTMIN)
		return false;
	*out = (int)v;
	return true;
}

/* --- the table ---------------------------------------------------------- */

enum kind { K_bool, K_uint, K_size, K_format, K_classify, K_kinds, K_signal, K_string,
	    K_program, K_triple };

static const struct option_desc {
	enum kind kind;
	const char *name;
	const char *def;
	uint64_t min, max;
	const char *help;
	const char *accepted;
	void *field;
	char *copy;
	size_t copy_size;
} table[] = {
#define LP_OPTION(type, field_, NAME, def_, min_, max_, help_)                 \
	{ K_##type, "LEAKPROBE_" #NAME, def_, min_, max_, help_, NULL,        \
	  &lp_opt.field_, copy_##field_, sizeof(copy_##field_) },
#include "core/options.def"
#undef LP_OPTION
};

static const char *
accepted_form(const struct option_desc *o, char *buf, size_t cap)
{
	switch (o->kind) {
	case K_bool: return "0 or 1 (also yes/no, true/false, on/off)";
	case K_uint:
		lp_fmt(buf, cap, "a whole number from %llu to %llu",
		       (unsigned long long)o->min, (unsigned long long)o->max);
		return buf;
	case K_size: return "a size in bytes with an optional K, M or G suffix, at least 1";
	case K_format: return "text or json";
	case K_classify: return "exit, 1 (or all), 0 (or never)";
	case K_kinds: return "a comma-separated list of definite, indirect, possible, cycles";
	case K_signal: return "none, USR1, USR2, HUP, PWR, URG, WINCH, PROF, IO, RTMIN or a catchable signal number";
	case K_string: return "a path pattern";
	case K_program: return "a path to a program, or none";
	case K_triple:
		lp_fmt(buf, cap, "three whole numbers 0 to %llu, comma-separated",
		       (unsigned long long)o->max);
		return buf;
	}
	return "";
}

static bool
parse_into(const struct option_desc *o, const char *s)
{
	switch (o->kind) {
	case K_bool: return lp_parse_bool(s, o->field);
	case K_uint: return lp_parse_uint(s, o->min, o->max, o->field);
	case K_size: return lp_parse_size(s, o->min, o->max, o->field);
	case K_format: return lp_parse_format(s, o->field);
	case K_classify: return lp_parse_classify(s, o->field);
	case K_kinds: return lp_parse_kinds(s, o->field);
	case K_signal: return lp_parse_signal(s, o->field);
	case K_triple: return lp_parse_triple(s, o->max, o->field);
	case K_string:
	case K_program: {
		size_t n = strlen(s);
		if (n >= o->copy_size)
			return false;
		memcpy(o->copy, s, n + 1);
		*(const char **)o->field = o->copy;
		return true;
	}
	}
	return false;
}

void
lp_options_load(void)
{
	for (size_t i = 0; i < LP_ARRAY_LENGTH(table); i++) {
		const struct option_desc *o = &table[i];
		const char *v = getenv(o->name);
		char buf[128];

		if (!parse_into(o, o->def))
			lp_die("bad default in options.def");
		if (!v)
			continue;
		if (!parse_into(o, v)) {
			lp_warn("%s=\"%.200s\" is not valid: expected %s; using the default (%s)",
				o->name, v, accepted_form(o, buf, sizeof(buf)),
				o->def[0] ? o->def : "empty");
			parse_into(o, o->def);
		}
	}
}

void
lp_options_print_help(int fd)
{
	struct lp_lw lw;
	char buf[128];

	lp_lw_init(&lw, fd);
	lp_lw_puts(&lw, "| option | default | accepted | meaning |\n");
	lp_lw_puts(&lw, "| --- | --- | --- | --- |\n");
	for (size_t i = 0; i < LP_ARRAY_LENGTH(table); i++) {
		const struct option_desc *o = &table[i];
		lp_lw_printf(&lw, "| `%s` | %s%s%s | %s | %s |\n", o->name,
			     o->def[0] ? "`" : "", o->def[0] ? o->def : "(empty)",
			     o->def[0] ? "`" : "", accepted_form(o, buf, sizeof(buf)),
			     o->help);
	}
	lp_lw_flush(&lw);
}
