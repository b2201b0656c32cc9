/* fuzz_options.c - libFuzzer target for the shim's input parsers and the
 * pieces of its output path that take user text.
 *
 * Compiled by run_fuzz.py together with src/options.c, src/output.c,
 * src/linewriter.c and src/log.c under -fsanitize=fuzzer,address,undefined.
 *
 * The first input byte picks a target (or LP_FUZZ_TARGET does); the rest
 * is its text (and, for some targets, a few parameter bytes first).  Each target checks properties
 * against an independent oracle written here from the documentation
 * (docs/options.md), not just "no crash":
 *   bool, format   case-insensitive words; *out untouched on failure
 *   uint, size     digits only, no sign, no overflow, within [min, max],
 *                  K/M/G (kb, kib...) suffixes as shifts; the value agrees
 *                  with the oracle, and printing it back round-trips
 *   signal         names (optionally "sig"-prefixed), RTMIN, numbers; the
 *                  result is a signal a program can install a handler for
 *   triple         three comma-separated numbers within max (if present)
 *   expand         %p %n %% expanded, other % kept and flagged; the result
 *                  is exactly the oracle's when it fits in cap (with its
 *                  NUL), false otherwise, and nothing is written past cap
 *   fmt            lp_fmt agrees with snprintf for %s %d %u %x %ld %lld
 *                  %zu %p with flags and widths, truncation included
 *   json           lp_lw_json_string's output is a JSON string in valid
 *                  UTF-8 that decodes back to the input (bytes that are
 *                  not UTF-8 as \udcXX, Python's surrogateescape)
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/linewriter.h"
#include "core/options.h"
#include "report/output.h"

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "property violated: %s\n  ", #cond);   \
			fprintf(stderr, __VA_ARGS__);                          \
			fprintf(stderr, "\n");                                 \
			abort();                                               \
		}                                                              \
	} while (0)

struct input {
	const unsigned char *p;
	size_t n;
};

static uint64_t
take(struct input *in, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++) {
		v = v << 8;
		if (in->n) {
			v |= *in->p++;
			in->n--;
		}
	}
	return v;
}

/* The rest of the input as a NUL-terminated string (cut at a NUL). */
static char *
rest(struct input *in, size_t max)
{
	size_t n = in->n < max ? in->n : max;
	char *s = malloc(n + 1);
	memcpy(s, in->p, n);
	s[n] = 0;
	return s;
}

/* --- oracles -------------------------------------------------------------- */

static bool
oracle_digits(const char *s, const char **end, uint64_t *v)
{
	uint64_t x = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return false;
	bool overflow = false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (__builtin_mul_overflow(x, 10, &x) ||
		    __builtin_add_overflow(x, (uint64_t)(*p - '0'), &x))
			overflow = true;
	}
	*end = p;
	*v = x;
	return !overflow;
}

static const char *
strip_zeros(const char *s)
{
	while (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		s++;
	return s;
}

static void
target_bool(struct input *in)
{
	char *s = rest(in, 64);
	static const char *yes[] = { "1", "yes", "true", "on" };
	static const char *no[] = { "0", "no", "false", "off" };
	int want = -1;
	for (int i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i]))
			want = 1;
		if (!strcasecmp(s, no[i]))
			want = 0;
	}
	for (int start = 0; start < 2; start++) {
		bool b = start;
		bool ok = lp_parse_bool(s, &b);
		CHECK(ok == (want >= 0), "lp_parse_bool(\"%s\") = %d", s, ok);
		CHECK(ok ? b == (want == 1) : b == start, "lp_parse_bool(\"%s\") -> %d", s, b);
	}
	free(s);
}

static void
target_format(struct input *in)
{
	char *s = rest(in, 64);
	int want = !strcasecmp(s, "text") ? LP_FORMAT_TEXT : !strcasecmp(s, "json") ? LP_FORMAT_JSON : -1;
	uint64_t out = 77;
	bool ok = lp_parse_format(s, &out);
	CHECK(ok == (want >= 0), "lp_parse_format(\"%s\") = %d", s, ok);
	CHECK(ok ? out == (uint64_t)want : out == 77, "lp_parse_format(\"%s\") -> %llu", s,
	      (unsigned long long)out);
	free(s);
}

