"""Live CPython: where a report signal is answered (the JSON report's
python.safe_point), with the signal sent from outside the process, by this
driver, once the script (tests/python/safepoint.py) printed "ready".  The
script starts no thread: a second Python thread would wake the main thread
for a pending call and hide the 3.9-3.12 wake-up bug.

    test_python_safepoint.py KEY      KEY: system | 3.8 ... 3.13

Every scenario runs the script twice: without the shim and unsignalled
(the baseline), then with the shim, signalled.  Both runs must exit 0 with
the same stdout and the same stderr (nothing about pending calls, no Fatal
Python error, no SystemError), and the shim's run must write exactly one
signal report and the exit report, both valid (schema, sites adding up to
the heap totals, a "python" section from the interpreter's objects; the
exit report's safe_point "exit").  Times are CLOCK_MONOTONIC, the clock of
the reports' monotonic_s: `sent` is when this driver sent SIGUSR1, the
script's truth file has its own times.

  busy      the main thread is in a pure-Python loop of fixed length:
            safe_point "pending_call", written at most 1.0 s after the
            signal and before the loop ended (3.9-3.12 without the poke:
            "gil", 250 ms later), the loop's result unchanged.
  blocked   the main thread is in time.sleep(3): safe_point "gil", written
            before sent + 1.5 s and before the sleep returned; the pending
            call that runs when it returns writes no second report.
  gc        the signal lands while a __del__ busy-loops inside
            gc.collect(): safe_point "gc_stop", written after the last
            __del__ ended and before the program's own gc "stop" callback
            (which runs after the shim's); none of the dying objects is
            among the report's unreachable objects, and the witness 2-cycle
            made inside __del__ (garbage of no collection) is.
  shutdown  the signal lands while the program's own atexit callback
            busy-loops (before the shim's atexit callback): exit code 0,
            nothing on stderr (3.8's Py_AddPendingCall during finalization
            prints SystemError "cannot add pending calls" or crashes),
            the signal report written during that callback, then the exit
            report.  safe_point "gil" on 3.8 (no pending call may be queued
            once finalization began), "pending_call" on 3.9-3.13 (their
            eval loop runs pending calls in atexit callbacks; within 1.0 s).
  fork      the signal goes to a forked child running the busy loop (a
            pre-forking server's worker): the child's report thread answers
            it through a pending call (safe_point "pending_call", within
            1.0 s, the child's pid); the parent writes only its exit report.
  api_gc    no signal: a __del__ inside gc.collect() calls leakprobe_report()
            (ctypes): the "api" report, written mid-collection, enumerates
            objects with gc.get_objects (detector.enumeration), not by
            walking the collector's lists, which the collection is moving
            objects between; the witness cycle made in __del__ is found, the
            dying objects are not named.  The exit report walks the lists
            ("gc_lists").
"""
import os
import re
import signal
import sys
import time

import lptest  # noqa: E402
from lptest import python as pylib  # noqa: E402
from lptest import Failure, Soft, check, check_eq, main  # noqa: E402

SCRIPT = os.path.join(pylib.HERE, "safepoint.py")
SCHEMA = "leakprobe-report/1"
SIGNAL_DELAY = 0.2      # after "ready": the script is well inside its loop
BAD_STDERR = re.compile(r"pending|fatal|SystemError|Traceback|Segmentation", re.I)


class Runs:
    """The baseline and the shim's run of one scenario."""

    def __init__(self, base, shim, sent):
        self.base, self.shim, self.sent = base, shim, sent
        self.truth = shim.truth or {}
        self.base_truth = base.truth or {}


