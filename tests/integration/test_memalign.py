"""The aligned allocators (posix_memalign, aligned_alloc, memalign, valloc,
pvalloc): alignment honoured (the program checks each block), each leaked
block reported with its exact size at its site, and bad alignments give
the same results (EINVAL, output untouched) as without the shim."""
from lptest import Soft, check, check_consistent, check_eq, check_leaks, main, prog, run


def test():
    soft = Soft()
    plain = run([prog("memalign")], shim=False)
    r = run([prog("memalign")])
    check_eq(plain.rc, 0, "exit code without the shim")
    check("NOT ALIGNED" not in plain.stdout, f"alignment without the shim:\n{plain.stdout}")
    soft(check, "NOT ALIGNED" not in r.stdout, f"a block is misaligned under the shim:\n{r.stdout}")
    soft(check_eq, r.stdout, plain.stdout, "stdout under the shim (vs without)")
    soft(check_eq, r.rc, plain.rc, "exit code under the shim (vs without)")
    rep = r.report("exit")
    soft(check_consistent, rep)
    for leak in r.truth["leaks"]:
        soft(check_leaks, rep, [leak])
    soft.done()


main(test)