static void
target_uint(struct input *in)
{
	uint64_t min = take(in, 8), max = take(in, 8);
	if (in->n && in->p[0] & 1) /* often: a small, ordered range */
		min %= 1000, max = min + max % 100000;
	char *s = rest(in, 64);
	const char *end;
	uint64_t v = 0;
	bool digits = oracle_digits(s, &end, &v);
	bool want = digits && *end == 0 && v >= min && v <= max;
	uint64_t out = 0xdeadbeefcafef00dull;
	bool ok = lp_parse_uint(s, min, max, &out);
	CHECK(ok == want, "lp_parse_uint(\"%s\", %llu, %llu) = %d", s, (unsigned long long)min,
	      (unsigned long long)max, ok);
	if (ok) {
		CHECK(out == v, "lp_parse_uint(\"%s\") -> %llu", s, (unsigned long long)out);
		char back[32];
		snprintf(back, sizeof(back), "%llu", (unsigned long long)out);
		CHECK(!strcmp(back, strip_zeros(s)), "round trip \"%s\" -> %s", s, back);
	} else {
		CHECK(out == 0xdeadbeefcafef00dull, "out written on failure (\"%s\")", s);
	}
	/* Number -> text -> number. */
	char text[32];
	snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
	ok = lp_parse_uint(text, min, max, &out);
	CHECK(ok == (v >= min && v <= max), "lp_parse_uint(\"%s\", %llu, %llu) = %d", text,
	      (unsigned long long)min, (unsigned long long)max, ok);
	CHECK(!ok || out == v, "round trip %s -> %llu", text, (unsigned long long)out);
	free(s);
}

static const struct { const char *suffix; unsigned shift; } units[] = {
	{ "", 0 }, { "b", 0 }, { "k", 10 }, { "kb", 10 }, { "kib", 10 },
	{ "m", 20 }, { "mb", 20 }, { "mib", 20 }, { "g", 30 }, { "gb", 30 }, { "gib", 30 },
};

static void
target_size(struct input *in)
{
	uint64_t min = take(in, 8) % 4096, max = take(in, 8);
	unsigned pick = (unsigned)take(in, 1);
	char *s = rest(in, 64);
	const char *end;
	uint64_t v = 0;
	bool want = false;
	uint64_t wantv = 0;
	if (oracle_digits(s, &end, &v)) {
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strcasecmp(end, units[i].suffix))
				continue;
			unsigned sh = units[i].shift;
			if (sh && v > (UINT64_MAX >> sh))
				break;
			wantv = v << sh;
			want = wantv >= min && wantv <= max;
			break;
		}
	}
	uint64_t out = 0xdeadbeefcafef00dull;
	bool ok = lp_parse_size(s, min, max, &out);
	CHECK(ok == want, "lp_parse_size(\"%s\", %llu, %llu) = %d", s, (unsigned long long)min,
	      (unsigned long long)max, ok);
	CHECK(ok ? out == wantv : out == 0xdeadbeefcafef00dull, "lp_parse_size(\"%s\") -> %llu",
	      s, (unsigned long long)out);
	/* Number + suffix (random case) -> value. */
	const char *suf = units[pick % 11].suffix;
	unsigned sh = units[pick % 11].shift;
	char text[48];
	int n = snprintf(text, sizeof(text), "%llu%s", (unsigned long long)(v >> 34), suf);
	for (int i = 0; i < n; i++)
		if ((pick >> (i % 8)) & 1 && text[i] >= 'a' && text[i] <= 'z')
			text[i] -= 32;
	uint64_t expect = (v >> 34) << sh;
	ok = lp_parse_size(text, 0, UINT64_MAX, &out);
	CHECK(ok && out == expect, "lp_parse_size(\"%s\") = %d -> %llu, expected %llu", text, ok,
	      (unsigned long long)out, (unsigned long long)expect);
	free(s);
}

