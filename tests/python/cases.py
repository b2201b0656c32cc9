import gc; gc.collect(); gc.disable()
# ^ Determinism prologue: it must stay the first line, before any other
# import.  Interpreter start-up ran with the collector enabled, and the
# shim's own allocations shift when automatic collections fire, so the
# start-up garbage still uncollected at this point differs between a run
# with the shim and one without (e.g. 3.12's pure-Python classes that
# operator/functools replace by C ones).  Collecting it all here and
# disabling the collector makes everything after this line allocate the
# same objects, and leave the same garbage, in every run.
#
# cases.py - the garbage of CPython's Lib/test/test_gc.py, built for the
# live-CPython oracle tests (tests/integration/test_python_*.py).
#
#   cases.py MODE CASE[,CASE...]|all|none
#
# MODE
#   exit           build the garbage and return: the shim's exit report
#                  (written from its atexit callback, which runs after the
#                  program's own) must find it.
#   oracle-exit    build the same garbage; CPython's collector judges it
#                  from an atexit callback registered first, so it runs
#                  last of the program's callbacks, where the shim's does:
#                  gc.set_debug(DEBUG_COLLECTABLE | DEBUG_UNCOLLECTABLE)
#                  then gc.collect() prints "gc: collectable <TYPE 0xADDR>"
#                  for each unreachable object ("uncollectable" for legacy
#                  finalizers and what they reach) on stderr, before any
#                  finalizer runs.  The driver parses stderr.
#   signal         build the garbage, send ourselves SIGUSR1, wait (bounded)
#                  for the report file (seq 1), then let CPython's collector
#                  judge in this same process: same objects, same addresses.
#   oracle-signal  the same point of the program, the collector instead of
#                  the signal (the separate-run oracle for the signal report).
#   signal-in-gc   build, then gc.collect(0) where a __del__ sends SIGUSR1
#                  and sleeps: the report is deferred to the end of that
#                  collection; then the collector judges in this process.
#
# Every mode runs the same code up to the end of the build, so the garbage
# (with whatever the imports below leave) is the same in all of them.
#
# Ground truth, in the directory of $LP_TRUTH (written with os.write: no
# Python file objects, nothing on a cycle):
#   truth.json   the address (id()), type and, where known, description,
#                refcount and generation of each object a case made garbage
#                on purpose; groups of known shape (members, and the edges
#                between them from gc.get_referents); for the traceback
#                case the stack of each allocation, from the frames
#   atexit.txt   from an atexit callback that runs just before the shim's:
#                gc.get_count(), get_threshold(), isenabled() and the size
#                of each generation
#   types.json   (LP_TYPES=1) each generation's objects by type __name__
#   signal.txt   signal modes: whether the report appeared (seen), whether
#                it was written inside the collection (in_gc), whether the
#                collector was still enabled afterwards, how often the
#                program's own handler ran and its gc wrappers were called
#
# Knobs for the generation tests (environment):
#   LP_SET_THRESHOLD=a,b,c  gc.set_threshold(a, b, c) before building
#   LP_GEN_SHAPE=1          after building: collect(1), allocate, collect(0),
#                           allocate: objects in all three generations
#   LP_GC_ENABLE=1          gc.enable() once the garbage is built
#   LP_TYPES=1              types.json: each generation's objects by type,
#                           from an atexit callback that runs before at_exit
# and for the signal modes:
#   LP_SIGNAL=USR2          the signal to send (default USR1)
#   LP_PY_HANDLER=1         the program installs its own Python handler for
#                           it (signal.signal) and waits for it to run
#   LP_PATCH_GC=1           the program wraps gc.get_objects & co. in Python
#                           functions (get_objects returning []) once the
#                           garbage is built; signal.txt counts their calls
#                           while the report was written
import atexit
import json
import os
import signal
import sys
import threading
import time
import weakref

TRUTH = os.environ.get("LP_TRUTH", "")
TRUTH_DIR = os.path.dirname(TRUTH) if TRUTH else ""
T = {"version": "%d.%d.%d" % sys.version_info[:3], "file": sys._getframe().f_code.co_filename,
     "pid": os.getpid(), "cases": {}, "objects": [], "groups": [], "stacks": {}}
KEEP = []


