"""Live CPython: the shim's unreachable objects are exactly the garbage
CPython's own collector finds, case by case (the cases of CPython's
Lib/test/test_gc.py, built by tests/python/cases.py).

    test_python_oracle.py KEY      KEY: system | 3.8 ... 3.13

For each interpreter of KEY (Debian's /usr/bin/python3, or every pyenv
3.N.x present; skipped when there is none) and each case:

  exit    the shim's exit report (its atexit callback) against CPython's
          collector run at the same point of a separate run without the
          shim (gc.DEBUG_COLLECTABLE lines): per-type counts equal;
  signal  the report written on SIGUSR1 while the script waits, against
          (a) CPython's collector in the same process right after the
          report: the same objects by address and type, and (b) a separate
          run without the shim, collecting at that point: per-type counts.

Both sides count everything unreachable, the case's garbage and whatever
start-up left (the prologue of cases.py makes that the same in every run).
In every run, each object the script made garbage on purpose (by id())
must be among CPython's verdict and the shim's, with its type and, where
the script states one, its description, refcount, generation, and for
groups of known shape the members, edges (gc.get_referents) and in_cycle.
Cases run with -S (see tests/python/pylib.py); "none" and "all" also run
with site.  "(in-gc)" rows: the signal arrives during a collection (a
__del__ sends it and sleeps), the report is deferred to the collection's
end and must equal CPython's verdict right after, by address."""
import os
import sys

from lptest import python as pylib  # noqa: E402
from lptest import Failure, Soft, check, check_eq, main  # noqa: E402
from lptest.python import run  # noqa: E402

CASE_LIST = ["none", "oldgen", "list", "dict", "tuple", "class", "instance", "newinstance", "method",
             "function", "frame", "exception", "generator", "closure", "del", "resurrect",
             "slots", "tail", "materialized", "weakref", "chain", "nested", "legacy", "thread", "frozen",
             "descriptions", "all"]
SITE_CASES = ["none", "all"]
IN_GC_CASES = ["oldgen", "all"]
TIMEOUT = 120


def truth_of(r, what):
    check(r.truth is not None, f"{what}: the script wrote no truth.json (exit code {r.rc}); "
                               f"stderr:\n{pylib.tail(r.stderr)}")
    return r.truth


def check_run(r, what):
    check(r.rc == 0, f"{what}: exit code {r.rc}; stderr:\n{pylib.tail(r.stderr)}")
    warn = r.warnings()
    check(not warn, f"{what}: the shim warned: {warn}")


def case_tag(case, flags):
    return case if flags == pylib.PYFLAGS else case + "(site)"


def one_case(py, case, flags, soft, results):
    tag = case_tag(case, flags)
    argv = lambda mode: [py] + flags + [pylib.CASES, mode, case]  # noqa: E731
    env = pylib.env()

    # --- exit: the shim's exit report against the collector at that point
    o = run(argv("oracle-exit"), env=env, shim=False, timeout=TIMEOUT)
    check_run(o, f"{tag}: oracle run")
    ot = truth_of(o, f"{tag}: oracle run")
    state = ot.get("cases", {}).get(case, "built")
    if state != "built":  # legacy without _testcapi ("all" goes on without it)
        results[tag] = ("n/a", "n/a", state)
        return
    oracle = pylib.debug_objects(o.stderr)
    pylib.check_noted(ot, oracle, f"{tag}: oracle run", shim=False)
    want = pylib.oracle_counter(oracle)

    errors = len(soft.failures)
    r = run(argv("exit"), env=env, timeout=TIMEOUT)
    check_run(r, f"{tag}: exit run")
    rep = r.report("exit")
    pylib.python_section(rep, f"{tag}: exit report")
    got_objs = pylib.unreachable(rep)
    got = pylib.shim_counter(got_objs)
    soft(check, got == want,
         f"{tag}: exit report: per-type counts of unreachable objects differ from CPython's "
         f"collector ({sum(want.values())} objects expected, {sum(got.values())} reported): "
         f"{pylib.counter_diff(want, got)}")
    rt = truth_of(r, f"{tag}: exit run")
    soft(pylib.check_noted, rt, got_objs, f"{tag}: exit report", True)
    soft(pylib.check_groups, rt, rep, f"{tag}: exit report")
    soft(check_eq, rep["detector"].get("unreachable"), sum(got.values()),
         f"{tag}: exit report: detector.unreachable vs objects listed")

    exit_res = "match" if len(soft.failures) == errors else "MISMATCH"

    # --- signal: the report on SIGUSR1 while main() waits
    errors = len(soft.failures)
    os_ = run(argv("oracle-signal"), env=env, shim=False, timeout=TIMEOUT)
    check_run(os_, f"{tag}: oracle-signal run")
    want_sig = pylib.oracle_counter(pylib.debug_objects(os_.stderr))

    s = run(argv("signal"), env=env, timeout=TIMEOUT)
    check_run(s, f"{tag}: signal run")
    sig_txt = signal_truth(s)
    check(sig_txt.get("seen") == 1, f"{tag}: the signal report r.PID.1.json did not appear within "
                                    f"30 s; reports {[x['_file'] for x in s.reports]}")
    sig = s.report("signal")
    check_eq(sig["seq"], 1, f"{tag}: seq of the signal report")
    pylib.python_section(sig, f"{tag}: signal report")
    sig_objs = pylib.unreachable(sig)
    in_proc = pylib.debug_objects(s.stderr)
    sig_got = pylib.shim_counter(sig_objs)
    same_addr = set(sig_objs) == set(in_proc) and all(
        sig_objs[a]["qualified_type"] == in_proc[a][0] for a in sig_objs)
    if not same_addr:
        only_shim = sorted(set(sig_objs) - set(in_proc))
        only_gc = sorted(set(in_proc) - set(sig_objs))
        soft(check, False,
             f"{tag}: signal report vs CPython's collector in the same process: "
             f"{len(only_shim)} objects only in the report "
             f"{[(hex(a), sig_objs[a]['qualified_type']) for a in only_shim[:8]]}, "
             f"{len(only_gc)} only in CPython's verdict "
             f"{[(hex(a), in_proc[a][0]) for a in only_gc[:8]]}; types differ at "
             f"{[hex(a) for a in set(sig_objs) & set(in_proc) if sig_objs[a]['qualified_type'] != in_proc[a][0]][:8]}")
    soft(check, sig_got == want_sig,
         f"{tag}: signal report: per-type counts differ from CPython's collector in a separate "
         f"run ({sum(want_sig.values())} expected, {sum(sig_got.values())} reported): "
         f"{pylib.counter_diff(want_sig, sig_got)}")
    st = truth_of(s, f"{tag}: signal run")
    soft(pylib.check_noted, st, sig_objs, f"{tag}: signal report", True)
    soft(pylib.check_groups, st, sig, f"{tag}: signal report")
    soft(check, sig_txt.get("enabled_after") == 0,
         f"{tag}: the collector is enabled after the signal report; the script had disabled it")
    sig_res = "match" if len(soft.failures) == errors else "MISMATCH"
    results[tag] = (exit_res, sig_res, f"{sum(want.values())}/{sum(want_sig.values())} objects")


