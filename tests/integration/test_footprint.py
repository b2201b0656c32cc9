"""What a program can see of the shim in its own resources
(tests/programs/footprint.c); truth: the same program without the shim.

- Every pthread key is the program's: it can create as many as without the
  shim (LSan's many_tls_keys_pthread: the shim used to take one).
- Its descriptors are its own: the same list as without the shim (a
  program that lists them, as CPython's test_subprocess does).
- Threads that allocate and exit: their blocks still counted exactly, and
  no free is unknown to the shim (it learns of thread exit without a key;
  glibc's free of its own list entry for that is not the program's)."""
from lptest import Soft, check_eq, check_leaks, main, prog, run

LEAK = [{"function": "leak_once", "blocks": 1, "bytes": 24}]


def test():
    soft = Soft()
    for mode in ("keys", "fds", "threads"):
        plain = run([prog("footprint"), mode], shim=False)
        r = run([prog("footprint"), mode])
        soft(check_eq, (r.rc, r.stdout), (plain.rc, plain.stdout),
             f"{mode}: exit status and output under the shim")
        soft(lambda: check_leaks(r.report("exit"), LEAK, f"{mode}: exit report"))
        # The program frees only blocks it allocated: none is unknown (the
        # shim's own thread-exit bookkeeping is not the program's).
        soft(lambda: check_eq(r.report("exit")["heap"]["untracked_frees"], 0,
                              f"{mode}: untracked_frees"))
        print(f"  {mode}: plain {plain.stdout.strip()!r}, shim {r.stdout.strip()!r}")
    soft.done()


main(test)
