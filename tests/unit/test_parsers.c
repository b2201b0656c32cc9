/* test_parsers.c - option parsers, path expansion and the formatter, each
 * against an independent oracle (strtoull, snprintf) or stated cases. */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/linewriter.h"
#include "core/options.h"
#include "report/suppressions.h"
#include "report/output.h"
#include "unit.h"

static void
check_fmt(const char *fmt, ...)
{
	char mine[256], libc[256];
	va_list a, b;
	va_start(a, fmt);
	va_copy(b, a);
	lp_vfmt(mine, sizeof(mine), fmt, a);
	vsnprintf(libc, sizeof(libc), fmt, b);
	va_end(a);
	va_end(b);
	if (strcmp(mine, libc))
		fprintf(stderr, "format \"%s\": mine \"%s\", libc \"%s\"\n", fmt, mine, libc);
	CHECK(!strcmp(mine, libc));
}

int
main(void)
{
	uint64_t v;
	bool b;
	int sig;
	struct lp_triple t;

	/* uint: digits only, in range, no overflow (oracle: strtoull). */
	const char *nums[] = { "0", "1", "64", "256", "18446744073709551615",
			       "007", "999999" };
	for (size_t i = 0; i < sizeof(nums) / sizeof(*nums); i++) {
		CHECK(lp_parse_uint(nums[i], 0, UINT64_MAX, &v));
		CHECK(v == strtoull(nums[i], NULL, 10));
	}
	const char *bad[] = { "", "-1", " 1", "1 ", "1x", "0x10", "+3",
			      "18446744073709551616", "99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		CHECK(!lp_parse_uint(bad[i], 0, UINT64_MAX, &v));
	CHECK(!lp_parse_uint("257", 0, 256, &v));
	CHECK(lp_parse_uint("256", 0, 256, &v) && v == 256);

	/* sizes */
	CHECK(lp_parse_size("1M", 1, UINT64_MAX, &v) && v == 1u << 20);
	CHECK(lp_parse_size("4kib", 1, UINT64_MAX, &v) && v == 4096);
	CHECK(lp_parse_size("2G", 1, UINT64_MAX, &v) && v == 2ull << 30);
	CHECK(lp_parse_size("17", 1, UINT64_MAX, &v) && v == 17);
	CHECK(!lp_parse_size("0", 1, UINT64_MAX, &v));
	CHECK(!lp_parse_size("1T", 1, UINT64_MAX, &v));
	CHECK(!lp_parse_size("99999999999999G", 1, UINT64_MAX, &v));
	CHECK(!lp_parse_size("M", 1, UINT64_MAX, &v));

	/* bools, formats, signals, triples */
	CHECK(lp_parse_bool("YES", &b) && b);
	CHECK(lp_parse_bool("off", &b) && !b);
	CHECK(!lp_parse_bool("2", &b));
	CHECK(lp_parse_format("JSON", &v) && v == LP_FORMAT_JSON);
	CHECK(!lp_parse_format("xml", &v));
	CHECK(lp_parse_signal("SIGUSR2", &sig) && sig == SIGUSR2);
	CHECK(lp_parse_signal("usr1", &sig) && sig == SIGUSR1);
	CHECK(lp_parse_signal("none", &sig) && sig == 0);
	CHECK(lp_parse_signal("10", &sig) && sig == 10);
	CHECK(!lp_parse_signal("9", &sig));   /* SIGKILL cannot be caught */
	CHECK(!lp_parse_signal("11", &sig));  /* SIGSEGV means a crash */
	CHECK(!lp_parse_signal("SIG", &sig));
	CHECK(!lp_parse_signal("1000", &sig));
	CHECK(lp_parse_triple("700,10,10", 1000000000, &t) && t.v[0] == 700 && t.v[2] == 10);
	CHECK(!lp_parse_triple("700,10", 1000000000, &t));
	CHECK(!lp_parse_triple("700,10,10,1", 1000000000, &t));
	CHECK(!lp_parse_triple("7,,1", 1000000000, &t));

	/* leak verdict options */
	CHECK(lp_parse_classify("exit", &v) && v == LP_CLASSIFY_EXIT);
	CHECK(lp_parse_classify("all", &v) && v == LP_CLASSIFY_ALL);
	CHECK(lp_parse_classify("1", &v) && v == LP_CLASSIFY_ALL);
	CHECK(lp_parse_classify("0", &v) && v == LP_CLASSIFY_NEVER);
	CHECK(!lp_parse_classify("sometimes", &v));
	CHECK(lp_parse_kinds("definite,indirect", &v) && v == (LP_KINDS_DEFINITE | LP_KINDS_INDIRECT));
	CHECK(lp_parse_kinds("possible, cycles", &v) && v == (LP_KINDS_POSSIBLE | LP_KINDS_CYCLES));
	CHECK(!lp_parse_kinds("", &v));
	CHECK(!lp_parse_kinds("definitely", &v));
	CHECK(!lp_parse_kinds("definite;indirect", &v));

	/* suppression patterns, as LeakSanitizer matches them */
	CHECK(lp_suppression_pattern_matches("leak_me", "do_leak_me_now"));
	CHECK(!lp_suppression_pattern_matches("^leak_me", "do_leak_me_now"));
	CHECK(lp_suppression_pattern_matches("^do_", "do_leak_me_now"));
	CHECK(lp_suppression_pattern_matches("now$", "do_leak_me_now"));
	CHECK(!lp_suppression_pattern_matches("leak$", "do_leak_me_now"));
	CHECK(lp_suppression_pattern_matches("do*now", "do_leak_me_now"));
	CHECK(lp_suppression_pattern_matches("^do*me*$", "do_leak_me_now"));
	CHECK(!lp_suppression_pattern_matches("^do*mx*$", "do_leak_me_now"));
	CHECK(lp_suppression_pattern_matches("libfoo.so", "/usr/lib/libfoo.so.1"));
	CHECK(!lp_suppression_pattern_matches("x", NULL));
	CHECK(!lp_suppression_pattern_matches("", "x"));

	/* path expansion */
	char out[64];
	bool unknown;
	CHECK(lp_output_expand(out, sizeof(out), "r.%p.%n.json", 42, 3, &unknown) &&
	      !strcmp(out, "r.42.3.json") && !unknown);
	CHECK(lp_output_expand(out, sizeof(out), "100%%-%x", 1, 1, &unknown) &&
	      !strcmp(out, "100%-%x") && unknown);
	CHECK(!lp_output_expand(out, 8, "too-long-for-it", 1, 1, &unknown));

	/* the formatter against snprintf */
	check_fmt("%d %i %u %x", -42, 17, 4000000000u, 0xbeefu);
	check_fmt("%ld %lu %lx %lld %llu", -1L, 123456789012UL, 0xdeadbeefUL, -5LL, 7ULL);
	check_fmt("%zu|%5d|%-5d|%05d|%-3s|%3s", (size_t)99, 42, 42, -42, "a", "b");
	check_fmt("%s %c %% %.3s", "text", 'x', "truncate");
	check_fmt("%.2f %.0f %.3f %.6f", 3.14159, 2.6, -0.0126, 1e6);
	check_fmt("%p", (void *)0x1234abcd);
	char tiny[4];
	CHECK(lp_fmt(tiny, sizeof(tiny), "%s", "overflow") == 3 && !strcmp(tiny, "ove"));
	UNIT_DONE();
}
