"""SIGUSR1 while running: the program keeps running (same stdout and exit
code as without the shim); a report with reason "signal" and seq 1 holds
the leaks of that moment (not those made later); the exit report is seq 2
and holds all of them; what it says it cost (cost_ms) fits between the
signal and the file's appearance, seen from outside.
`tools/leakprobe snapshot PID` does the same and
prints the new report's path.  Sent to a process that would die of it (no
shim mapped; or the program set the signal to its default action), it
sends nothing and exits 2 with one line saying why; the process lives on."""
import os
import signal
import subprocess
import time

from lptest import SRC, Failure, Session, check, check_consistent, check_eq, check_leaks, main, prog, sites_by_function


def launcher_snapshot(pid):
    """tools/leakprobe snapshot PID: its output names the new report."""
    try:
        p = subprocess.run([os.path.join(SRC, "tools", "leakprobe"), "snapshot", str(pid)],
                           capture_output=True, timeout=40)
    except subprocess.TimeoutExpired:
        raise Failure("tools/leakprobe snapshot did not finish within 40 s")
    check_eq(p.returncode, 0, f"tools/leakprobe snapshot exit code (stderr {p.stderr.decode()[-300:]})")
    return p.stdout.decode().strip().splitlines()[-1:]


def drive(shim, via_launcher=False):
    with Session([prog("snapshot")], shim=shim) as s:
        s.expect("step 1")
        s.expect("ready")
        snap = None
        if shim:
            if via_launcher:
                check_eq(launcher_snapshot(s.pid), [s.report_path(1)],
                         "the path tools/leakprobe snapshot prints")
            else:
                sent = time.monotonic()
                os.kill(s.pid, signal.SIGUSR1)
            snap = s.wait_report(1)
            if not via_launcher:
                seen_ms = (time.monotonic() - sent) * 1e3
                cost_ms = sum(snap["cost_ms"].values())
                check(0 < cost_ms <= seen_ms, f"the signal report says it took {cost_ms:.3f} ms; "
                                              f"it appeared {seen_ms:.1f} ms after the signal")
        s.send("go\n")
        r = s.finish()
        return r, snap


def snapshot_refused(argv, shim, why):
    """tools/leakprobe snapshot on a process the signal would kill."""
    with Session(argv, shim=shim) as s:
        s.read_line()
        p = subprocess.run([os.path.join(SRC, "tools", "leakprobe"), "snapshot", str(s.pid)],
                           capture_output=True, timeout=40)
        err = p.stderr.decode()
        check_eq(p.returncode, 2, f"snapshot of a process {why}: exit status (stderr {err!r})")
        check(len(err.strip().splitlines()) == 1 and "nothing sent" in err,
              f"snapshot of a process {why}: one line saying nothing was sent: {err!r}")
        time.sleep(0.3)
        check(s.p.poll() is None, f"snapshot of a process {why}: the process died "
                                  f"({s.p.returncode})")
        check_eq(os.listdir(s.tmp), ["stderr"], f"snapshot of a process {why}: files")


def test():
    plain, _ = drive(shim=False)
    for via_launcher in (False, True):
        check_run(plain, *drive(shim=True, via_launcher=via_launcher))
    snapshot_refused([prog("snapshot")], shim=False, why="without the shim")
    snapshot_refused([prog("signal_uses"), "default"], shim=True,
                     why="that set the report signal to SIG_DFL itself")


def check_run(plain, r, snap):
    check_eq(r.stdout, plain.stdout, "stdout under the shim (vs without)")
    check_eq(r.rc, plain.rc, "exit code under the shim (vs without)")
    check_eq(r.rc, 3, "exit code")

    check_eq(snap["reason"], "signal", "first report reason")
    check_eq(snap["seq"], 1, "first report seq")
    check_eq(snap["pid"], r.pid, "first report pid")
    check_consistent(snap)
    check_leaks(snap, r.truth["checkpoints"]["signal"], "signal report")
    check_eq(sites_by_function(snap, "leak_step2"), (0, 0),
             "signal report: leak_step2 (leaked only after the signal)")

    files = sorted(rep["_file"] for rep in r.reports)
    check_eq(files, [f"r.{r.pid}.1.json", f"r.{r.pid}.2.json"], "report files")
    final = r.reports[-1]
    check_eq(final["reason"], "exit", "second report reason")
    check_eq(final["seq"], 2, "second report seq")
    check_consistent(final)
    check_leaks(final, r.truth["leaks"], "exit report")
    check(final["uptime_s"] >= snap["uptime_s"], "the exit report comes after the signal report")


main(test)
