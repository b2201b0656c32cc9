"""Live CPython in development mode: -X dev, PYTHONDEVMODE=1,
PYTHONMALLOC=debug and PYTHONMALLOC=malloc_debug switch the interpreter to
its debug allocators, which check the header of every block they free.
The audit hook that arms the shim is added before that switch (from our
constructor); its list entry, freed at finalization, once aborted every
such interpreter at exit (3.11: "_PyMem_DebugRawFree: bad ID", 3.12:
SIGSEGV).  Found by CPython's own test_os (ForkTests.test_fork).

    test_python_devmode.py KEY      KEY: system | 3.8 ... 3.13

Truth: the same interpreter without the shim (stdout, stderr, exit
status, the forked child's status), and tests/python/devmode.py's own
construction (CYCLES Request/Session cycles left unreachable), which the
exit report of the parent must show."""
import collections
import os
import sys

from lptest import python as pylib  # noqa: E402
from lptest import Soft, check, check_eq, main  # noqa: E402

SCRIPT = os.path.join(pylib.HERE, "devmode.py")
MODES = [
    ("-X dev", ["-X", "dev"], {}),
    ("PYTHONDEVMODE=1", [], {"PYTHONDEVMODE": "1"}),
    ("PYTHONMALLOC=debug", [], {"PYTHONMALLOC": "debug"}),
    ("PYTHONMALLOC=malloc_debug", [], {"PYTHONMALLOC": "malloc_debug"}),
]


def one(py, label, mode, flags, extra, soft):
    if label.startswith("3.8."):
        # CPython 3.8 itself: after os.fork() in debug-allocator mode the
        # child dies of SIGSEGV and the parent prints a corrupt-block dump,
        # without the shim too.  Its exit is still tested, without fork.
        extra = dict(extra, LP_DEVMODE_FORK="0")
    # Not pylib.PYFLAGS (-S): 3.8 without site prints a debug-allocator dump
    # of its own after fork in dev mode, with or without the shim.
    argv = [py] + flags + [SCRIPT]
    plain = pylib.run(argv, env=pylib.env(extra), shim=False, timeout=60)
    check_eq(plain.rc, 0, f"{label} {mode}: exit status without the shim")
    r = pylib.run(argv, env=pylib.env(extra), timeout=120)
    what = f"{label} {mode}"
    soft(check_eq, r.rc, plain.rc, f"{what}: exit status under the shim (stderr:\n"
                                   f"{pylib.tail(r.stderr, 1500)})")
    soft(check_eq, r.stdout, plain.stdout, f"{what}: stdout under the shim")
    soft(check_eq, r.stderr, plain.stderr, f"{what}: stderr under the shim")
    exits = {x["pid"]: x for x in r.reports if x["reason"] == "exit"}
    truth = r.truth or {}
    pids = [truth.get("parent")] + ([truth["child"]] if truth.get("child") else [])
    soft(check_eq, sorted(exits), sorted(pids),
         f"{what}: pids of the exit reports (parent and its forked child)")
    rep = exits.get(truth.get("parent"))
    if r.rc != 0 or rep is None:
        return
    pylib.python_section(rep, what)
    groups = collections.Counter(
        (sum(o["type"] == "Request" for o in g["objects"]),
         sum(o["type"] == "Session" for o in g["objects"]))
        for g in rep.get("unreachable", []))
    soft(check_eq, groups.get((1, 1), 0), truth.get("cycles"),
         f"{what}: unreachable groups of one Request and one Session in the parent's "
         f"exit report (groups by (Request, Session) count: {dict(groups)})")
    print(f"  {what}: exit {r.rc}, exit reports {sorted(exits)}, "
          f"Request/Session groups {groups.get((1, 1), 0)}")


def test():
    check(len(sys.argv) == 2, f"usage: {sys.argv[0]} KEY ({'|'.join(pylib.KEYS)})")
    soft = Soft()
    for label, py in pylib.interpreters(sys.argv[1]):
        for mode, flags, extra in MODES:
            one(py, label, mode, flags, extra, soft)
    soft.done()


main(test)
