"""The process ends from a non-main thread while others allocate:
exit() (report written, status kept, even right after a burst of report
signals), _exit() (no report, no hang), abort() (dies of SIGABRT as
without the shim), pthread_exit() from main (glibc exits when the last
thread is gone: report written), reports after main has called
pthread_exit (the executable must still be named), and a forked child
whose only thread returns through pthread_exit (it must end, as without
the shim)."""
import signal

from lptest.stress import (Failure, check, check_consistent, check_seqs, check_truth, count,
                           main, no_tmp_left, plain, prog, run, same_output)

REPEAT = 4


def one(mode, expect_rc, report):
    argv = [prog("exit_paths"), mode]
    ref = plain(argv, timeout=20)
    check(ref.rc == expect_rc, f"{mode}: plain run ended with {ref.rc}, expected {expect_rc}")
    for i in range(REPEAT):
        r = run(argv, timeout=20)
        count(threads=5, signals=5 if mode == "exit" else 1 if mode == "pthread_exit_signal" else 0,
              forks=1 if mode == "fork_leader" else 0)
        same_output(ref, r, f"exit_paths {mode} (run {i + 1})")
        if report:
            ex = r.exit_report()
            for x in r.by_pid():  # the leak came before any of them
                check_truth(x, r.truth)
            check_consistent(ex, f"{mode}: exit report")
            mine = r.by_pid()
            check(ex["seq"] == max(x["seq"] for x in mine),
                  f"{mode}: a report followed the exit report: "
                  f"{[(x['reason'], x['seq']) for x in mine]}")
            check_seqs(r.all_reports, mode)
        else:
            check(not r.all_reports, f"{mode}: {len(r.all_reports)} reports written, expected none")
        no_tmp_left(r, mode)


def test():
    failures = []
    for mode, rc, rep in (("exit", 42, True), ("_exit", 43, False),
                          ("abort", -signal.SIGABRT, False),
                          ("pthread_exit", 0, True), ("pthread_exit_signal", 0, True),
                          ("fork_leader", 0, True)):
        try:
            one(mode, rc, rep)
            print(f"{mode}: ok")
        except Failure as ex:
            print(f"{mode}: FAIL {ex}")
            failures.append(mode)
    check(not failures, f"failed: {failures}")


main(test)