static void
target_signal(struct input *in)
{
	static const struct { const char *name; int sig; } names[] = {
		{ "none", 0 }, { "usr1", SIGUSR1 }, { "usr2", SIGUSR2 }, { "hup", SIGHUP },
		{ "pwr", SIGPWR }, { "urg", SIGURG }, { "winch", SIGWINCH }, { "prof", SIGPROF },
		{ "io", SIGIO },
	};
	char *s = rest(in, 64);
	const char *t = s;
	if (strncasecmp(t, "sig", 3) == 0 && t[3])
		t += 3;
	int want = -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(t, names[i].name))
			want = names[i].sig;
	if (!strcasecmp(t, "rtmin"))
		want = SIGRTMIN;
	const char *end;
	uint64_t v;
	if (want < 0 && oracle_digits(t, &end, &v) && !*end && v >= 1 && v <= (uint64_t)SIGRTMAX &&
	    v != SIGKILL && v != SIGSTOP && v != SIGSEGV && v != SIGBUS && v != SIGFPE &&
	    v != SIGILL && v != SIGABRT && (v < 32 || v >= (uint64_t)SIGRTMIN))
		want = (int)v; /* glibc keeps 32 .. SIGRTMIN-1 for itself */
	int out = -12345;
	bool ok = lp_parse_signal(s, &out);
	CHECK(!ok || want >= 0 || out == 0 || sigaction(out, NULL, NULL) == 0,
	      "lp_parse_signal(\"%s\") accepts signal %d, which sigaction refuses (%s): "
	      "glibc keeps it for itself", s, out, strerror(errno));
	CHECK(ok == (want >= 0), "lp_parse_signal(\"%s\") = %d, expected %d", s, ok, want >= 0);
	CHECK(ok ? out == want : out == -12345, "lp_parse_signal(\"%s\") -> %d", s, out);
	if (ok && out != 0) {
		/* A signal the shim can take over: glibc lets a program set a
		 * handler for it (it refuses its internal 32 and 33). */
		struct sigaction old;
		CHECK(sigaction(out, NULL, &old) == 0,
		      "lp_parse_signal(\"%s\") accepts signal %d, which sigaction refuses (%s)", s,
		      out, strerror(errno));
	}
	free(s);
}

#ifdef HAVE_TRIPLE
static void
target_triple(struct input *in)
{
	uint64_t max = take(in, 4);
	char *s = rest(in, 96);
	struct lp_triple t = { { 1, 2, 3 } }, want;
	const char *p = s, *end;
	bool ok_want = true;
	for (int i = 0; i < 3 && ok_want; i++) {
		if (!oracle_digits(p, &end, &want.v[i]) || want.v[i] > max)
			ok_want = false;
		else if (i < 2 && *end != ',')
			ok_want = false;
		else if (i == 2 && *end)
			ok_want = false;
		else
			p = end + 1;
	}
	bool ok = lp_parse_triple(s, max, &t);
	CHECK(ok == ok_want, "lp_parse_triple(\"%s\", %llu) = %d", s, (unsigned long long)max, ok);
	if (ok)
		CHECK(!memcmp(&t, &want, sizeof(t)), "lp_parse_triple(\"%s\") values", s);
	else
		CHECK(t.v[0] == 1 && t.v[1] == 2 && t.v[2] == 3, "out written on failure (\"%s\")", s);
	free(s);
}
#endif

static size_t
oracle_expand(char *dst, const char *pat, int pid, unsigned seq, bool *unknown)
{
	size_t n = 0;
	*unknown = false;
	for (const char *p = pat; *p; p++) {
		if (*p != '%') {
			dst[n++] = *p;
		} else if (p[1] == 'p') {
			n += (size_t)sprintf(dst + n, "%d", pid);
			p++;
		} else if (p[1] == 'n') {
			n += (size_t)sprintf(dst + n, "%u", seq);
			p++;
		} else if (p[1] == '%') {
			dst[n++] = '%';
			p++;
		} else {
			dst[n++] = '%';
			*unknown = true;
		}
	}
	dst[n] = 0;
	return n;
}

