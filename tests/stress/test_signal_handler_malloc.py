"""A program's signal handlers call malloc/free (SIGUSR2 at ~20k/s to the
allocating main thread, and the report signal SIGUSR1, chained to the
program's own handler), and free blocks the main thread allocated (a free
that lands inside the shim waits until the thread leaves it): no deadlock
in the shim's locks, every signal handled, report consistent, the leaks
stated by the program exact (none from the handed-off blocks)."""
import re

from lptest.stress import (check, check_consistent, check_seqs, check_truth, count, main,
                           no_tmp_left, plain, prog, run, same_output)

USR1, USR2 = 10, 20000


def handled(r):
    m = re.search(r"handled USR2 (\d+) USR1 (\d+) rounds (\d+) handed (\d+)", r.stderr)
    check(m, f"no summary line; stderr:\n{r.stderr[-1500:]}")
    return tuple(int(x) for x in m.groups())


def test():
    argv = [prog("sig_malloc"), "300000", str(USR1), str(USR2)]
    ref = plain(argv, timeout=90)
    check(ref.rc == 0, f"plain run failed: {ref.rc}")
    u2, u1, _, _ = handled(ref)
    check(u2 >= USR2 and u1 >= 1, f"plain run handled USR2 {u2}, USR1 {u1}")
    for i in range(2):
        r = run(argv, timeout=90)
        u2, u1, rounds, handed = handled(r)
        count(signals=u2 + u1, threads=2)
        print(f"run {i + 1}: {r.elapsed:.1f} s, handled USR2 {u2} USR1 {u1}, {rounds} rounds, "
              f"{handed} blocks freed by the handler")
        check(handed >= 1000, f"the handler freed only {handed} handed-off blocks")
        same_output(ref, r, "sig_malloc")
        check(u2 >= USR2, f"the program's SIGUSR2 handler ran {u2} times, wanted {USR2}")
        check(u1 >= 1, "the program's SIGUSR1 handler never ran: not chained")
        ex = r.exit_report()
        check_truth(ex, r.truth)
        mine = r.by_pid()
        sig = [x for x in mine if x["reason"] == "signal"]
        check(1 <= len(sig) <= u1, f"{len(sig)} signal reports for {u1} report signals")
        for x in mine:
            check_consistent(x, f"report {x['seq']} ({x['reason']})")
        check_seqs(mine, "sig_malloc")
        no_tmp_left(r, "sig_malloc")


main(test)
