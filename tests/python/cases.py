import gc; gc.collect(); gc.disable()
# ^ Determinism prologue: it must stay the first line, before any other
# import.  Interpreter start-up (site, encodings...) ran with the collector
# enabled, and the shim's own allocations shift when automatic collections
# fire, so the start-up garbage still uncollected at this point differs
# between a run with the shim and one without.  Collecting it all here and
# disabling the collector makes everything after this line allocate the
# same garbage in both runs.
#
# cases.py - the garbage of CPython's Lib/test/test_gc.py, built for the
# live-CPython oracle tests (tests/integration/test_python_*.py).
#
#   cases.py MODE CASE[,CASE...]|all|none
#
# MODE
#   exit     build the garbage and return: the shim's exit report (written
#            from its atexit callback, after ours) must find it.
#   oracle   build the same garbage, then let CPython's own collector say
#            what is unreachable: gc.set_debug(DEBUG_COLLECTABLE |
#            DEBUG_UNCOLLECTABLE); gc.collect() prints one
#            "gc: collectable <TYPE 0xADDR>" line per object on stderr (and
#            "gc: uncollectable <...>" for legacy finalizers), before any
#            finalizer runs.  The driver parses stderr.
#   signal   build the garbage, send ourselves SIGUSR1, wait (bounded) for
#            the report file r.<pid>.1.json, then run the oracle collection
#            in this same process: the report and the collector see the same
#            objects at the same addresses.
#
# Every mode runs the same code up to the end of the build, so the garbage
# (including what the imports below leave) is the same in all of them.
# Ground truth is written (os.write, no Python file objects) to $LP_TRUTH:
# the ids, types and descriptions of the objects each case made garbage
# on purpose, line numbers for tracebacks, and from an atexit callback
# (which runs before the shim's) the collector's counters and generations.
import atexit
import json
import os
import signal
import sys
import time
import weakref

TRUTH = os.environ.get("LP_TRUTH", "")
T = {"version": "%d.%d.%d" % sys.version_info[:3], "file": sys._getframe().f_code.co_filename,
     "pid": os.getpid(), "cases": {}, "objects": [], "unavailable": [], "lines": {}}


def write_file(path, text):
    if not path:
        return
    fd = os.open(path + ".part", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, text.encode())
    os.close(fd)
    os.rename(path + ".part", path)


def note(obj, case, description=None):
    """State that obj is garbage made on purpose (by address: id())."""
    T["objects"].append({"id": "0x%x" % id(obj), "type": type(obj).__name__,
                         "case": case, "description": description})


class Unavailable(Exception):
    pass


# Classes stay reachable (module globals) unless a case makes the class
# itself garbage: a class is always on a cycle (its mro tuple, its
# __dict__/__weakref__ descriptors) and would otherwise join every case.
class Plain:
    pass


class WithSlots:
    __slots__ = ("other",)


class NewA(object):
    pass


class NewB(list):
    pass


class NewC(NewB, NewA):
    pass


class Method:
    def __init__(self):
        self.init = self.__init__


class WithDel:
    ran = 0

    def __del__(self):
        WithDel.ran += 1


class Lazarus:
    saved = []

    def __del__(self):
        Lazarus.saved.append(self)


class Node:
    pass


class Holder:
    pass


WR_CALLS = []


def wr_callback(ref):
    WR_CALLS.append(1)


# --- the cases: each makes garbage and keeps nothing reachable -----------

def case_list():
    l = []
    l.append(l)
    note(l, "list")


def case_dict():
    d = {}
    d[1] = d
    note(d, "dict")


def case_tuple():
    l = []
    t = (l,)
    l.append(t)
    note(l, "tuple")
    note(t, "tuple")


def case_class():
    class A:
        pass
    A.a = A
    note(A, "class", "class A")


def case_instance():
    a = Plain()
    a.a = a
    note(a, "instance")


def case_newinstance():
    # test_newinstance: C(B(list), A)
    c = NewC()
    c.a = c
    note(c, "newinstance")


def case_method():
    m = Method()
    note(m, "method")
    note(m.init, "method")  # the bound method stored in the instance


def case_function():
    d = {}
    exec("def f(): pass\n", d)
    note(d["f"], "function", "function f")
    note(d, "function")


def frame_rec(n):
    f = sys._getframe()  # frame -> its locals -> frame
    note(f, "frame")
    if n:
        frame_rec(n - 1)


def case_frame():
    frame_rec(2)


def exc_raiser():
    try:
        raise ValueError("cycle")
    except ValueError as e:
        err = e  # exception -> traceback -> this frame -> err -> exception
        note(err, "exception")
        note(err.__traceback__, "exception")


def case_exception():
    exc_raiser()


def self_gen():
    me = yield 1
    yield me


def case_generator():
    g = self_gen()
    next(g)
    g.send(g)  # the suspended frame's `me` is the generator itself
    note(g, "generator")


def case_closure():
    def inner(n):  # inner -> closure tuple -> cell -> inner
        return inner(n - 1) if n else 0
    inner(3)
    note(inner, "closure", "function case_closure.<locals>.inner")


def case_del():
    a = WithDel()
    b = WithDel()
    a.b = b
    b.a = a
    note(a, "del")
    note(b, "del")


def case_resurrect():
    a = Lazarus()
    a.me = a
    note(a, "resurrect")


def case_slots():
    a = WithSlots()
    b = WithSlots()
    a.other = b
    b.other = a
    note(a, "slots")
    note(b, "slots")