def write_file(name, text):
    if not TRUTH_DIR:
        return
    path = os.path.join(TRUTH_DIR, name)
    fd = os.open(path + ".part", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, text.encode())
    os.close(fd)
    os.rename(path + ".part", path)


def note(obj, case, description=None, refcount=None, generation=None):
    """State that obj is garbage made on purpose (by address: id()); with
    its refcount once the case has returned, and its generation, if given."""
    T["objects"].append({"id": "0x%x" % id(obj), "type": type(obj).__name__,
                         "case": case, "description": description,
                         "refcount": refcount, "generation": generation})


def group(case, members):
    """State that members are, exactly, one unreachable group once the case
    returns, with the references between them as CPython's own
    tp_traverse gives them (gc.get_referents): the group's edges."""
    ids = ["0x%x" % id(m) for m in members]
    edges = []
    for i, m in enumerate(members):
        for r in gc.get_referents(m):
            for j, o in enumerate(members):
                if r is o:
                    edges.append([ids[i], ids[j]])
    T["groups"].append({"case": case, "members": ids, "edges": edges})


def stack_here():
    """The caller's stack, outermost frame first, each frame at its current
    line: what tracemalloc records for an allocation on the caller's line."""
    f = sys._getframe(1)
    out = []
    while f is not None:
        out.append({"file": f.f_code.co_filename, "line": f.f_lineno})
        f = f.f_back
    out.reverse()
    return out


class Unavailable(Exception):
    pass


# Classes stay reachable (module globals) unless a case makes the class
# itself garbage: a class is always on a cycle (its mro tuple, its
# __dict__/__weakref__ descriptors) and would otherwise join every case.
class Plain:
    pass


class WithSlots:
    __slots__ = ("other",)


class WithTail:
    __slots__ = ("other", "tail")


class NewA(object):
    pass


class NewB(list):
    pass


class NewC(NewB, NewA):
    pass


class TupleSub(tuple):
    pass


class DictSub(dict):
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


# --- the cases: each makes garbage and keeps nothing of it reachable ------

def case_list():
    l = []
    l.append(l)
    note(l, "list", "list of 1", refcount=1)
    group("list", [l])


def case_dict():
    d = {}
    d[1] = d
    note(d, "dict", "dict of 1", refcount=1)
    group("dict", [d])


def case_tuple():
    l = []
    t = (l,)
    l.append(t)
    note(l, "tuple", "list of 1", refcount=1)
    note(t, "tuple", "tuple of 1", refcount=1)
    group("tuple", [l, t])


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
    # test_function: a function and the globals dict it was defined in.
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
    note(g, "generator", "generator self_gen")


def case_closure():
    def inner(n):  # inner -> closure tuple -> cell -> inner
        return inner(n - 1) if n else 0
    inner(3)
    note(inner, "closure", "function case_closure.<locals>.inner", refcount=1)
    note(inner.__closure__, "closure", "tuple of 1", refcount=1)
    note(inner.__closure__[0], "closure", "cell", refcount=1)
    group("closure", [inner, inner.__closure__, inner.__closure__[0]])


def case_del():
    # PEP 442: __del__ on a cycle is collectable (finalized, then freed).
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
    note(a, "slots", refcount=1)
    note(b, "slots", refcount=1)
    group("slots", [a, b])


def case_tail():
    # A cycle with objects hanging off it (not on the cycle themselves).
    a = WithTail()
    b = WithTail()
    a.other = b
    b.other = a
    a.tail = [1, 2, 3]
    b.tail = ([4], [5])
    note(a, "tail", refcount=1)
    note(b, "tail", refcount=1)
    note(a.tail, "tail", "list of 3", refcount=1)
    note(b.tail, "tail", "tuple of 2", refcount=1)
    note(b.tail[0], "tail", "list of 1", refcount=1)
    note(b.tail[1], "tail", "list of 1", refcount=1)
    group("tail", [a, b, a.tail, b.tail, b.tail[0], b.tail[1]])


def case_materialized():
    # An instance whose __dict__ has been asked for (3.11+: a real dict
    # object instead of the inline values), on a cycle through it.
    a = Plain()
    d = a.__dict__
    a.me = a
    note(a, "materialized")
    # The collector sees the dict only if it tracks it: 3.13 keeps a
    # materialized dict that shares the inline values untracked (its
    # references are traversed through the instance instead).
    if gc.is_tracked(d):
        note(d, "materialized", "dict of 1")
    T["materialized_dict_tracked"] = gc.is_tracked(d)
    del d


