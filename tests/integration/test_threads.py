"""Threads: eight threads leak at the same time, each in its own function at
its own recursion depth, while churning malloc/realloc/free; each thread's
leak is reported exactly, with its own stack (the depth the program
states), and the totals add up.  Report signals sent while the eight
threads churn give consistent reports, and the program runs on."""
import os
import signal
from lptest import (Session, check, check_consistent, check_eq, check_leaks, check_truth, main,
                    prog, run, sites_with)


def test():
    r = run([prog("threads")], timeout=60)
    check_eq(r.rc, 0, "exit code")
    rep = r.report("exit")
    check_truth(rep, r.truth)
    check_consistent(rep)
    h = rep["heap"]
    check(h["total_allocs"] - h["total_frees"] == h["live_blocks"],
          f"allocs - frees != live: {h}")
    for leak in r.truth["leaks"]:
        name = leak["function"]
        want = int(r.truth["facts"][f"{name}_frames"])
        sites = sites_with(rep, name)
        check_eq(len(sites), 1, f"{name}: number of sites (one thread, one stack)")
        stack = sites[0]["stack"]
        frames = sum(1 for f in stack if f["function"] == name)
        check_eq(frames, want, f"{name}: frames of {name} in its stack")
        check(any(f["function"] == "thread_main" for f in stack),
              f"{name}: the stack does not reach thread_main: {[f['function'] for f in stack]}")
        others = {f["function"] for f in stack if (f["function"] or "").startswith("leak_t")} - {name}
        check(not others, f"{name}: frames of other threads' functions in its stack: {others}")

    # Report signals while all eight threads churn.
    with Session([prog("threads"), "wait"]) as s:
        s.expect("churning")
        for k in (1, 2, 3):
            os.kill(s.pid, signal.SIGUSR1)
            snap = s.wait_report(k, timeout=20)
            check_eq((snap["reason"], snap["seq"]), ("signal", k), f"report {k} (reason, seq)")
            check_consistent(snap)
        s.send("\n")
        r = s.finish(timeout=60)
    check_eq(r.rc, 0, "exit code after report signals")
    for rep in r.reports[:3]:
        check_leaks(rep, r.truth["checkpoints"]["churning"], f"signal report {rep['seq']}")
        for leak in r.truth["leaks"]:
            check_eq(sites_with(rep, leak["function"]), [],
                     f"signal report {rep['seq']}: sites of {leak['function']} (not leaked yet)")
    final = r.report("exit")
    check_eq(final["seq"], 4, "exit report seq")
    check_truth(final, r.truth)
    check_consistent(final)


main(test)
