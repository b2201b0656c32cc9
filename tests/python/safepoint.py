import gc; gc.collect(); gc.disable()
# ^ Determinism prologue (see cases.py): it must stay the first line.
#
# safepoint.py - where a report signal meets the interpreter, for
# tests/integration/test_python_safepoint.py.
#
#   safepoint.py MODE      MODE: busy | blocked | gc | shutdown
#
# The DRIVER sends the report signal, from outside, once this script has
# printed (and flushed) its "ready" line.  Nothing here starts a thread:
# another Python thread would wake the main thread for a pending call and
# hide the 3.9-3.12 wake-up bug this test is about.  Nothing here installs
# a handler for the signal either; the baseline run without the shim is
# not signalled.
#
#   busy      the main thread runs a pure-Python loop with a fixed number
#             of iterations (1.4-2.7 s on 3.8-3.13 here) and prints its
#             result: the report must come from a pending call at a
#             bytecode boundary of this loop.
#   blocked   the main thread is in time.sleep(3): the report must come
#             from the report thread holding the GIL, before the sleep
#             ends; the pending call that runs when it returns must not
#             write a second one.
#   gc        gc.collect() of a 2-cycle whose __del__ busy-loops for 0.8 s
#             each without releasing the GIL; the first one prints "ready"
#             and makes a 2-cycle of lists (the witness: garbage that is
#             not this collection's).  The report must wait for the
#             collection's "stop" callback.
#   shutdown  the program's own atexit callback (it runs before the
#             shim's: registered later) prints "ready" and busy-loops for
#             1 s: a report signal during interpreter shutdown.
#   fork      a pre-forking server's worker: the process forks, the child
#             prints "ready PID" and runs the busy loop, then os._exit(0);
#             the parent waits for it.  The signal goes to the child.
#   api_gc    no signal: a __del__ inside gc.collect() makes a witness
#             2-cycle and calls leakprobe_report("in-gc") through ctypes
#             (when the shim is loaded): a report asked for by the program
#             in the middle of a collection.
#
# Ground truth, as JSON in $LP_TRUTH (written with os.write at the end of
# the mode; CLOCK_MONOTONIC seconds, the clock of the reports'
# "monotonic_s"):
#   busy      loop_start, loop_end
#   blocked   sleep_start, sleep_end
#   gc        del_start (first __del__), del_end (the last __del__ ended),
#             gc_start / gc_stop (the program's own gc.callbacks, which
#             run after the shim's), dying (ids of the cycle collected),
#             witness (ids of the lists made inside __del__)
#   shutdown  atexit_start, atexit_end
import atexit
import json
import os
import sys
import time

TRUTH = os.environ.get("LP_TRUTH", "")
T = {}
BUSY_ITERATIONS = 22000000
DEL_SPIN_S = 0.8
ATEXIT_SPIN_S = 1.0


def write_truth():
    if not TRUTH:
        return
    fd = os.open(TRUTH, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, json.dumps(T).encode())
    finally:
        os.close(fd)


def ready():
    sys.stdout.write("ready\n")
    sys.stdout.flush()


def spin(seconds):
    """Pure Python, no system call that releases the GIL."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


def busy():
    ready()
    T["loop_start"] = time.monotonic()
    acc = 0
    for i in range(BUSY_ITERATIONS):
        acc = (acc * 31 + i) % 1000003
    T["loop_end"] = time.monotonic()
    print("busy result", acc)
    write_truth()


def blocked():
    ready()
    T["sleep_start"] = time.monotonic()
    time.sleep(3)
    T["sleep_end"] = time.monotonic()
    print("slept")
    # Bytecode after the sleep: a pending call still queued runs here.
    acc = 0
    for i in range(200000):
        acc += i & 7
    print("after sleep", acc)
    write_truth()


class Dying:
    first = True

    def __del__(self):
        if Dying.first:
            Dying.first = False
            T["del_start"] = time.monotonic()
            ready()
            w1, w2 = [], []
            w1.append(w2)
            w2.append(w1)
            T["witness"] = [hex(id(w1)), hex(id(w2))]
            del w1, w2
        spin(DEL_SPIN_S)
        T["del_end"] = time.monotonic()  # the last one: the work is over


def phase(p, info):
    T["gc_" + p] = time.monotonic()


def in_gc():
    a, b = Dying(), Dying()
    a.peer, b.peer = b, a
    T["dying"] = [hex(id(a)), hex(id(b))]
    del a, b
    gc.callbacks.append(phase)
    found = gc.collect()
    gc.callbacks.remove(phase)
    print("collected", found)
    write_truth()


def at_exit():
    ready()
    T["atexit_start"] = time.monotonic()
    spin(ATEXIT_SPIN_S)
    T["atexit_end"] = time.monotonic()
    write_truth()


def shutdown():
    atexit.register(at_exit)
    print("main done")


class ReportsInDel:
    def __del__(self):
        if "witness" in T:
            return
        w1, w2 = [], []
        w1.append(w2)
        w2.append(w1)
        T["witness"] = [hex(id(w1)), hex(id(w2))]
        del w1, w2
        import ctypes
        # PyDLL: the call keeps the GIL (CDLL would release it).
        report = getattr(ctypes.PyDLL(None), "leakprobe_report", None)
        if report is not None:  # the baseline runs without the shim
            report(b"in-gc")


def api_gc():
    ready()
    a, b = ReportsInDel(), ReportsInDel()
    a.peer, b.peer = b, a
    T["dying"] = [hex(id(a)), hex(id(b))]
    del a, b
    print("collected", gc.collect())
    write_truth()


def forked():
    import warnings
    # 3.12+ warn on fork() in a process with threads (the shim's report
    # thread is one: docs/design.md, Known limits); not what this tests.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    pid = os.fork()
    if pid == 0:
        sys.stdout.write("ready %d\n" % os.getpid())
        sys.stdout.flush()
        acc = 0
        for i in range(BUSY_ITERATIONS):
            acc = (acc * 31 + i) % 1000003
        print("child result", acc)
        sys.stdout.flush()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("parent: child exited", status)


MODES = {"busy": busy, "blocked": blocked, "gc": in_gc, "shutdown": shutdown,
         "api_gc": api_gc, "fork": forked}

if len(sys.argv) != 2 or sys.argv[1] not in MODES:
    sys.exit("usage: safepoint.py %s" % "|".join(MODES))
MODES[sys.argv[1]]()
