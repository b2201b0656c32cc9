"""What a program can see of the shim in its own resources
(tests/programs/footprint.c); truth: the same program without the shim.

- Every pthread key is the program's: it can create as many as without the
  shim (LSan's many_tls_keys_pthread: the shim used to take one).
- One TLS module more than without the shim (its own), not four.
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
    # Every module with TLS makes each thread's TLS table longer: the shim
    # adds its own, and nothing of what naming frames needs (libdw, libelf).
    plain = run([prog("footprint"), "tls"], shim=False)
    r = run([prog("footprint"), "tls"])
    n0, n = (int(x.stdout.split()[1]) if x.stdout.startswith("tls ") else -1 for x in (plain, r))
    soft(check_eq, n, n0 + 1, "TLS modules under the shim (the shim's own, on top of the program's)")
    print(f"  tls: plain {n0}, shim {n}")
    soft.done()


main(test)
