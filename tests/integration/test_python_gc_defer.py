"""A signal that arrives while CPython's collector runs (a __del__ released
the GIL) is answered when the collection stops, not in the middle of it:
the report exists, names none of the objects being collected, and the
program's output is what it is without the shim."""
import os

from lptest import check, main, run

PY = "/usr/bin/python3"
SCRIPT = os.path.join(os.environ["LP_SRC"], "tests", "programs", "gc_defer.py")


def test():
    plain = run([PY, SCRIPT], shim=False, env={"NO_SIGNAL": "1"})
    r = run([PY, SCRIPT])
    check(r.rc == plain.rc == 0, f"exit codes {plain.rc} / {r.rc}\n{r.stderr[-2000:]}")
    check(r.stdout == plain.stdout, f"stdout {r.stdout!r} != {plain.stdout!r}")
    sig = r.report("signal")
    t = r.truth["times"]
    check(t["start"] < t["signal"] < t["del_end"], f"the signal did not land inside the collection: {t}")
    check("python" in sig, "the signal report was written without the GIL")
    # Same clock (CLOCK_MONOTONIC): the report waited until the collection
    # had finished its work (it is written from our gc "stop" callback,
    # which runs before the program's own).
    check(sig["monotonic_s"] >= t["del_end"],
          f"report taken at {sig['monotonic_s']:.3f}, inside the collection "
          f"{t['start']:.3f}-{t['del_end']:.3f}")
    dying = {int(x, 16) for x in r.truth["dying"]}
    named = {int(o["address"], 16) for g in sig["unreachable"] for o in g["objects"]}
    check(not (dying & named), "the report examined objects the collector was freeing")
    check(sig["python"]["gc_enabled"] is False, "gc state")


main(test)