static void
target_expand(struct input *in)
{
	size_t cap = (size_t)take(in, 2) % 600;
	int pid = (int)take(in, 4);
	unsigned seq = (unsigned)take(in, 4);
	char *pat = rest(in, 400);
	char *want = malloc(strlen(pat) * 12 + 16);
	bool want_unknown;
	size_t len = oracle_expand(want, pat, pid, seq, &want_unknown);

	/* Exactly cap bytes, so ASan sees any write past them. */
	char *dst = malloc(cap ? cap : 1);
	char *dst_exact = cap ? dst : NULL;
	bool unknown = !want_unknown;
	bool ok = lp_output_expand(cap ? dst_exact : dst, cap, pat, pid, seq, &unknown);
	bool fits = len > 0 && len + 1 <= cap;
	CHECK(ok == fits, "lp_output_expand(\"%s\", cap %zu) = %d, expansion is %zu chars", pat,
	      cap, ok, len);
	if (ok) {
		CHECK(!strcmp(dst, want), "lp_output_expand(\"%s\") = \"%s\", expected \"%s\"", pat,
		      dst, want);
		CHECK(unknown == want_unknown, "unknown escape flag %d for \"%s\"", unknown, pat);
	}
	free(dst);
	free(want);
	free(pat);
}

/* A cap of 0 must not be written to either (nothing fits). */
static void
target_expand_zero(struct input *in)
{
	char *pat = rest(in, 64);
	char *dst = malloc(1);
	bool unknown;
	dst[0] = 'X';
	bool ok = lp_output_expand(dst, 0, pat, 1, 1, &unknown);
	CHECK(!ok, "lp_output_expand(\"%s\", cap 0) = true", pat);
	CHECK(dst[0] == 'X', "lp_output_expand(\"%s\", cap 0) wrote dst[0]", pat);
	free(dst);
	free(pat);
}

