"""Live CPython: what the report says about the interpreter's objects,
against what the program itself knows (tests/python/cases.py).

    test_python_details.py KEY      KEY: system | 3.8 ... 3.13

  tracebacks    LEAKPROBE_PYTHON_TRACEBACK=5: objects allocated in
                make_cycle() carry the innermost 5 frames of the stack the
                script recorded on the allocating line (file and line of
                each frame); without the option, tracemalloc is off and
                tracebacks are empty; the user's own PYTHONTRACEMALLOC wins.
  descriptions  a function, a class and a list on a cycle are described
                "function <qualname>", "class <name>", "list of N".
  generations   python.count, threshold, gc_enabled and the size and types
                of each generation equal what the script measured in an
                atexit callback that runs just before the shim's (exact:
                see at_exit() in cases.py for how the measurement avoids
                disturbing the figures), with objects in all three
                generations and a threshold of the script's choosing.
  gc state      a report on SIGUSR1 leaves the collector enabled if the
                program had it enabled (the shim disables it while looking).
  signals       the program's own Python handler for the report signal
                still runs; LEAKPROBE_SIGNAL=USR2 works the same.
  retention     every large block the script made (bytes, a bytearray's
                buffer, a list's item array, bytes nested in lists) is
                owned by the object the script says, and retained_by is
                the chain of references from module __main__ the script
                built, step by step; a block held only by a cycle has no
                chain and names the unreachable group holding the cycle.
                At exit and on SIGUSR1.
"""
import os
import sys

from lptest import python as pylib  # noqa: E402
from lptest import Soft, check, check_eq, main  # noqa: E402

TIMEOUT = 120


def cases_run(py, mode, case, extra=None, shim=True):
    r = pylib.run([py] + pylib.PYFLAGS + [pylib.CASES, mode, case], env=pylib.env(extra),
                  shim=shim, timeout=TIMEOUT)
    check(r.rc == 0, f"{case} ({mode}): exit code {r.rc}; stderr:\n{pylib.tail(r.stderr)}")
    check(r.truth is not None, f"{case} ({mode}): no truth.json; stderr:\n{pylib.tail(r.stderr)}")
    return r


def objects_of(r, reason="exit"):
    rep = r.report(reason)
    pylib.python_section(rep, f"{reason} report")
    return rep, pylib.unreachable(rep)


def tracebacks(py, soft):
    depth = 5
    r = cases_run(py, "exit", "traceback", {"LEAKPROBE_PYTHON_TRACEBACK": str(depth)})
    rep, objs = objects_of(r)
    check_eq(rep["python"]["tracemalloc"], True, "python.tracemalloc with LEAKPROBE_PYTHON_TRACEBACK=5")
    t = r.truth
    pylib.check_noted(t, objs, "traceback", True)
    for n in t["objects"]:
        key = n["description"][len("stack:"):]
        stack = t["stacks"][key]
        check(len(stack) > depth, f"the script's stack for {key} is only {len(stack)} deep")
        want = stack[-depth:]
        got = objs[int(n["id"], 16)]["traceback"]
        soft(check_eq, got, want,
             f"traceback of the {n['type']} allocated in make_cycle (line "
             f"{stack[-1]['line']}): innermost {depth} frames, most recent last")
        soft(check, got and got[-1]["file"] == t["file"] and got[-1]["line"] == stack[-1]["line"],
             f"{n['type']}: last frame {got[-1:] } is not {t['file']}:{stack[-1]['line']}")

    # Without the option: tracemalloc off, no tracebacks.
    r = cases_run(py, "exit", "traceback")
    rep, objs = objects_of(r)
    check_eq(rep["python"]["tracemalloc"], False, "python.tracemalloc without the option")
    soft(check, all(o["traceback"] == [] for o in objs.values()),
         f"tracebacks without tracemalloc: "
         f"{[o['traceback'] for o in objs.values() if o['traceback']][:3]}")

    # The user's own PYTHONTRACEMALLOC wins over the option (docs/options.md).
    r = cases_run(py, "exit", "traceback",
                  {"LEAKPROBE_PYTHON_TRACEBACK": "5", "PYTHONTRACEMALLOC": "2"})
    rep, objs = objects_of(r)
    for n in r.truth["objects"]:
        want = r.truth["stacks"][n["description"][len("stack:"):]][-2:]
        soft(check_eq, objs[int(n["id"], 16)]["traceback"], want,
             f"traceback of the {n['type']} with PYTHONTRACEMALLOC=2 and LEAKPROBE_PYTHON_TRACEBACK=5")