def case_oldgen():
    # Garbage in the older generations: cycles that survived collections
    # while reachable, then were dropped.  (Runs first in "all": its
    # collections would otherwise free the other cases' garbage.)
    old = WithSlots()
    old.other = old
    gc.collect(1)           # young survivors go to generation 2
    mid = WithSlots()
    mid.other = mid
    gc.collect(0)           # ... and these to generation 1
    young = WithSlots()
    young.other = young
    for o, g in ((old, 2), (mid, 1), (young, 0)):
        note(o, "oldgen", refcount=1, generation=g)
        group("oldgen", [o])


KEEP_WR = []


def case_weakref():
    # A weakref with a callback, held by its referent, itself on a cycle.
    h = Holder()
    h.me = h
    h.ref = weakref.ref(h, wr_callback)
    note(h, "weakref")
    note(h.ref, "weakref")
    # A weakref from outside (reachable: its callback runs at collection).
    KEEP_WR.append(weakref.ref(h, wr_callback))
    # The callback itself on the cycle: its defaults hold the referent.
    k = Holder()

    def cb(ref, keep=k):
        WR_CALLS.append(2)
    k.ref = weakref.ref(k, cb)
    note(k, "weakref")
    note(k.ref, "weakref")
    note(cb, "weakref", "function case_weakref.<locals>.cb")


def case_chain():
    # A cycle of 1000 instances.
    first = Node()
    n = first
    note(n, "chain", refcount=1)
    for i in range(999):
        n.next = Node()
        n = n.next
        note(n, "chain", refcount=1)
    n.next = first


def case_nested():
    d = {"l": [1, 2, (3, {"s": {4, 5}, "f": frozenset([6])})]}
    d["l"][2][1]["back"] = d
    inner = d["l"][2][1]
    members = [d, d["l"], d["l"][2], inner, inner["s"], inner["f"]]
    note(d, "nested", "dict of 1", refcount=1)
    note(d["l"], "nested", "list of 3", refcount=1)
    note(d["l"][2], "nested", "tuple of 2", refcount=1)
    note(inner, "nested", "dict of 3", refcount=1)
    note(inner["s"], "nested", "set of 2", refcount=1)
    note(inner["f"], "nested", refcount=1)
    group("nested", members)


LEGACY_KEEP = []


def case_legacy():
    # test_legacy_finalizer: a tp_del type is uncollectable, and so is
    # whatever it reaches; B beside it is collectable.
    try:
        import _testcapi
    except ImportError:
        raise Unavailable("no _testcapi module")
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


def case_descriptions():
    # A function, a class and a list, each on a cycle.
    def named_fn():
        return named_fn
    note(named_fn, "descriptions", "function case_descriptions.<locals>.named_fn")

    class Klass:
        pass
    Klass.me = Klass
    note(Klass, "descriptions", "class Klass")
    l = [10, 20, 30]
    l.append(l)
    note(l, "descriptions", "list of 4", refcount=1)
    group("descriptions", [l])


def make_cycle():
    # Objects whose allocation traceback tracemalloc keeps (no free list),
    # each allocated on the line that records the stack, of every layout:
    # managed dict and weakref pre-header (3.11+: Node), __slots__, a
    # function, subclasses of list, tuple (variable size) and dict, an
    # exception, a generator, a class.
    n = Node(); T["stacks"]["node"] = stack_here()
    n.me = n
    s = WithSlots(); T["stacks"]["slots"] = stack_here()
    s.other = s
    fn = lambda: fn; T["stacks"]["function"] = stack_here()
    c = NewC(); T["stacks"]["newc"] = stack_here()
    c.me = c
    tu = TupleSub((1, 2)); T["stacks"]["tuplesub"] = stack_here()
    tu.me = tu
    ds = DictSub(); T["stacks"]["dictsub"] = stack_here()
    ds["me"] = ds
    ex = ValueError("x"); T["stacks"]["exception"] = stack_here()
    ex.me = ex
    g = self_gen(); T["stacks"]["generator"] = stack_here()
    next(g)
    g.send(g)
    k = type("K", (), {}); T["stacks"]["class"] = stack_here()
    k.me = k
    note(n, "traceback", "stack:node")
    note(s, "traceback", "stack:slots")
    note(fn, "traceback", "stack:function")
    note(c, "traceback", "stack:newc")
    note(tu, "traceback", "stack:tuplesub")
    note(ds, "traceback", "stack:dictsub")
    note(ex, "traceback", "stack:exception")
    note(g, "traceback", "stack:generator")
    note(k, "traceback", "stack:class")