static void
target_fmt(struct input *in)
{
	static const char *fmts[] = {
		"%s", "%d", "%u", "%x", "%ld", "%lld", "%zu", "%lu", "%llx", "%p",
		"%8s", "%-8s|", "%.3s", "%05d", "%-6d|", "%016lx", "%3c", "%%%d%%",
		"a%sb%dc", "%12lld", "%-20s|%s",
	};
	unsigned which = (unsigned)take(in, 1) % (sizeof(fmts) / sizeof(fmts[0]));
	size_t cap = (size_t)take(in, 1) % 80;
	uint64_t v = take(in, 8);
	char *s = rest(in, 200);
	const char *f = fmts[which];
	char want[4096], got_buf[128];
	char *got = cap ? malloc(cap) : got_buf;
	size_t n;
	int wn;
#define BOTH(...)                                                              \
	do {                                                                   \
		wn = snprintf(want, sizeof(want), __VA_ARGS__);                \
		n = lp_fmt(got, cap, __VA_ARGS__);                             \
	} while (0)
	switch (which) {
	case 0: case 10: case 11: case 12: BOTH(f, s); break;
	case 1: case 13: case 14: BOTH(f, (int)v); break;
	case 2: BOTH(f, (unsigned)v); break;
	case 3: BOTH(f, (unsigned)v); break;
	case 4: BOTH(f, (long)v); break;
	case 5: case 19: BOTH(f, (long long)v); break;
	case 6: BOTH(f, (size_t)v); break;
	case 7: BOTH(f, (unsigned long)v); break;
	case 8: BOTH(f, (unsigned long long)v); break;
	case 9: BOTH(f, (void *)(uintptr_t)(v | 1)); break;
	case 15: BOTH(f, (unsigned long)v); break;
	case 16: BOTH(f, (int)(v % 95 + 32)); break;
	case 17: BOTH(f, (int)v); break;
	case 18: BOTH(f, s, (int)v); break;
	case 20: BOTH(f, s, s); break;
	default: n = 0; wn = 0; break;
	}
#undef BOTH
	if (cap) {
		size_t expect = (size_t)wn < cap ? (size_t)wn : cap - 1;
		CHECK(n == expect && !memcmp(got, want, expect) && got[expect] == 0,
		      "lp_fmt(cap %zu, \"%s\") = \"%.*s\" (%zu), snprintf \"%s\"", cap, f, (int)n,
		      got, n, want);
		free(got);
	} else {
		CHECK(n == 0, "lp_fmt(cap 0) returned %zu", n);
	}
	free(s);
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF), 0 if there is none. */
static size_t
utf8_len(const unsigned char *p, size_t avail)
{
	unsigned c = p[0];
	size_t n;
	unsigned cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Decode a JSON string literal, bytes that are not UTF-8 having been
 * written as \udc80-\udcff (Python's surrogateescape); returns the length,
 * or -1 if the literal is not valid JSON in valid UTF-8. */
static long
json_decode(const char *j, size_t len, char *out)
{
	size_t i = 0, n = 0;
	if (len < 2 || j[0] != '"' || j[len - 1] != '"')
		return -1;
	for (i = 1; i < len - 1; i++) {
		unsigned char c = (unsigned char)j[i];
		if (c < 0x20 || c == '"')
			return -1; /* must be escaped */
		if (c >= 0x80) {
			size_t k = utf8_len((const unsigned char *)j + i, len - 1 - i);
			if (!k)
				return -1; /* the document would not be UTF-8 */
			memcpy(out + n, j + i, k);
			n += k;
			i += k - 1;
			continue;
		}
		if (c != '\\') {
			out[n++] = (char)c;
			continue;
		}
		if (++i >= len - 1)
			return -1;
		switch (j[i]) {
		case '"': out[n++] = '"'; break;
		case '\\': out[n++] = '\\'; break;
		case '/': out[n++] = '/'; break;
		case 'n': out[n++] = '\n'; break;
		case 't': out[n++] = '\t'; break;
		case 'r': out[n++] = '\r'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'u': {
			unsigned v = 0;
			if (i + 4 >= len - 1)
				return -1;
			for (int k = 1; k <= 4; k++) {
				char h = j[i + k];
				v = v * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0'
						      : h >= 'a' && h <= 'f' ? h - 'a' + 10
						      : h >= 'A' && h <= 'F' ? h - 'A' + 10 : 99);
			}
			if (v <= 0x7f)
				out[n++] = (char)v;
			else if (v >= 0xdc80 && v <= 0xdcff)
				out[n++] = (char)(v - 0xdc00); /* surrogateescape */
			else
				return -1;
			i += 4;
			break;
		}
		default:
			return -1;
		}
	}
	return (long)n;
}

static void
target_json(struct input *in)
{
	static struct lp_lw lw; /* 16 KiB: input <= 2000 bytes never flushes */
	char *s = rest(in, 2000);
	size_t len = strlen(s);
	lp_lw_init(&lw, -1);
	lp_lw_json_string(&lw, s);
	char *back = malloc(lw.len + 1); /* decoding never grows */
	long n = json_decode(lw.buf, lw.len, back);
	CHECK(n >= 0, "lp_lw_json_string output is not a JSON string: %.*s", (int)lw.len, lw.buf);
	CHECK((size_t)n == len && !memcmp(back, s, len), "JSON round trip changed \"%s\"", s);
	free(back);
	free(s);
}

/* LP_FUZZ_TARGET=N: fuzz target N only (the first byte is then ignored),
 * so one broken property does not hide the others. */
static int only = -1;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *t = getenv("LP_FUZZ_TARGET");
	if (t)
		only = atoi(t);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	if (!size)
		return 0;
	unsigned which = (unsigned)take(&in, 1);
	if (only >= 0)
		which = (unsigned)only;
	switch (which % 11) {
	case 0: target_bool(&in); break;
	case 1: target_format(&in); break;
	case 2: target_uint(&in); break;
	case 3: target_size(&in); break;
	case 4: target_signal(&in); break;
	case 5:
#ifdef HAVE_TRIPLE
		target_triple(&in);
#endif
		break;
	case 6: target_expand(&in); break;
	case 7: target_expand_zero(&in); break;
	case 8: target_fmt(&in); break;
	case 9: target_json(&in); break;
	case 10: target_expand(&in); break;
	}
	return 0;
}