def descriptions(py, soft):
    for mode, reason in (("exit", "exit"), ("signal", "signal")):
        r = cases_run(py, mode, "descriptions")
        rep, objs = objects_of(r, reason)
        seen = {}
        for n in r.truth["objects"]:
            o = objs.get(int(n["id"], 16))
            check(o is not None, f"{reason} report: {n['type']} {n['id']} missing")
            seen[n["type"]] = o["description"]
            soft(check_eq, o["description"], n["description"], f"{reason} report: description of a {n['type']}")
        check_eq(sorted(seen), ["function", "list", "type"], "the description case's objects")


def generations(py, soft):
    variants = [("none", {}), ("all", {}),
                ("list", {"LP_GEN_SHAPE": "1", "LP_SET_THRESHOLD": "523,7,3"}),
                ("none", {"LP_GC_ENABLE": "1"})]
    for case, extra in variants:
        what = f"generations ({case}, {extra or 'defaults'})"
        e = dict(extra)
        e["LP_TYPES"] = "1"
        r = cases_run(py, "exit", case, e)
        rep = r.report("exit")
        py_ = pylib.python_section(rep, what)
        ax = r.files.get("atexit.txt")
        check(ax, f"{what}: the script's atexit callback wrote nothing")
        soft(check_eq, py_["count"], ax["count"], f"{what}: python.count vs gc.get_count()")
        soft(check_eq, py_["threshold"], ax["threshold"], f"{what}: python.threshold vs gc.get_threshold()")
        soft(check_eq, py_["gc_enabled"], bool(ax["enabled"]), f"{what}: python.gc_enabled vs gc.isenabled()")
        gens = rep["generations"]
        check_eq([g["gen"] for g in gens], [0, 1, 2], f"{what}: generations listed")
        soft(check_eq, [g["objects"] for g in gens], ax["objects"],
             f"{what}: objects per generation vs len(gc.get_objects(g))")
        soft(check_eq, [g["count"] for g in gens], ax["count"], f"{what}: generations[].count")
        soft(check_eq, [g["threshold"] for g in gens], ax["threshold"], f"{what}: generations[].threshold")
        types = _types(r)
        if types is not None:
            for g in range(3):
                soft(check_eq, gens[g]["by_type"], types[g],
                     f"{what}: generation {g} by_type vs the script's count of gc.get_objects({g})")
        if extra.get("LP_GEN_SHAPE"):
            soft(check, all(n > 0 for n in ax["objects"]),
                 f"{what}: the script meant objects in every generation, measured {ax['objects']}")
            soft(check_eq, ax["threshold"], [523, 7, 3], f"{what}: the threshold the script set")
        if extra.get("LP_GC_ENABLE"):
            soft(check_eq, ax["enabled"], 1, f"{what}: the script enabled the collector")
        print(f"  {what}: count {py_['count']} threshold {py_['threshold']} "
              f"objects {[g['objects'] for g in gens]} enabled {py_['gc_enabled']}")

    # The collector, enabled by the program, stays enabled after a report.
    r = cases_run(py, "signal", "none", {"LP_GC_ENABLE": "1"})
    sig = r.report("signal")
    soft(check_eq, pylib.python_section(sig, "signal report")["gc_enabled"], True,
         "signal report: gc_enabled of a program that enabled the collector")
    soft(check_eq, (r.files.get("signal.txt") or {}).get("enabled_after"), 1,
         "gc.isenabled() in the program after the signal report")


