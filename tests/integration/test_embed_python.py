"""A program embedding a shared libpython builds garbage through the C
API and asks for a report: the unreachable objects the shim finds are, by
address, exactly those CPython's own collector then finds in the same
process (DEBUG_SAVEALL).  Both frontends see the process: the interposed
object API (Debian's libpython3.11.so calls it through its PLT) and the
live adapter; the interpreter's view is what the report shows."""
from lptest import check, main, prog, run, skip
import os


def test():
    p = os.path.join(os.environ["LP_BUILD"], "tests", "embed_python")
    if not os.path.exists(p):
        skip("libpython3.11 (python3-embed) was not found at build time")
    r = run([p])
    check(r.rc == 0, f"exit code {r.rc}\n{r.stderr[-2000:]}")
    rep = r.report("api")
    check(rep["label"] == "embedded", f"label {rep['label']}")
    check("python" in rep, "no python section: the report was not written with the GIL")
    got = {int(o["address"], 16): o["type"] for g in rep["unreachable"] for o in g["objects"]}
    want = {int(a, 16): t for a, t in zip(r.truth["garbage"], r.truth["types"])}
    check(got == want, f"shim found {sorted(got.values())}, CPython's collector {sorted(want.values())}; "
                       f"only shim {[hex(a) for a in set(got) - set(want)][:5]}, "
                       f"only CPython {[hex(a) for a in set(want) - set(got)][:5]}")
    # What the program built is among it: 5 lists, 2 dicts, 1 tuple.
    types = sorted(want.values())
    check(types.count("list") >= 5 and types.count("dict") >= 2 and types.count("tuple") >= 1,
          f"types {types}")
    # The registry's summary is there too (its contents depend on free
    # lists: 3.11 reuses lists and dicts without calling _PyObject_GC_New).
    check(set(rep["objects"]) >= {"registered", "tracked", "incref_calls", "decref_calls"},
          f"objects: {rep['objects']}")


main(test)
