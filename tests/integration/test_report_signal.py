"""The report signal meets the program's own life (tests/programs/signal_uses.c).

Truth: the same program without the shim (what it prints, how it ends, how
often its own handler ran), /proc/PID/status read from outside (how many
threads it has), and what the test itself sent.

- No thread of ours until the first report is asked for; one after.
- The first report comes wherever the program is when the signal lands:
  blocked in read() (with or without a handler of its own, SA_RESTART or
  not), in a tight malloc/free loop, in a loop that never calls libc,
  right after it sent the signal to itself (raise, kill).
- A default action the program sets itself is honoured: the signal kills
  it, as without the shim.
- A vfork child that resets every handler before exec (CPython's
  subprocess does) leaves the parent's handler in place.
- Coalescing: N signals within LEAKPROBE_SIGNAL_COALESCE_MS of one report
  give one report; the program's handler runs N times; the exit report
  counts the N-1 folded ones.  With 0, every signal (sent once the previous
  report is written) gets its own report."""
import os
import signal
import time

import contextlib
import shutil
import subprocess

from lptest import Failure, Session, Soft, check, check_eq, check_leaks, main, prog, run

LEAK = [{"function": "leak_once", "blocks": 1, "bytes": 40}]


class Parts(Soft):
    """lptest.Soft, with labelled blocks: with parts("what"): checks..."""

    @contextlib.contextmanager
    def part(self, label):
        try:
            yield
        except Failure as ex:
            self.errors.append(f"{label}: {ex}")


def threads_of(pid):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def opens_while_idle(pid, seconds=1.2):
    """Files opened by any thread of pid during `seconds` (strace, an
    independent observer); None when strace cannot attach."""
    if not shutil.which("strace"):
        return None
    try:
        p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=open,openat,openat2", "-p", str(pid)],
                           capture_output=True, timeout=seconds)
        err = p.stderr
    except subprocess.TimeoutExpired as ex:
        err = ex.stderr or b""
    text = err.decode(errors="replace")
    if "Operation not permitted" in text:
        return None
    return [l for l in text.splitlines() if "open" in l]


def drive(argv, shim, signal_on_send=True, env=None, each_report=False, expect_report=True,
          in_read=False, left_read=False, watch_opens=False):
    """Run argv; on each "send" line send SIGUSR1 (if asked), then (under
    the shim) wait for the next signal report; then give the program a
    line (left_read: once it said its read() returned).  Returns (run, threads before the first signal, threads after
    its report)."""
    before = after = None
    with Session(argv, env=env, shim=shim) as s:
        seq = 0
        while True:
            try:
                line = s.read_line(timeout=20)
            except Exception:
                break  # closed stdout: finish() says how it ended
            if left_read and line.startswith("handled"):
                s.send("go\n")  # its read() has returned: the line is for the next
            if not line.startswith("send"):
                continue
            if before is None:
                before = threads_of(s.pid)
            if in_read:
                s.wait_blocked_in_read()
            if signal_on_send:
                os.kill(s.pid, signal.SIGUSR1)
                if shim and expect_report and (seq == 0 or each_report):
                    seq += 1
                    s.wait_report(seq, timeout=10)
                    if after is None:
                        after = threads_of(s.pid)
                        if watch_opens:
                            drive.opens = opens_while_idle(s.pid)
                    # The worker is done a moment after the file appears:
                    # a signal sent in between is folded into the report.
                    time.sleep(0.2)
            if not left_read:
                s.send("go\n")
        r = s.finish(timeout=30)
    return r, before, after


def case(soft, mode, signal_plain=True, expect_report=True):
    argv = [prog("signal_uses"), mode]
    in_read = mode in ("blocked", "blocked_eintr", "default", "resethand")
    left_read = mode == "blocked_eintr"
    plain, _, _ = drive(argv, shim=False, signal_on_send=signal_plain, in_read=in_read,
                        left_read=left_read)
    r, before, after = drive(argv, shim=True, expect_report=expect_report, in_read=in_read,
                             left_read=left_read)
    with soft.part(f"{mode}: same output and exit status as without the shim"):
        check_eq(r.stdout, plain.stdout, f"{mode}: stdout")
        check_eq(r.rc, plain.rc, f"{mode}: exit status")
    return plain, r, before, after