def signals(py, soft):
    """The program's own Python handler for the report signal still runs,
    and another report signal (LEAKPROBE_SIGNAL=USR2) works the same; the
    report equals CPython's verdict right after it, by address."""
    for what, extra in (("Python handler for SIGUSR1", {"LP_PY_HANDLER": "1"}),
                        ("LEAKPROBE_SIGNAL=USR2", {"LP_SIGNAL": "USR2", "LEAKPROBE_SIGNAL": "USR2"}),
                        ("Python handler for SIGUSR2 with LEAKPROBE_SIGNAL=USR2",
                         {"LP_PY_HANDLER": "1", "LP_SIGNAL": "USR2", "LEAKPROBE_SIGNAL": "USR2"})):
        r = cases_run(py, "signal", "list,slots", extra)
        st = r.files.get("signal.txt") or {}
        check_eq(st.get("seen"), 1, f"{what}: the signal report appeared")
        if extra.get("LP_PY_HANDLER"):
            soft(check_eq, st.get("handled"), 1, f"{what}: the program's handler ran")
        sig = r.report("signal")
        objs = pylib.unreachable(sig)
        in_proc = pylib.debug_objects(r.stderr)
        soft(check, set(objs) == set(in_proc),
             f"{what}: report vs CPython's collector right after: "
             f"{len(set(objs) - set(in_proc))} only in the report, "
             f"{len(set(in_proc) - set(objs))} only CPython's")
        soft(pylib.check_noted, r.truth, objs, what, True)
        print(f"  signals ({what}): report with {len(objs)} unreachable objects, "
              f"handler ran {st.get('handled')} times")


def retention(py, soft):
    for mode, reason in (("exit", "exit"), ("signal", "signal")):
        r = cases_run(py, mode, "retention")
        rep = r.report(reason)
        pylib.python_section(rep, f"{reason} report")
        want = r.truth.get("large") or []
        check(len(want) == 5, f"the retention case stated {len(want)} large objects")
        by_owner = {}
        for b in rep["large"]:
            o = b.get("owner")
            if o:
                by_owner[int(o["address"], 16)] = (b, o)
        for w in want:
            what = f"{reason} report: large block owned by {w['type']} {w['owner']}"
            got = by_owner.get(int(w["owner"], 16))
            soft(check, got is not None,
                 f"{what}: no large block names it as owner; owners "
                 f"{[(hex(a), o['type']) for a, (b, o) in by_owner.items()]}")
            if got is None:
                continue
            block, owner = got
            soft(check_eq, owner["type"], w["type"], f"{what}: owner type")
            soft(check_eq, owner["retained_by"], w["retained_by"], f"{what}: retained_by")
            if w["garbage_member"]:
                gi = owner.get("unreachable_group")
                soft(check, gi is not None and 0 <= gi < len(rep["unreachable"]) and
                     int(w["garbage_member"], 16) in
                     {int(o["address"], 16) for o in rep["unreachable"][gi]["objects"]},
                     f"{what}: unreachable_group {gi} does not hold the cycle "
                     f"{w['garbage_member']}")
            else:
                soft(check, "unreachable_group" not in owner,
                     f"{what}: reachable from __main__, yet unreachable_group "
                     f"{owner.get('unreachable_group')}")
        print(f"  retention ({reason}): {len(want)} owners checked")


def _types(r):
    # types.json is written by cases.py next to truth.json; lptest reads
    # only truth.json*, so it comes back through pylib.run's files.
    return r.files.get("types.json")


def test():
    check(len(sys.argv) == 2, f"usage: {sys.argv[0]} KEY ({'|'.join(pylib.KEYS)})")
    soft = Soft()
    for label, py in pylib.interpreters(sys.argv[1]):
        first_error = len(soft.failures)
        print(f"Python {label} ({py}):")
        for name, fn in (("tracebacks", tracebacks), ("descriptions", descriptions),
                         ("generations", generations), ("signals", signals),
                         ("retention", retention)):
            n = len(soft.failures)
            soft(fn, py, soft)
            print(f"  {name}: {'ok' if len(soft.failures) == n else 'FAILED'}")
        soft.failures[first_error:] = [f"Python {label}: {e}" for e in soft.failures[first_error:]]
    soft.done()


main(test)
