"""realloc edge cases: realloc(p, 0) frees (no false leak), realloc(NULL, n)
is a malloc, a failing realloc keeps the old block live (old size, old
stack), reallocarray overflow gives ENOMEM, errno is what it is without the
shim across malloc/free/realloc, free(NULL) is harmless.  The program's
output must be the same with and without the shim; the live totals agree
with valgrind."""
from lptest import (Soft, check, check_consistent, check_eq, check_leaks, main, prog, run,
                    sites_with, valgrind_in_use)


def test():
    soft = Soft()
    plain = run([prog("realloc_edges")], shim=False)
    r = run([prog("realloc_edges")])
    check_eq(plain.rc, 0, "exit code without the shim")
    soft(check_eq, r.stdout, plain.stdout, "stdout under the shim (vs without: errno values, "
                                           "NULL results)")
    soft(check_eq, r.rc, plain.rc, "exit code under the shim (vs without)")
    check("reallocarray overflow: NULL errno 12 (ENOMEM)" in plain.stdout,
          f"the platform's reallocarray overflow result changed: {plain.stdout}")
    rep = r.report("exit")
    soft(check_consistent, rep)
    soft(check_leaks, rep, r.truth["leaks"])
    # The block kept by the failed realloc: its old size, its malloc's stack.
    for s in sites_with(rep, "keep_old_alloc"):
        soft(check_eq, s["stack"][0]["function"], "keep_old_alloc",
             "innermost frame of the block a failed realloc kept")
    soft(check_eq, sites_with(rep, "failing_realloc"), [],
         "sites attributed to the failed realloc")
    soft.done()

    oracle = valgrind_in_use([prog("realloc_edges")])
    if oracle is None:
        print("valgrind not installed: cross-check skipped")
        return
    h = run([prog("realloc_edges")], env={"LP_TRUTH": "/dev/null"}).report("exit")["heap"]
    check_eq((h["live_bytes"], h["live_blocks"]), oracle,
             "leakprobe live (bytes, blocks) vs valgrind in use at exit")


main(test)