def test():
    soft = Parts()

    # A single-threaded program stays single-threaded.
    plain, r, _, _ = case(soft, "threads")
    with soft.part("threads: no thread of ours before a report is asked for"):
        check_eq(r.stdout, "threads 1\nthreads 1\n", "threads: what the program counted")
        check_leaks(r.report("exit"), LEAK, "threads: exit report")

    # Once the worker runs, it opens nothing while idle (it used to read
    # /proc/self/stat every 250 ms: with fds 0-2 closed, on descriptor 2).
    drive.opens = None
    drive([prog("signal_uses"), "blocked"], shim=True, in_read=True, watch_opens=True)
    with soft.part("blocked: no file opened by the process while it is idle after a report"):
        if drive.opens is None:
            print("  (strace cannot attach here: idle opens not checked)")
        else:
            check_eq(drive.opens, [], "files opened in 1.2 s after the report (strace)")

    # Blocked, busy, spinning: the first report comes (signal_plain=False:
    # without the shim and without a handler the signal would kill it).
    for mode in ("blocked", "busy_malloc", "busy_compute"):
        plain, r, before, after = case(soft, mode, signal_plain=False)
        with soft.part(f"{mode}: the report came while the program went on"):
            sig = r.report("signal")
            check_leaks(sig, LEAK, f"{mode}: signal report")
            check_eq(before, 1, f"{mode}: threads before the first signal")
            check_eq(after, 2, f"{mode}: threads once the report was written (ours: the worker)")

    # Its own handler without SA_RESTART: read() fails with EINTR, as plain.
    plain, r, before, after = case(soft, "blocked_eintr")
    with soft.part("blocked_eintr: the report came, the program saw EINTR as without the shim"):
        check(plain.stdout.startswith("send\nread -1 EINTR\nhandled 1\n"), f"plain run: {plain.stdout!r}")
        r.report("signal")
        check_eq(before, 1, "blocked_eintr: threads before the signal")

    # Self-sent: delivered on the way out of the kill system call.
    for mode in ("raise", "kill"):
        plain, r, _, _ = case(soft, mode)
        with soft.part(f"{mode}: a signal the program sends itself gets a report"):
            check_eq(plain.stdout, "handled 1\nslept\n", f"{mode}: plain run")
            r.report("signal")

    # A signal just before exit: its report is written whole before the
    # exit report, or not at all (folded into it), never cut by the exit.
    cut = []
    py_raise_exit = ("import os, signal, sys\n"
                     "signal.signal(signal.SIGUSR1, lambda s, f: None)\n"
                     "os.kill(os.getpid(), signal.SIGUSR1)\n"
                     "sys.exit(0)\n")
    variants = [[prog("signal_uses"), "raise_exit"]]
    if os.access("/usr/bin/python3", os.X_OK):  # the exit report from Python's atexit
        variants.append(["/usr/bin/python3", "-S", "-c", py_raise_exit])
    for i in range(20):
        r = run(variants[i % len(variants)], keep_tmp=True)
        left = [f for f in os.listdir(r.tmp) if ".tmp." in f]
        shutil.rmtree(r.tmp, ignore_errors=True)
        sigs = [x for x in r.reports if x["reason"] == "signal"]
        ex = [x for x in r.reports if x["reason"] == "exit"]
        if r.rc != 0 or left or len(ex) != 1 or len(sigs) + ex[0].get("signals_coalesced", -9) != 1:
            cut.append((variants[i % len(variants)][0], r.rc, left, [x["_file"] for x in r.reports],
                        ex[0].get("signals_coalesced") if ex else None))
    with soft.part("raise_exit: a report asked for just before exit is whole or folded"):
        check_eq(cut, [], "runs with a report cut, missing, or miscounted (rc, temporary files, "
                          "reports, signals_coalesced)")

    # A default action set by the program: honoured.
    plain, r, _, _ = case(soft, "default", expect_report=False)
    with soft.part("default: the program's own SIG_DFL kills it, as without the shim"):
        check_eq(plain.rc, -signal.SIGUSR1, "default: plain exit status")
        check([x for x in r.reports if x["reason"] == "signal"] == [],
              f"default: a signal report was written: {[x['_file'] for x in r.reports]}")

    # SA_RESETHAND: the kernel's reset is honoured too.
    plain, r, _, _ = case(soft, "resethand")
    with soft.part("resethand: the second signal kills it, as without the shim"):
        check_eq(plain.rc, -signal.SIGUSR1, "resethand: plain exit status")
        check_eq(len([x for x in r.reports if x["reason"] == "signal"]), 1,
                 "resethand: signal reports (the first signal only)")

    # vfork: the child's resets do not reach the parent's handler.
    plain, r, _, _ = case(soft, "vfork")
    with soft.part("vfork: the parent's handler survives the child's resets"):
        check_eq(plain.stdout, "child 0, handled 3\n", "vfork: plain run")

    # Coalescing, default window: five signals, one report, five handler runs.
    n = 5
    argv = [prog("signal_uses"), "count", str(n)]
    plain, _, _ = drive(argv, shim=False)
    expected = "".join(f"send {k}\nhandled {k}\n" for k in range(1, n + 1))
    with soft.part("count: the plain run"):
        check_eq(plain.stdout, expected, "count: plain stdout")
    t0 = time.monotonic()
    r, _, _ = drive(argv, shim=True, env={"LEAKPROBE_SIGNAL_COALESCE_MS": "60000"})
    with soft.part("count, coalesced: every signal reached the handler; one report"):
        check_eq(r.stdout, expected, "count: stdout under the shim")
        sigs = [x for x in r.reports if x["reason"] == "signal"]
        check_eq(len(sigs), 1, f"count: signal reports within {time.monotonic() - t0:.1f} s")
        check_eq(r.report("exit").get("signals_coalesced"), n - 1,
                 "count: signals folded into the first report (exit report)")
    r, _, _ = drive(argv, shim=True, env={"LEAKPROBE_SIGNAL_COALESCE_MS": "0"},
                    each_report=True)
    with soft.part("count, no window: one report per signal"):
        check_eq(r.stdout, expected, "count: stdout under the shim")
        check_eq(len([x for x in r.reports if x["reason"] == "signal"]), n,
                 "count: signal reports, each signal sent after the previous report")
        check_eq(r.report("exit").get("signals_coalesced"), 0, "count: signals folded")
    soft.done()


main(test)
