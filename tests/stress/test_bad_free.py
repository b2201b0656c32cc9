"""Invalid, double and early frees: passed to glibc as they are.  Where
glibc 2.36 aborts (double free in tcache, double free of a heap block,
invalid size), the process dies of SIGABRT with glibc's own message, as
without the shim, with no crash inside the shim and no hang.  Where glibc
takes the pointer (a fake chunk glibc accepts), the program goes on and
heap.untracked_frees counts each one (compared with a baseline run);
free(NULL) counts nothing.  Blocks from before the shim was ready are
tracked from start-up on (the program states them at early_init): their
frees count as nothing untracked, a realloc of one gives a tracked one."""
import re
import signal

from lptest.stress import (Soft, check, check_consistent, check_truth, main, plain, prog,
                           run, same_output)

GLIBC_MSG = r"^(free\(\)|double free|munmap_chunk|malloc)[^\n]*$"


def glibc_message(text):
    return re.findall(GLIBC_MSG, text, re.M)


def test():
    soft = Soft()
    results = {}
    for mode in ("keep", "early", "null", "fake"):
        argv = [prog("bad_free"), mode]
        ref = plain(argv, timeout=20)
        check(ref.rc == 0 and "done" in ref.stdout, f"{mode}: plain run failed: {ref.rc} {ref.stderr}")
        r = run(argv, timeout=20)
        with soft(f"{mode}: survives as without the shim"):
            same_output(ref, r, f"bad_free {mode}")
            ex = r.exit_report()
            check_truth(ex, r.truth)
            check_consistent(ex, f"bad_free {mode}")
            results[mode] = ex["heap"]["untracked_frees"]
    if "keep" in results:
        base = results["keep"]
        for mode, extra in (("early", 0), ("null", 0), ("fake", 1)):
            if mode in results:
                with soft(f"{mode}: untracked_frees"):
                    check(results[mode] - base == extra,
                          f"heap.untracked_frees {results[mode]}, baseline {base}: "
                          f"expected {extra} more")
    for mode in ("double", "double_big", "invalid"):
        argv = [prog("bad_free"), mode]
        ref = plain(argv, timeout=20)
        check(ref.rc == -signal.SIGABRT, f"{mode}: plain run ended {ref.rc}, expected SIGABRT")
        want = glibc_message(ref.stderr)
        check(want, f"{mode}: glibc said nothing? {ref.stderr!r}")
        for i in range(3):
            r = run(argv, timeout=20)
            with soft(f"{mode}: aborts as without the shim (run {i + 1})"):
                check(r.rc == ref.rc, f"ended {r.rc}, {ref.rc} without the shim; stderr {r.stderr[-600:]}")
                check(glibc_message(r.stderr) == want,
                      f"glibc said {glibc_message(r.stderr)}, without the shim {want}")
                check(not r.all_reports, f"{len(r.all_reports)} reports after an abort")
    soft.done()


main(test)
