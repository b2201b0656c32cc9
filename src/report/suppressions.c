/* SPDX-License-Identifier: MIT */
/* suppressions.c - see suppressions.h. */
#include "report/suppressions.h"

#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/strpool.h"
#include "core/syscall.h"
#include "core/warn.h"
#include "report/symbolize.h"

/* What glibc and the dynamic loader allocate once and keep for the life
 * of the process (valgrind's default suppressions hide the same). */
static const char *const builtin[] = {
	"_dl_allocate_tls",          /* threads' static TLS and DTV */
	"_dl_resize_dtv",
	"__tls_get_addr",            /* dynamic TLS blocks */
	"_dl_find_object_update",    /* dlopen's object table */
	"_dl_new_object",            /* link maps of dlopened modules */
	"_dl_map_object",
	"_dl_check_map_versions",
	"__libc_setlocale",
	"_nl_find_locale",
};

static struct lp_suppression table[LP_SUPPRESSIONS_MAX];
static size_t ntable;

static void
add(const char *pattern, size_t len, bool cycle, bool is_builtin)
{
	if (ntable == LP_SUPPRESSIONS_MAX)
		return;
	const char *p = lp_intern(pattern, len);
	if (p)
		table[ntable++] = (struct lp_suppression){ p, cycle, is_builtin, 0, 0 };
}

static void
parse_line(const char *file, unsigned lineno, const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	if (!n || *s == '#')
		return;
	bool cycle = n > 6 && !memcmp(s, "cycle:", 6);
	size_t skip = cycle ? 6 : n > 5 && !memcmp(s, "leak:", 5) ? 5 : 0;
	if (!skip || skip == n) {
		char shown[201];
		size_t k = n < 200 ? n : 200;
		memcpy(shown, s, k);
		shown[k] = 0;
		lp_warn("%s:%u: not a suppression (leak:PATTERN or cycle:TYPE): \"%s\"; "
			"the line is ignored", file, lineno, shown);
		return;
	}
	if (ntable == LP_SUPPRESSIONS_MAX) {
		lp_warn("%s:%u: more than %d suppressions; the rest are ignored", file, lineno,
			LP_SUPPRESSIONS_MAX);
		return;
	}
	add(s + skip, n - skip, cycle, false);
}

static void
load_file(const char *path)
{
	char buf[4096], line[1024];
	size_t have = 0;
	unsigned lineno = 0;
	bool too_long = false;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		lp_warn("LEAKPROBE_SUPPRESSIONS: cannot read %s; its suppressions do not apply", path);
		return;
	}
	for (;;) {
		long got = syscall(SYS_read, fd, buf, sizeof(buf));
		for (long i = 0; i < got || (got <= 0 && have); i++) {
			char ch = i < got ? buf[i] : '\n';
			if (ch != '\n') {
				if (have < sizeof(line))
					line[have++] = ch;
				else
					too_long = true;
				continue;
			}
			lineno++;
			if (too_long)
				lp_warn("%s:%u: line longer than %zu bytes; ignored", path, lineno,
					sizeof(line));
			else
				parse_line(path, lineno, line, have);
			have = 0;
			too_long = false;
			if (got <= 0)
				break;
		}
		if (got <= 0)
			break;
	}
	lp_close(fd);
}

void
lp_suppressions_load(const char *files)
{
	for (size_t i = 0; i < LP_ARRAY_LENGTH(builtin); i++)
		add(builtin[i], strlen(builtin[i]), false, true);
	char path[4096];
	for (const char *p = files; p && *p;) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n && n < sizeof(path)) {
			memcpy(path, p, n);
			path[n] = 0;
			load_file(path);
		}
		p += n + (end ? 1 : 0);
	}
}

void
lp_suppressions_reset(void)
{
	for (size_t i = 0; i < ntable; i++)
		table[i].hits = table[i].bytes = 0;
}

/* "*" matches any run; "^" anchors at the start, "$" at the end;
 * otherwise the pattern may match anywhere (LeakSanitizer's rule). */
static bool
glob_at(const char *p, const char *s, bool anchored_end)
{
	for (; *p; p++, s++) {
		if (*p == '*') {
			while (p[1] == '*')
				p++;
			if (!p[1])
				return true;
			for (; *s; s++)
				if (glob_at(p + 1, s, anchored_end))
					return true;
			return glob_at(p + 1, s, anchored_end);
		}
		if (*p == '$' && !p[1])
			return !*s;
		if (*s != *p)
			return false;
	}
	return !anchored_end || !*s;
}

bool
lp_suppression_pattern_matches(const char *pattern, const char *name)
{
	if (!name || !*pattern)
		return false;
	size_t n = strlen(pattern);
	bool end = pattern[n - 1] == '$';
	if (pattern[0] == '^')
		return glob_at(pattern + 1, name, end);
	for (const char *s = name; *s; s++)
		if (glob_at(pattern, s, end))
			return true;
	return false;
}

static bool
frame_matches(const char *pattern, const struct lp_frame_name *f, const char *module)
{
	return lp_suppression_pattern_matches(pattern, f->function) ||
	       lp_suppression_pattern_matches(pattern, f->file) ||
	       lp_suppression_pattern_matches(pattern, module);
}

struct lp_suppression *
lp_suppressions_match_stack(uint32_t stack, uint64_t blocks, uint64_t bytes)
{
	const struct lp_stack *s = lp_stackdepot_get(stack);
	if (!s)
		return NULL;
	/* The user's first: they say why, the built-in ones are a fallback. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < ntable; k++) {
			struct lp_suppression *sup = &table[k];
			if (sup->cycle || sup->builtin != (pass == 1))
				continue;
			for (uint32_t i = 0; i < s->depth; i++) {
				struct lp_frame f;
				lp_symbolize_frame(s, i, &f);
				struct lp_frame_name outer = { f.function, f.file, f.line };
				bool hit = frame_matches(sup->pattern, &outer, f.module);
				for (uint32_t j = 0; !hit && j < f.ninlined; j++)
					hit = frame_matches(sup->pattern, &f.inlined[j], f.module);
				if (hit) {
					sup->hits += blocks;
					sup->bytes += bytes;
					return sup;
				}
			}
		}
	}
	return NULL;
}

struct lp_suppression *
lp_suppressions_match_type(const char *type)
{
	for (size_t k = 0; k < ntable; k++) {
		struct lp_suppression *sup = &table[k];
		if (sup->cycle && type && lp_suppression_pattern_matches(sup->pattern, type)) {
			sup->hits++;
			return sup;
		}
	}
	return NULL;
}

const struct lp_suppression *
lp_suppression_at(size_t i)
{
	return i < ntable ? &table[i] : NULL;
}