def in_gc_case(py, case, soft, results):
    """The signal arrives while a collection runs (a __del__ sends it and
    sleeps): the report is written when the collection stops, and must be
    what CPython's collector finds right after, in the same process."""
    tag = case + "(in-gc)"
    errors = len(soft.failures)
    s = run([py] + pylib.PYFLAGS + [pylib.CASES, "signal-in-gc", case], env=pylib.env(),
            timeout=TIMEOUT)
    check_run(s, f"{tag}: run")
    st = truth_of(s, f"{tag}: run")
    sig_txt = signal_truth(s)
    check(sig_txt.get("seen") == 1, f"{tag}: no signal report within 30 s")
    sig = s.report("signal")
    pylib.python_section(sig, f"{tag}: signal report")
    soft(check_eq, sig_txt.get("in_gc"), 1,
         f"{tag}: the report was written before gc.collect(0) returned (deferred to the "
         f"collection's end: the worker got the GIL while __del__ slept in the collection)")
    sig_objs = pylib.unreachable(sig)
    in_proc = pylib.debug_objects(s.stderr)
    ok = set(sig_objs) == set(in_proc) and all(
        sig_objs[a]["qualified_type"] == in_proc[a][0] for a in sig_objs)
    soft(check, ok, f"{tag}: report vs CPython's collector right after, same process: only in "
                    f"the report {[(hex(a), sig_objs[a]['type']) for a in set(sig_objs) - set(in_proc)][:8]}, "
                    f"only CPython's {[(hex(a), in_proc[a][0]) for a in set(in_proc) - set(sig_objs)][:8]}")
    # What collect(0) could not free: the garbage in generations 1 and 2.
    old = {"objects": [n for n in st["objects"] if n.get("generation") in (1, 2)],
           "groups": []}
    check(old["objects"], f"{tag}: the case made no garbage in generations 1-2")
    soft(pylib.check_noted, old, sig_objs, f"{tag}: signal report", True)
    results[tag] = ("n/a", "match" if len(soft.failures) == errors else "MISMATCH",
                    f"{len(in_proc)} objects after collect(0)")


def signal_truth(r):
    return r.files.get("signal.txt") or {}


def test():
    check(len(sys.argv) == 2, f"usage: {sys.argv[0]} KEY ({'|'.join(pylib.KEYS)})")
    soft = Soft()
    for label, py in pylib.interpreters(sys.argv[1]):
        first_error = len(soft.failures)
        results = {}
        for flags, cases in ((pylib.PYFLAGS, CASE_LIST), ([], SITE_CASES)):
            for case in cases:
                try:
                    one_case(py, case, flags, soft, results)
                except Failure as ex:
                    soft.failures.append(str(ex))
                    results.setdefault(case_tag(case, flags), ("ERROR", "ERROR", ""))
        for case in IN_GC_CASES:
            try:
                in_gc_case(py, case, soft, results)
            except Failure as ex:
                soft.failures.append(str(ex))
                results.setdefault(case + "(in-gc)", ("n/a", "ERROR", ""))
        print(f"Python {label} ({py}):")
        print(f"  {'case':18} {'exit':9} {'signal':9} CPython's garbage (exit/signal)")
        for tag, (e, s, note) in results.items():
            print(f"  {tag:18} {e:9} {s:9} {note}")
        soft.failures[first_error:] = [f"Python {label}: {e}" for e in soft.failures[first_error:]]
    soft.done()


main(test)