def descend(k):
    # Deeper than LEAKPROBE_PYTHON_TRACEBACK=5: the report keeps the
    # innermost 5 frames.
    if k:
        descend(k - 1)
    else:
        make_cycle()


def case_traceback():
    descend(4)


THREADS = []


def thread_body(ready, go):
    # A cycle reachable only from this running frame (a root while the
    # thread runs), and one that is garbage already.
    keep = []
    keep.append(keep)
    g = {}
    g["me"] = g
    note(g, "thread", "dict of 1", refcount=1)
    group("thread", [g])
    del g
    ready.set()
    go.wait(60)
    del keep


def case_thread():
    ready, go = threading.Event(), threading.Event()
    t = threading.Thread(target=thread_body, args=(ready, go), name="holder")
    THREADS.append((t, go))
    t.start()
    ready.wait(60)


def release_threads():
    for t, go in THREADS:
        go.set()
        t.join(60)


def case_frozen():
    # gc.freeze(): the permanent generation is never collected nor listed.
    # a is garbage when frozen (CPython will never report it); b is young
    # and referenced from a: reachable, not garbage; c is young garbage.
    a = []
    a.append(a)
    gc.freeze()
    b = []
    b.append(b)
    a.append(b)
    c = []
    c.append(c)
    note(c, "frozen", "list of 1", refcount=1)
    group("frozen", [c])
    T["frozen_ids"] = ["0x%x" % id(a), "0x%x" % id(b)]


# Owners of large blocks (>= LEAKPROBE_LARGE, 1 MiB by default) and the
# chains of references that keep them: each object states its owner's
# address and type, and the retained_by steps the report must give (JSON
# form, docs/report-format.md), root first.
RET_CACHE = {}
RET_BOX = None
RET_LIST = None
RET_NEST = None


class Box:
    pass


def mod(name):
    return {"type": "module", "name": name}


def dkey(key):
    return {"type": "dict", "key": key}


def lindex(i):
    return {"type": "list", "index": i}


def large(owner, steps, garbage_member=None):
    T.setdefault("large", []).append({
        "owner": "0x%x" % id(owner), "type": type(owner).__name__, "retained_by": steps,
        "garbage_member": "0x%x" % id(garbage_member) if garbage_member is not None else None})


def case_retention():
    global RET_BOX, RET_LIST, RET_NEST
    main_steps = [mod("__main__")]
    page = bytes(2 << 20)  # a bytes object is its own block
    RET_CACHE["page"] = page
    large(page, main_steps + [dkey("RET_CACHE"), dkey("page")])
    box = Box()
    box.buf = bytearray(3 << 20)  # a bytearray's buffer is its block
    RET_BOX = box
    via_instance = [{"type": "Box", "attribute": None}]
    if sys.version_info < (3, 11):  # the instance's __dict__ is a dict of its own
        via_instance.append(dkey("buf"))
    large(box.buf, main_steps + [dkey("RET_BOX")] + via_instance)
    RET_LIST = [None] * 300000  # a list owns its item array (2.4 MB)
    large(RET_LIST, main_steps + [dkey("RET_LIST")])
    inner = [0, 1, bytes(1 << 21)]
    RET_NEST = [inner, 0]
    RET_NEST.insert(0, None)  # inner at index 1
    large(inner[2], main_steps + [dkey("RET_NEST"), lindex(1), lindex(2)])
    # Garbage: a cycle holds the block; no chain, its group instead.
    g = [bytes(3 << 20)]
    g.append(g)
    large(g[0], [], garbage_member=g)
    del g


