"""The cycle detector over the interposed object API finds exactly the
garbage the program made (by address), groups it, marks what lies on a
cycle, and never reports reachable objects; generations follow CPython's
rules.  Ground truth: tests/objrt/objgraph.c states every unreachable
object it created."""
import os

from lptest import check, main, prog, run

OBJRT_DIR = None


def groups_by_members(report):
    out = {}
    for g in report.get("unreachable", []):
        members = frozenset(int(o["address"], 16) for o in g["objects"])
        out[members] = g
    return out


def compare_groups(report, truth_groups, what):
    got = groups_by_members(report)
    want = {frozenset(int(a, 16) for a in g["members"]): g for g in truth_groups}
    check(set(got) == set(want),
          f"{what}: report has {len(got)} groups {sorted(map(len, got))}, "
          f"the program made {len(want)} {sorted(map(len, want))}; "
          f"missing {[sorted(map(hex, m)) for m in set(want) - set(got)][:3]}, "
          f"extra {[sorted(map(hex, m)) for m in set(got) - set(want)][:3]}")
    for members, g in got.items():
        cyc = {int(o["address"], 16) for o in g["objects"] if o["in_cycle"]}
        want_cyc = {int(a, 16) for a in want[members]["in_cycle"]}
        check(cyc == want_cyc, f"{what}: in_cycle {sorted(map(hex, cyc))} != {sorted(map(hex, want_cyc))}")
        n = len(g["objects"])
        for a, b in g["edges"]:
            check(0 <= a < n and 0 <= b < n, f"edge {a},{b} out of range")
        for o in g["objects"]:
            check(o["type"] in ("Node", "list", "tuple"), f"type {o['type']}")
            check(o["stack"], f"no allocation stack for {o['address']}")
        check(g["bytes"] == sum(o["size"] for o in g["objects"]), "group bytes != sum of sizes")


def scenario(name, env=None):
    env = dict(env or {})
    r = run([prog("objrt/objgraph"), name], env=env)
    check(r.rc == 0, f"{name}: exit code {r.rc}\n{r.stderr[-2000:]}")
    rep = r.report("exit")
    check(rep["detector"] and "objects" in rep["detector"], f"{name}: detector did not run: {rep['detector']}")
    compare_groups(rep, r.truth["groups"], name)
    return r, rep


def test():
    for name in ("self", "pair", "ring50", "tail", "global", "cref", "mixed", "threads"):
        r, rep = scenario(name)
        if name in ("global", "cref"):
            check(rep["unreachable"] == [], f"{name}: reachable objects reported")
        if name == "tail":
            g = rep["unreachable"][0]
            # Edges: the two cycle members point at each other.
            check(len(g["edges"]) == 4, f"tail edges {g['edges']}")
        if name == "ring50":
            check(len(rep["unreachable"][0]["edges"]) == 50, "ring edges")

    # Generations after known collections.
    r, rep = scenario("gens")
    check(r.truth["collect"] == r.truth["expect_collect"],
          f"leakprobe_collect returned {r.truth['collect']}, expected {r.truth['expect_collect']}")
    gens = {g["gen"]: g for g in rep["generations"]}
    for want in r.truth["generations"]:
        got = gens[want["gen"]]
        for k in ("count", "objects", "by_type"):
            check(got[k] == want[k], f"gen {want['gen']} {k}: report {got[k]}, expected {want[k]}")
        check(got["threshold"] == [700, 10, 10][want["gen"]], f"threshold {got['threshold']}")

    # LEAKPROBE_GC_THRESHOLD shows in the report.
    r, rep = scenario("pair", {"LEAKPROBE_GC_THRESHOLD": "5,3,2"})
    check([g["threshold"] for g in rep["generations"]] == [5, 3, 2], "thresholds")

    # A report on SIGUSR1 runs the detector at the program's next safe point.
    r, rep = scenario("signal")
    sig = r.report("signal")
    check(sig["detector"] and "objects" in sig["detector"], f"signal detector: {sig['detector']}")
    compare_groups(sig, r.truth["at_signal"], "signal")
    check(rep["seq"] == 2 and sig["seq"] == 1, "seq")

    # The ledger: in build_pair each Node gets one Py_IncRef (from
    # objrt_set, in libobjrt.so) and one Py_DecRef (from the program).
    r, rep = scenario("pair")
    for o in rep["unreachable"][0]["objects"]:
        check((o["incref_calls"], o["decref_calls"]) == (1, 1),
              f"ledger {o['incref_calls']}/{o['decref_calls']}, expected 1/1")
        check(o["ledger_module"] and o["ledger_module"].endswith("libobjrt.so"),
              f"ledger module {o['ledger_module']}")
    check(rep["objects"]["incref_calls"] == 2 and rep["objects"]["decref_calls"] == 2,
          f"calls {rep['objects']}")

    # LEAKPROBE_AUTO: collections run where CPython's would (count0 over
    # the threshold); each one that finds young garbage writes a report,
    # which never names anything the program did not make garbage.
    r = run([prog("objrt/objgraph"), "auto"],
            env={"LEAKPROBE_AUTO": "1", "LEAKPROBE_GC_THRESHOLD": "10,10,10"})
    check(r.rc == 0, f"auto: exit code {r.rc}")
    autos = [x for x in r.reports if x["reason"] == "auto"]
    truth = {frozenset(int(a, 16) for a in g["members"]) for g in r.truth["groups"]}
    # 40 Nodes; a pass runs at the entry of an allocation that finds
    # count0 > 10 (as CPython collects in gc_alloc): before the 12th, 23rd
    # and 34th allocation.  Each report runs its own full pass, so it shows
    # every pair completed by then: 5, 11 and 16.
    check(len(autos) == 3, f"{len(autos)} auto reports, expected 3")
    for a in autos:
        got = set(groups_by_members(a))
        check(got <= truth, "an auto report names objects that are not garbage")
    check([len(groups_by_members(a)) for a in autos] == [5, 11, 16],
          f"pairs found by the auto passes: {[len(groups_by_members(a)) for a in autos]}")
    compare_groups(r.report("exit"), r.truth["groups"], "auto exit")

    # Text report: the picture and the sites.
    r = run([prog("objrt/objgraph"), "pair"], json_reports=False)
    check("Unreachable group 1: 2 objects" in r.stderr, f"text:\n{r.stderr[-3000:]}")
    check("Node@0x" in r.stderr and " -> Node@0x" in r.stderr, "no picture")
    check("allocated at build_pair" in r.stderr, "member site")


main(test)