def case_weakref():
    # A weakref (with a callback) held by its own referent.
    h = Holder()
    h.ref = weakref.ref(h, wr_callback)
    note(h, "weakref")
    note(h.ref, "weakref")
    # The callback itself on the cycle: its defaults tuple holds the referent.
    k = Holder()

    def cb(ref, keep=k):
        WR_CALLS.append(2)
    k.ref = weakref.ref(k, cb)
    note(k, "weakref")
    note(cb, "weakref", "function case_weakref.<locals>.cb")


def case_chain():
    first = Node()
    n = first
    note(n, "chain")
    for i in range(999):
        n.next = Node()
        n = n.next
        note(n, "chain")
    n.next = first


def case_nested():
    d = {"l": [1, 2, (3, {"s": {4, 5}, "f": frozenset([6])})]}
    d["l"][2][1]["back"] = d
    note(d, "nested")
    note(d["l"], "nested", "list of 3")
    note(d["l"][2], "nested", "tuple of 2")


def case_legacy():
    # test_legacy_finalizer: a tp_del type is uncollectable, and so is
    # whatever it reaches.
    try:
        import _testcapi
    except ImportError:
        raise Unavailable("no _testcapi")
    if not hasattr(_testcapi, "with_tp_del"):
        raise Unavailable("no _testcapi.with_tp_del")

    @_testcapi.with_tp_del
    class A:
        def __tp_del__(self):
            pass

    class B:
        pass
    a = A()
    a.a = a
    b = B()
    b.b = b
    note(a, "legacy")
    note(b, "legacy")
    LEGACY_KEEP.append((A, B))  # the classes stay alive


LEGACY_KEEP = []


def case_descriptions():
    # test 6: descriptions of a function, a class and a list in a cycle.
    def named_fn():
        return named_fn
    note(named_fn, "descriptions", "function case_descriptions.<locals>.named_fn")

    class Klass:
        pass
    Klass.me = Klass
    note(Klass, "descriptions", "class Klass")
    l = [10, 20, 30]
    l.append(l)
    note(l, "descriptions", "list of 4")


def make_cycle():
    # test 5: objects with an allocation traceback that tracemalloc keeps
    # (no free list: instances, __slots__ instances, functions, classes).
    here = sys._getframe()
    n = Node(); T["lines"]["node"] = here.f_lineno
    n.me = n
    s = WithSlots(); T["lines"]["slots"] = here.f_lineno
    s.other = s
    def fn(): return fn
    T["lines"]["function"] = fn.__code__.co_firstlineno
    note(n, "traceback", "line:node")
    note(s, "traceback", "line:slots")
    note(fn, "traceback", "line:function")
    T["lines"]["function_name"] = "make_cycle"
    del here


def case_traceback():
    make_cycle()


CASES = {
    "list": case_list, "dict": case_dict, "tuple": case_tuple, "class": case_class,
    "instance": case_instance, "newinstance": case_newinstance, "method": case_method,
    "function": case_function, "frame": case_frame, "exception": case_exception,
    "generator": case_generator, "closure": case_closure, "del": case_del,
    "resurrect": case_resurrect, "slots": case_slots, "weakref": case_weakref,
    "chain": case_chain, "nested": case_nested, "legacy": case_legacy,
    "descriptions": case_descriptions, "traceback": case_traceback,
}
# "all" builds every case in one process (not the feature cases).
ALL = [c for c in CASES if c not in ("descriptions", "traceback")]


def at_exit():
    # Registered after the shim's callback (armed before this script ran),
    # so it runs first (atexit is LIFO).  Measure first, allocate after.
    count = gc.get_count()
    threshold = gc.get_threshold()
    enabled = gc.isenabled()
    n0 = len(gc.get_objects(0))
    n1 = len(gc.get_objects(1))
    n2 = len(gc.get_objects(2))
    write_file(TRUTH + ".atexit" if TRUTH else "", json.dumps(
        {"count": list(count), "threshold": list(threshold), "gc_enabled": enabled,
         "objects": [n0, n1, n2]}))


def report_path(seq):
    pat = os.environ.get("LEAKPROBE_OUTPUT", "")
    out, i = "", 0
    while i < len(pat):
        if pat[i] == "%" and i + 1 < len(pat):
            c = pat[i + 1]
            out += {"p": str(os.getpid()), "n": str(seq), "%": "%"}.get(c, "%" + c)
            i += 2
        else:
            out += pat[i]
            i += 1
    return out


def main():
    mode, which = sys.argv[1], sys.argv[2]
    names = ALL if which == "all" else [] if which == "none" else which.split(",")
    atexit.register(at_exit)
    for name in names:
        try:
            CASES[name]()
            T["cases"][name] = "built"
        except Unavailable as ex:
            T["unavailable"].append(name)
            T["cases"][name] = "unavailable: %s" % ex
    # Keep T reachable and finished before the report: no more garbage.
    write_file(TRUTH, json.dumps(T))
    if mode == "oracle":
        gc.set_debug(gc.DEBUG_COLLECTABLE | gc.DEBUG_UNCOLLECTABLE)
        gc.collect()
        gc.set_debug(0)
    elif mode == "signal":
        path = report_path(1)
        os.kill(os.getpid(), signal.SIGUSR1)
        deadline = time.monotonic() + 20.0
        seen = False
        while True:
            if os.access(path, os.F_OK):
                seen = True
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.002)
        # The report is written: the same objects, to CPython's collector.
        sys.stderr.write("cases: signal report %s\n" % ("seen" if seen else "NOT SEEN"))
        sys.stderr.flush()
        gc.set_debug(gc.DEBUG_COLLECTABLE | gc.DEBUG_UNCOLLECTABLE)
        gc.collect()
        gc.set_debug(0)
    elif mode != "exit":
        sys.exit("unknown mode %r" % mode)


main()