CASES = {
    "oldgen": case_oldgen,
    "list": case_list, "dict": case_dict, "tuple": case_tuple, "class": case_class,
    "instance": case_instance, "newinstance": case_newinstance, "method": case_method,
    "function": case_function, "frame": case_frame, "exception": case_exception,
    "generator": case_generator, "closure": case_closure, "del": case_del,
    "resurrect": case_resurrect, "slots": case_slots, "weakref": case_weakref,
    "chain": case_chain, "nested": case_nested, "legacy": case_legacy,
    "tail": case_tail, "materialized": case_materialized,
    "thread": case_thread, "frozen": case_frozen,
    "descriptions": case_descriptions, "traceback": case_traceback,
    "retention": case_retention,
}
# "all" builds the test_gc.py cases in one process (not the feature cases;
# not "frozen": gc.freeze() would hide the others' garbage).
ALL = [c for c in CASES if c not in ("descriptions", "traceback", "frozen", "retention")]


def gen_shape():
    # Objects in every generation: collect(1) moves the young ones to
    # generation 2, then X survives collect(0) into generation 1, and Y is
    # allocated in generation 0.
    gc.collect(1)
    KEEP.append([[i] for i in range(7)])
    gc.collect(0)
    KEEP.append([{"i": [i]} for i in range(5)])


ATEXIT_TRUTH = os.path.join(TRUTH_DIR, "atexit.txt") if TRUTH_DIR else "/dev/null"
ATEXIT_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


def at_exit():
    # Registered after the shim's own callback (the shim registers while
    # the interpreter starts), so it runs just before it (atexit is LIFO):
    # what it measures is what the shim's exit report should say.
    # Measure in the order the shim does, and allocate no GC-tracked object
    # that is alive at a measurement or allocated after the count is read:
    #  - get_objects first: a tuple (get_count()'s result, say) alive then
    #    would be one more generation-0 object than the shim sees;
    #  - get_count() last: every GC allocation from the heap adds 1 to
    #    count[0], and a tuple or list freed onto its free list does not
    #    take it back, so writing the figures (below) must allocate only
    #    objects the collector does not track (ints, bytes, str).
    n0 = len(gc.get_objects(0))
    n1 = len(gc.get_objects(1))
    n2 = len(gc.get_objects(2))
    enabled = gc.isenabled()
    t0, t1, t2 = gc.get_threshold()
    c0, c1, c2 = gc.get_count()
    fd = os.open(ATEXIT_TRUTH, ATEXIT_FLAGS, 0o644)
    os.write(fd, b"objects %d" % n0)
    os.write(fd, b" %d" % n1)
    os.write(fd, b" %d\n" % n2)
    os.write(fd, b"threshold %d" % t0)
    os.write(fd, b" %d" % t1)
    os.write(fd, b" %d\n" % t2)
    os.write(fd, b"count %d" % c0)
    os.write(fd, b" %d" % c1)
    os.write(fd, b" %d\n" % c2)
    os.write(fd, b"enabled %d\n" % enabled)
    os.close(fd)


def at_exit_types():
    # Runs before at_exit (registered after it): the objects of each
    # generation by type __name__, as the report's by_type.  What it
    # allocates is freed before at_exit measures the count.
    # Only untracked containers (dicts of str -> int) are alive while the
    # generations are listed: a list here would be one more object in
    # generation 0.
    c0 = types_in(0)
    c1 = types_in(1)
    c2 = types_in(2)
    write_file("types.json", json.dumps([c0, c1, c2]))


def types_in(g):
    counts = {}
    for o in gc.get_objects(g):
        n = type(o).__name__
        counts[n] = counts.get(n, 0) + 1
    return counts


class Trigger:
    # On a cycle; its __del__ runs inside a collection, sends the report
    # signal and sleeps there (the GIL released, the collection still in
    # progress): the shim must defer the report to the collection's end.
    armed = False

    def __del__(self):
        if Trigger.armed:
            Trigger.armed = False
            os.kill(os.getpid(), REPORT_SIGNAL)
            time.sleep(0.5)


REPORT_SIGNAL = getattr(signal, "SIG" + os.environ.get("LP_SIGNAL", "USR1"))
HANDLED = [0]


def py_handler(signum, frame):
    HANDLED[0] += 1


PATCH_CALLS = []


