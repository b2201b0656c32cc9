"""The program's own SIGUSR1 handler, installed (a) in main with
sigaction() and sa_flags 0, (b) with signal(), (c) from .preinit_array,
before the shim has started, (d) with SA_SIGINFO (the siginfo must reach
it), (e) with sigset() (System V, still in glibc): on every SIGUSR1 the handler runs (the
program counts) AND the shim writes a report; sigaction(SIGUSR1, NULL,
&old) returns the program's handler; and the program sees exactly what it
sees without the shim (a read() interrupted or not, as its flags ask)."""
import os
import signal

from lptest import Session, Soft, check, check_consistent, check_eq, check_leaks, main, prog

ROUNDS = 3


def drive(mode, shim):
    """Three rounds of: ready -> SIGUSR1 -> handler line (-> report) -> a line."""
    reports = []
    with Session([prog("user_handler"), mode], shim=shim) as s:
        for k in range(1, ROUNDS + 1):
            s.skip_to(f"ready {k}")
            s.wait_blocked_in_read()           # the signal lands inside read()
            os.kill(s.pid, signal.SIGUSR1)
            s.expect(f"handler {k}")          # the program's handler ran
            if shim:
                reports.append(s.wait_report(k, timeout=5))
            s.send("line\n")
            s.expect(f"round {k}:")
        r = s.finish()
    return r, reports


def test():
    soft = Soft()
    for mode in ("sigaction", "signal", "preinit", "siginfo", "sigset"):
        plain, _ = drive(mode, shim=False)
        check_eq(plain.rc, 0, f"{mode}: exit code without the shim")
        try:
            r, reports = drive(mode, shim=True)
        except Exception as ex:  # Failure: name the mode and go on
            soft.failures.append(f"{mode}: {ex}")
            continue
        soft(check_eq, r.rc, plain.rc, f"{mode}: exit code under the shim (vs without)")
        for k, rep in enumerate(reports, 1):
            soft(check_eq, (rep["reason"], rep["seq"]), ("signal", k), f"{mode}: report {k} (reason, seq)")
            soft(check_consistent, rep)
            soft(check_leaks, rep, r.truth["checkpoints"][f"round{k}"], f"{mode}: signal report {k}")
        soft(check_eq, [x["reason"] for x in r.reports], ["signal"] * ROUNDS + ["exit"],
             f"{mode}: reasons of all reports")
        plain_lines = plain.stdout.splitlines()
        lines = r.stdout.splitlines()
        soft(check, "sigaction query: the program's handler" in "\n".join(lines),
             f"{mode}: sigaction(SIGUSR1, NULL, &old) under the shim: {lines[:3]}")
        eintr = [sum("(EINTR)" in l for l in x) for x in (plain_lines, lines)]
        soft(check_eq, lines, plain_lines,
             f"{mode}: stdout under the shim (vs without; rounds whose read() the signal "
             f"interrupted with EINTR: {eintr[0]} without the shim, {eintr[1]} under it)")
    soft.done()


main(test)