def main_thread_state(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "?"


def wait_sleeping(s, timeout=5):
    """The main thread is asleep (state S) in time.sleep."""
    deadline = time.monotonic() + timeout
    while True:
        st = main_thread_state(s.pid)
        if st == "S":
            return
        if time.monotonic() > deadline:
            raise Failure(f"the main thread did not go to sleep within {timeout} s (state {st}); "
                          f"stdout {s.transcript}")
        time.sleep(0.005)


def one_run(py, mode, shim):
    """Run the script; with the shim, send SIGUSR1 once it is ready."""
    argv = [py] + pylib.PYFLAGS + [SCRIPT, mode]
    sent = None
    with lptest.Session(argv, env=pylib.env(), shim=shim) as s:
        line = s.skip_to("ready", timeout=30)
        target = int(line.split()[1]) if mode == "fork" else s.pid
        if shim and mode != "api_gc":
            time.sleep(SIGNAL_DELAY)
            if mode == "blocked":
                wait_sleeping(s)
            state = main_thread_state(target)
            sent = time.monotonic()
            os.kill(target, signal.SIGUSR1)
            if mode != "blocked":
                check(state == "R", f"{mode}: the main thread was not running Python when "
                                    f"signalled (state {state})")
        r = s.finish(timeout=60)
    return r, sent


def scenario(py, mode):
    base, _ = one_run(py, mode, False)
    check(base.rc == 0, f"{mode}: the baseline (no shim) exited {base.rc}; stderr:\n"
                        f"{pylib.tail(base.stderr)}")
    r, sent = one_run(py, mode, True)
    return Runs(base, r, sent)


def check_valid(rep, what):
    check_eq(rep.get("schema"), SCHEMA, f"{what}: schema")
    lptest.check_consistent(rep)
    py = pylib.python_section(rep, what)
    check("safe_point" in py, f"{what}: python section has no \"safe_point\": {py}")
    return py


def same_as_baseline(runs, soft, what, normalize=lambda out: out):
    """Exit code, stdout (after normalize) and stderr as without the shim,
    and nothing on stderr about pending calls or fatal errors."""
    b, r = runs.base, runs.shim
    soft(check_eq, r.rc, b.rc, f"{what}: exit code with the shim (stderr:\n{pylib.tail(r.stderr)})")
    soft(check_eq, normalize(r.stdout), normalize(b.stdout), f"{what}: stdout with the shim vs without")
    bad = [l for l in r.stderr.splitlines() if BAD_STDERR.search(l)]
    soft(check, not bad, f"{what}: stderr with the shim says {bad[:5]}")
    soft(check_eq, r.stderr, b.stderr, f"{what}: stderr with the shim vs without")


def common(runs, soft, what):
    """Same behaviour as without the shim; exactly one signal report and
    the exit report, both valid.  Returns the signal report (or None)."""
    r = runs.shim
    same_as_baseline(runs, soft, what)
    soft(check, r.truth is not None, f"{what}: the script wrote no truth file")
    reasons = [rep["reason"] for rep in r.reports]
    soft(check_eq, sorted(reasons), ["exit", "signal"],
         f"{what}: reasons of the reports written ({[x['_file'] for x in r.reports]})")
    sig = None
    for rep in r.reports:
        w = f"{what}: {rep['reason']} report {rep['_file']}"
        py = soft(check_valid, rep, w)
        if rep["reason"] == "exit" and py is not None:
            soft(check_eq, py["safe_point"], "exit", f"{w}: safe_point")
        if rep["reason"] == "signal":
            sig = rep
    if sig is not None and runs.sent is not None:
        soft(check, sig["monotonic_s"] >= runs.sent,
             f"{what}: the signal report began at {sig['monotonic_s']:.3f}, before the signal "
             f"was sent at {runs.sent:.3f}")
    return sig


def safe_point(sig):
    return (sig.get("python") or {}).get("safe_point")


def busy(py, minor, soft):
    what = "busy"
    runs = scenario(py, what)
    t, sent = runs.truth, runs.sent
    check(t.get("loop_start", 1e99) < sent < t.get("loop_end", -1),
          f"{what}: the signal ({sent:.3f}) did not land inside the loop {t}")
    soft(check, "busy result" in runs.shim.stdout, f"{what}: no result printed: {runs.shim.stdout!r}")
    sig = common(runs, soft, what)
    if sig is None:
        return
    m = sig["monotonic_s"]
    soft(check_eq, safe_point(sig), "pending_call",
         f"{what}: safe_point of the report on a signal {m - sent:.3f} s into a pure-Python loop")
    soft(check, m - sent < 1.0, f"{what}: the report began {m - sent:.3f} s after the signal (limit 1.0)")
    soft(check, m < t["loop_end"],
         f"{what}: the report began at {m:.3f}, after the loop ended at {t['loop_end']:.3f}")
    print(f"    signal +{m - sent:.3f} s, safe_point {safe_point(sig)}, loop "
          f"{t['loop_end'] - t['loop_start']:.2f} s")


def blocked(py, minor, soft):
    what = "blocked"
    runs = scenario(py, what)
    t, sent = runs.truth, runs.sent
    check(t.get("sleep_start", 1e99) < sent < t.get("sleep_end", -1),
          f"{what}: the signal ({sent:.3f}) did not land inside the sleep {t}")
    sig = common(runs, soft, what)
    if sig is None:
        return
    m = sig["monotonic_s"]
    soft(check_eq, safe_point(sig), "gil",
         f"{what}: safe_point of the report on a signal while the main thread sleeps")
    soft(check, m < sent + 1.5, f"{what}: the report began {m - sent:.3f} s after the signal "
                                f"(limit 1.5; the sleep lasts 3)")
    soft(check, m < t["sleep_end"],
         f"{what}: the report began at {m:.3f}, after the sleep returned at {t['sleep_end']:.3f}")
    print(f"    signal +{m - sent:.3f} s, safe_point {safe_point(sig)}, sleep ended "
          f"+{t['sleep_end'] - sent:.3f} s")


def in_gc(py, minor, soft):
    what = "gc"
    runs = scenario(py, what)
    t, sent = runs.truth, runs.sent
    check(t.get("gc_start", 1e99) <= t.get("del_start", 1e99) < sent < t.get("del_end", -1),
          f"{what}: the signal ({sent:.3f}) did not land while __del__ ran inside the "
          f"collection {t}")
    sig = common(runs, soft, what)
    if sig is None:
        return
    m = sig["monotonic_s"]
    soft(check_eq, safe_point(sig), "gc_stop",
         f"{what}: safe_point of the report on a signal while a __del__ runs bytecode in gc.collect()")
    soft(check, t["del_end"] <= m <= t["gc_stop"],
         f"{what}: the report began at {m:.3f}; the collection's work ended at {t['del_end']:.3f} "
         f"and the program's own stop callback ran at {t['gc_stop']:.3f}")
    objs = soft(pylib.unreachable, sig)
    if objs is not None:
        dying = {int(x, 16) for x in t["dying"]}
        soft(check, not (dying & set(objs)),
             f"{what}: the report lists objects the collector was freeing: "
             f"{[(hex(a), objs[a]['type']) for a in dying & set(objs)]}")
        witness = {int(x, 16) for x in t["witness"]}
        soft(check, witness <= set(objs),
             f"{what}: the witness cycle {t['witness']} (garbage made inside __del__) is not among "
             f"the report's {len(objs)} unreachable objects")
    py_ = sig.get("python") or {}
    soft(check_eq, py_.get("gc_enabled"), False, f"{what}: python.gc_enabled")
    print(f"    signal +{m - sent:.3f} s, safe_point {safe_point(sig)}, collection work ended "
          f"+{t['del_end'] - sent:.3f} s")


def shutdown_safe_point(minor):
    """3.8: _Py_FinishPendingCalls, before the atexit callbacks, sets the
    runtime's pending.finishing; Py_AddPendingCall then prints SystemError
    "cannot add pending calls (Python shutting down)" into whichever thread
    state holds the GIL, so the shim must not queue one: the report thread
    takes the GIL.  3.9-3.13 have no such flag and the eval loop still runs
    pending calls in atexit callbacks: the pending call answers, at a
    bytecode boundary of the program's callback."""
    return "gil" if minor == 8 else "pending_call"


def shutdown(py, minor, soft):
    what = "shutdown"
    runs = scenario(py, what)
    t, sent = runs.truth, runs.sent
    check(t.get("atexit_start", 1e99) < sent < t.get("atexit_end", -1),
          f"{what}: the signal ({sent:.3f}) did not land inside the program's atexit callback {t}")
    sig = common(runs, soft, what)
    if sig is None:
        return
    m = sig["monotonic_s"]
    want = shutdown_safe_point(minor)
    soft(check_eq, safe_point(sig), want,
         f"{what}: safe_point of the report on a signal during the program's atexit callback "
         f"(Python 3.{minor})")
    if want == "pending_call":
        soft(check, m - sent < 1.0,
             f"{what}: the report began {m - sent:.3f} s after the signal (limit 1.0)")
    soft(check, m < t["atexit_end"],
         f"{what}: the report began at {m:.3f}, after the program's atexit callback ended at "
         f"{t['atexit_end']:.3f}")
    ex = [rep for rep in runs.shim.reports if rep["reason"] == "exit"]
    if ex:
        soft(check, ex[0]["monotonic_s"] >= t["atexit_end"],
             f"{what}: the exit report began at {ex[0]['monotonic_s']:.3f}, before the program's "
             f"atexit callback ended at {t['atexit_end']:.3f}")
        soft(check_eq, [sig["seq"], ex[0]["seq"]], [1, 2], f"{what}: seq of the signal and exit reports")
    print(f"    signal +{m - sent:.3f} s, safe_point {safe_point(sig)}")


def api_gc(py, minor, soft):
    what = "api_gc"
    runs = scenario(py, what)
    r, t = runs.shim, runs.truth
    same_as_baseline(runs, soft, what)
    by_reason = {rep["reason"]: rep for rep in r.reports}
    soft(check_eq, sorted(rep["reason"] for rep in r.reports), ["api", "exit"],
         f"{what}: reasons of the reports written")
    api, ex = by_reason.get("api"), by_reason.get("exit")
    if api is not None:
        py_ = soft(check_valid, api, f"{what}: api report")
        if py_ is not None:
            soft(check_eq, py_["safe_point"], "api", f"{what}: api report safe_point")
        soft(check_eq, (api.get("detector") or {}).get("enumeration"), "get_objects",
             f"{what}: api report written during a collection: detector.enumeration")
        objs = soft(pylib.unreachable, api)
        if objs is not None:
            witness = {int(x, 16) for x in t.get("witness", [])}
            soft(check, witness and witness <= set(objs),
                 f"{what}: the witness cycle {t.get('witness')} is not among the api report's "
                 f"{len(objs)} unreachable objects")
            dying = {int(x, 16) for x in t.get("dying", [])}
            soft(check, not (dying & set(objs)),
                 f"{what}: the api report names objects the collector is freeing")
    if ex is not None:
        soft(check_eq, (ex.get("detector") or {}).get("enumeration"), "gc_lists",
             f"{what}: exit report: detector.enumeration")


def forked(py, minor, soft):
    what = "fork"
    runs = scenario(py, what)
    r = runs.shim
    same_as_baseline(runs, soft, what,
                     lambda out: re.sub(r"^ready \d+$", "ready PID", out, flags=re.M))
    sigs = [rep for rep in r.reports if rep["reason"] == "signal"]
    exits = [rep for rep in r.reports if rep["reason"] == "exit"]
    soft(check_eq, (len(sigs), len(exits)), (1, 1),
         f"{what}: (signal, exit) reports; the child ends with os._exit")
    if sigs and exits:
        sig = sigs[0]
        soft(check, sig["pid"] != exits[0]["pid"] == r.pid,
             f"{what}: the signal report (pid {sig['pid']}) is the child's, the exit report "
             f"(pid {exits[0]['pid']}) the parent's ({r.pid})")
        py_ = soft(check_valid, sig, f"{what}: child's signal report")
        if py_ is not None:
            soft(check_eq, py_["safe_point"], "pending_call", f"{what}: child's safe_point")
        soft(check, 0 <= sig["monotonic_s"] - runs.sent < 1.0,
             f"{what}: the child's report began {sig['monotonic_s'] - runs.sent:.3f} s after the "
             f"signal (limit 1.0)")


SCENARIOS = (("busy", busy), ("blocked", blocked), ("gc", in_gc), ("shutdown", shutdown),
             ("api_gc", api_gc), ("fork", forked))


def test():
    check(len(sys.argv) == 2, f"usage: {sys.argv[0]} KEY ({'|'.join(pylib.KEYS)})")
    soft = Soft()
    for label, py in pylib.interpreters(sys.argv[1]):
        minor = int(label.split()[-1].split(".")[1])
        first_error = len(soft.failures)
        print(f"Python {label} ({py}):")
        for name, fn in SCENARIOS:
            n = len(soft.failures)
            start = time.monotonic()
            soft(fn, py, minor, soft)
            print(f"  {name}: {'ok' if len(soft.failures) == n else 'FAILED'} "
                  f"({time.monotonic() - start:.1f} s)")
        soft.failures[first_error:] = [f"Python {label}: {e}" for e in soft.failures[first_error:]]
    soft.done()


main(test)