def patch_gc():
    # What a profiler, test framework or debugging helper may do: wrap the
    # gc module's functions.  The wrappers are program code: they count
    # their calls; get_objects lies (an empty list).  CPython's collector
    # (gc.collect, the oracle) does not go through them.
    def make(name, f):
        def wrapper(*args, **kwargs):
            PATCH_CALLS.append(name)
            if name == "get_objects":
                return []
            return f(*args, **kwargs)
        return wrapper
    for name in ("get_objects", "get_count", "get_threshold", "isenabled", "disable", "enable"):
        setattr(gc, name, make(name, getattr(gc, name)))


def collect_with_signal(path):
    t = Trigger()
    t.me = t
    del t
    Trigger.armed = True
    gc.collect(0)
    # Written before the collection returned: at its "stop" callback.
    return os.access(path, os.F_OK)


def oracle_collect():
    gc.set_debug(gc.DEBUG_COLLECTABLE | gc.DEBUG_UNCOLLECTABLE)
    gc.collect()
    gc.set_debug(0)


def report_path(seq):
    """LEAKPROBE_OUTPUT with %p, %n and %% expanded."""
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
    if mode not in ("exit", "oracle-exit", "signal", "oracle-signal", "signal-in-gc"):
        sys.exit("unknown mode %r" % mode)
    names = ALL if which == "all" else [] if which == "none" else which.split(",")
    if mode == "oracle-exit":
        # Registered first, so it runs last of the program's callbacks:
        # where the shim's own exit callback runs.  Collecting here, not at
        # the end of main(), matters: once main() and the module code have
        # returned, the frame objects of the running code that a garbage
        # frame's f_back still points to are garbage too.
        atexit.register(oracle_collect)
    atexit.register(at_exit)
    if os.environ.get("LP_TYPES") == "1":
        atexit.register(at_exit_types)
    if os.environ.get("LP_PY_HANDLER") == "1":
        signal.signal(REPORT_SIGNAL, py_handler)
    th = os.environ.get("LP_SET_THRESHOLD")
    if th:
        a, b, c = (int(x) for x in th.split(","))
        gc.set_threshold(a, b, c)
    for name in names:
        try:
            CASES[name]()
            T["cases"][name] = "built"
        except Unavailable as ex:
            T["cases"][name] = "unavailable: %s" % ex
    if os.environ.get("LP_GEN_SHAPE") == "1":
        gen_shape()
    if os.environ.get("LP_GC_ENABLE") == "1":
        gc.enable()
    if os.environ.get("LP_PATCH_GC") == "1":
        patch_gc()
    # T is reachable and complete: nothing below makes garbage.
    write_file("truth.json", json.dumps(T))
    if mode in ("signal", "signal-in-gc"):
        path = report_path(1)
        in_gc = 0
        calls_before = len(PATCH_CALLS)
        if mode == "signal":
            os.kill(os.getpid(), REPORT_SIGNAL)
        else:
            in_gc = collect_with_signal(path)
        # Wait (bounded) in time.sleep, which lets the shim's report thread
        # take the GIL.  os.access makes no garbage (os.path.exists raises
        # and catches an exception).
        deadline = time.monotonic() + 30.0
        seen = False
        while True:
            if os.access(path, os.F_OK):
                seen = True
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.002)
        if os.environ.get("LP_PY_HANDLER") == "1":
            # The program's own Python handler runs too (at a bytecode
            # boundary of this thread, soon).
            deadline = time.monotonic() + 10.0
            while not HANDLED[0] and time.monotonic() < deadline:
                time.sleep(0.002)
        patched_calls = PATCH_CALLS[calls_before:]
        if patched_calls:
            sys.stderr.write("cases: program code ran during the report: the patched gc "
                             "functions %s\n" % ", ".join(patched_calls))
        enabled_after = gc.isenabled()
        # The report is written: now the same objects, at the same
        # addresses, to CPython's collector.
        oracle_collect()
        write_file("signal.txt", "seen %d\nenabled_after %d\nin_gc %d\nhandled %d\n"
                   "patched_calls %d\n"
                   % (seen, enabled_after, in_gc, HANDLED[0], len(patched_calls)))
    elif mode == "oracle-signal":
        path = report_path(1)
        oracle_collect()
    # Threads end now: after the signal report and its oracle, before the
    # exit report (the interpreter joins them before atexit callbacks).
    release_threads()


main()
