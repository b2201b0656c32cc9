"""A signal that arrives while CPython's collector runs (a __del__ released
the GIL) is answered when the collection stops, not in the middle of it:
the report exists, names none of the objects being collected, finds the
garbage cycle made during the collection (which CPython's own collector
then frees: the program prints so), and the program's output is what it
is without the shim."""
import os

from lptest import check, main, run

PY = "/usr/bin/python3"
SCRIPT = os.path.join(os.environ["LP_SRC"], "tests", "python", "gc_defer.py")


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
    markers = {int(x, 16) for x in r.truth["markers"]}
    check(len(markers) == 2 and markers <= named,
          f"the report did not find the Marker cycle made during the collection: markers "
          f"{sorted(hex(m) for m in markers)}, unreachable objects named "
          f"{sorted(hex(n) for n in named)[:20]}")
    check("markers alive before the last collection: 2" in r.stdout and
          "markers left: 0" in r.stdout, f"CPython's collector and the markers: {r.stdout!r}")
    check(sig["python"]["gc_enabled"] is False, "gc state")


main(test)
