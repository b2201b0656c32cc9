"""Live CPython: a program that wraps the gc module's functions in Python
(as profilers, test frameworks and debugging helpers do) gets the same
report, and none of its code runs while the report is written
(docs/design.md: "no Python code runs"; cpython_report.c: "only C
functions of exact builtin types are called").

    test_python_patched_gc.py KEY      KEY: system | 3.8 ... 3.13

tests/python/cases.py with LP_PATCH_GC=1 replaces gc.get_objects,
get_count, get_threshold, isenabled, disable and enable by Python wrappers
that count their calls (get_objects returns []), then sends itself SIGUSR1.
Expected: the report's unreachable objects are CPython's verdict right
after it in the same process (gc.collect does not use the wrappers), by
address, and no wrapper was called while the report was written."""
import os
import sys

from lptest import python as pylib  # noqa: E402
from lptest import Soft, check, check_eq, main  # noqa: E402


def patched(py, label, soft):
    r = pylib.run([py] + pylib.PYFLAGS + [pylib.CASES, "signal", "list,slots,chain"],
                  env=pylib.env({"LP_PATCH_GC": "1"}), timeout=120)
    check(r.rc == 0, f"{label}: exit code {r.rc}; stderr:\n{pylib.tail(r.stderr)}")
    st = r.files.get("signal.txt") or {}
    check_eq(st.get("seen"), 1, f"{label}: the signal report appeared")
    sig = r.report("signal")
    objs = pylib.unreachable(sig)
    in_proc = pylib.debug_objects(r.stderr)
    check(in_proc, f"{label}: CPython's collector found nothing: the case built no garbage")
    soft(check, set(objs) == set(in_proc),
         f"{label}: with gc.get_objects wrapped by the program, the report lists "
         f"{len(objs)} unreachable objects (generations "
         f"{[g['objects'] for g in sig.get('generations', [])]}, detector "
         f"{sig.get('detector')}); CPython's collector, right after in the same process, "
         f"finds {len(in_proc)} {pylib.fmt_counter(pylib.oracle_counter(in_proc))}")
    calls = [l for l in r.stderr.splitlines() if l.startswith("cases: program code ran")]
    soft(check_eq, st.get("patched_calls"), 0,
         f"{label}: calls of the program's gc wrappers while the report was written "
         f"({calls[:1]})")
    print(f"  {label}: report {len(objs)} unreachable, CPython {len(in_proc)}; "
          f"program code called during the report: {st.get('patched_calls')}")


def test():
    check(len(sys.argv) == 2, f"usage: {sys.argv[0]} KEY ({'|'.join(pylib.KEYS)})")
    soft = Soft()
    for label, py in pylib.interpreters(sys.argv[1]):
        patched(py, label, soft)
    soft.done()


main(test)
