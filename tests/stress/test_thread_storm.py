"""Thread creation/destruction storm: 150 waves x 16 short-lived threads
(half detached, some ending with pthread_exit, TSD destructors that free),
report signals between waves: no crash, no hang, same output, one leak per
thread reported exactly."""
from lptest.stress import (check, check_consistent, check_seqs, check_truth, count, main,
                           no_tmp_left, plain, prog, run, same_output)

WAVES, PER = 150, 16


def test():
    argv = [prog("thread_storm"), str(WAVES), str(PER)]
    ref = plain(argv, timeout=60)
    check(ref.rc == 0, f"plain run failed: {ref.rc}")
    for i in range(2):
        r = run(argv, timeout=120)
        count(threads=WAVES * PER, signals=WAVES // 10)
        print(f"run {i + 1}: {r.elapsed:.1f} s")
        same_output(ref, r, "thread_storm")
        ex = r.exit_report()
        check_truth(ex, r.truth)
        for x in r.by_pid():
            check_consistent(x, f"report {x['seq']} ({x['reason']})")
        sig = [x for x in r.by_pid() if x["reason"] == "signal"]
        check(1 <= len(sig) <= WAVES // 10, f"{len(sig)} signal reports for {WAVES // 10} signals")
        check_seqs(r.all_reports, "thread_storm")
        no_tmp_left(r, "thread_storm")


main(test)
