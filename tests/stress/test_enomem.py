"""ENOMEM paths: huge and overflowing requests through every entry point
fail with the same result and errno as without the shim; a failed realloc
keeps its block live (and reported); errno is kept on success.  Then the
address space really runs out (RLIMIT_AS): the program sees ENOMEM as
without the shim, the shim neither crashes nor loses the report — also when
the program exits with the memory still taken.  With no memory left at all,
the report may come without function names: then one warning says so and
each leak the program states is still one site of its exact blocks and
bytes (matched by size, as it cannot be by name), the totals consistent."""
from lptest.stress import (Soft, check, check_consistent, check_truth, count, main, plain,
                           prog, run, same_output)


def test():
    soft = Soft()
    argv = [prog("enomem"), "calls"]
    ref = plain(argv, timeout=30)
    check(ref.rc == 0, f"plain run failed: {ref.rc} {ref.stderr[-500:]}")
    r = run(argv, timeout=30)
    with soft("calls: results and errno as without the shim"):
        same_output(ref, r, "enomem calls")
        check("intact" in r.stdout, "block changed after a failed realloc")
    with soft("calls: failed realloc keeps the block"):
        ex = r.exit_report()
        check_truth(ex, r.truth)
        check_consistent(ex, "enomem calls")

    for mode in ("exhaust", "hold"):
        argv = [prog("enomem"), mode]
        ref = plain(argv, timeout=60)
        check(ref.rc == 0, f"{mode}: plain run failed: {ref.rc} {ref.stderr[-500:]}")
        r = run(argv, timeout=60)
        print(f"{mode}: {r.elapsed:.1f} s; warnings {r.warnings()}")
        with soft(f"{mode}: ENOMEM as without the shim"):
            same_output(ref, r, f"enomem {mode}")
        with soft(f"{mode}: the exit report is written (or one warning says why not)"):
            reps = r.by_pid()
            if not reps:
                count(lost=1)
                check(len(r.warnings()) == 1,
                      f"no report and {len(r.warnings())} warnings: {r.warnings()}")
            else:
                ex = r.exit_report()
                check_consistent(ex, f"enomem {mode}")
                unnamed = [w for w in r.warnings() if "out of memory while naming frames" in w]
                if unnamed:
                    check(len(r.warnings()) == 1, f"warnings: {r.warnings()}")
                    sizes = {(s["blocks"], s["bytes"]) for s in ex["sites"]}
                    for l in r.truth["leaks"]:
                        check((l["blocks"], l["bytes"]) in sizes,
                              f"no site of {l['blocks']} blocks / {l['bytes']} bytes "
                              f"({l['function']}) in {sorted(sizes)[:8]}")
                else:
                    check_truth(ex, r.truth)
    soft.done()


main(test)
