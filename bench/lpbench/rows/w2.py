# SPDX-License-Identifier: MIT
"""Row 6, W2: the cycle detector against CPython's own collector on W2's
heap (1 M live containers, 10 k unreachable 2-cycles): live CPython (the
exit report's detector pass over the interpreter's objects) and the object
model (leakprobe_collect(2) over the same shape built through the
interposed API); and the cost of an interposed Py_IncRef/Py_DecRef."""

import json
import re
import statistics
import subprocess

from ..config import ROOT, WORKLOADS
from ..harness import log

MS_FOUND = re.compile(r"found (\d+) unreachable in ([\d.]+) ms")
NS_PAIR = re.compile(r"ns/pair=([\d.]+)")


def build_objbench(h):
    """The object-model benchmark: tests/objrt's runtime and objbench.c,
    built into the temporary directory."""
    lib = h.tmp / "libobjrt.so"
    exe = h.tmp / "objbench"
    objrt = ROOT / "tests" / "objrt"
    for cmd in (["gcc", "-O1", "-g", "-shared", "-fPIC", "-o", str(lib),
                 str(objrt / "objrt.c")],
                ["gcc", "-O2", "-g", "-I", str(ROOT / "include"), "-o",
                 str(exe), str(objrt / "objbench.c"), f"-L{h.tmp}", "-lobjrt",
                 f"-Wl,-rpath,{h.tmp}"]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            log(f"bench: cannot build objbench: {r.stderr[-500:]}")
            return None
    return exe


def run(h, params):
    n, k = params["w2_n"], params["w2_k"]
    runs = params["runs"]
    log(f"row 6: W2 (w2_cycles.py {n} {k})")
    problems = []
    res = {"n": n, "k": k, "problems": problems}
    res.update(run_live_cpython(h, n, k, runs, problems))
    exe = build_objbench(h)
    if exe:
        res.update(run_object_model(h, exe, n, k, problems))
        res["refs_ns_pair"] = run_refs(h, exe, runs)
    for p in problems:
        log(f"  W2 problem: {p}")
    return res


def run_live_cpython(h, n, k, runs, problems):
    """gc.collect() timed by the program (`collect`), interleaved with the
    exit report's detector over the same heap left as it is (`hold`)."""
    w2 = str(WORKLOADS / "w2_cycles.py")
    collect_ms, det_s, found, nodes = [], [], [], []
    for r in range(runs):
        s = h.measure([h.python, w2, str(n), str(k), "collect"])
        m = MS_FOUND.search(s.stdout)
        if m:
            collect_ms.append(float(m.group(2)))
        else:
            problems.append(f"gc.collect run {r + 1}: no timing in "
                            f"{s.stdout[-200:]!r}")
        out = h.tmp / f"w2.{r}.json"
        s = h.measure([h.python, w2, str(n), str(k), "hold"],
                      h.lp_env({"LEAKPROBE_FORMAT": "json",
                                "LEAKPROBE_OUTPUT": str(out)}))
        try:
            rep = json.loads(out.read_text())
            d = rep["detector"]
            det_s.append(d["seconds"])
            found.append(d.get("unreachable"))
            nodes.append(sum(1 for g in rep.get("unreachable", [])
                             for o in g["objects"] if o.get("type") == "Node"))
        except (OSError, ValueError, KeyError) as e:
            problems.append(f"leakprobe run {r + 1}: no detector figures "
                            f"({e}); rc {s.rc}, stderr {s.stderr[-300:]!r}")
        log(f"  W2 run {r + 1}/{runs}: gc.collect {collect_ms[-1:] } ms, "
            f"detector {det_s[-1:]} s, Node objects found {nodes[-1:]}")
    if nodes and any(x != 2 * k for x in nodes):
        problems.append(f"the detector found {nodes} Node objects, "
                        f"{2 * k} expected")
    return {
        "gc_collect_ms": collect_ms, "detector_s": det_s,
        "unreachable": found, "nodes_found": nodes,
        "gc_collect_ms_median":
            statistics.median(collect_ms) if collect_ms else None,
        "detector_ms_median":
            statistics.median(det_s) * 1000 if det_s else None,
    }


def run_object_model(h, exe, n, k, problems):
    """Four leakprobe_collect(2) passes in one process: the first faults
    the working memory in, the figure is the median of the others."""
    s = h.measure([str(exe), str(n), str(k)],
                  h.lp_env({"LEAKPROBE_OUTPUT": "/dev/null",
                            "OBJBENCH_REPS": "4"}))
    passes = [(int(f), float(ms)) for f, ms in MS_FOUND.findall(s.stdout)]
    res = {"objects_passes_ms": [ms for _, ms in passes],
           "objects_found": [f for f, _ in passes]}
    if passes:
        res["objects_warm_ms"] = statistics.median(
            [ms for _, ms in passes[1:]] or [passes[0][1]])
    else:
        problems.append(f"objbench: no timing ({s.stderr[-300:]!r})")
    if any(f != 2 * k for f, _ in passes):
        problems.append(f"objbench found {[f for f, _ in passes]}, "
                        f"{2 * k} expected")
    return res


def run_refs(h, exe, runs):
    """ns per interposed Py_IncRef + Py_DecRef pair, without and with the
    shim (median of `runs`)."""
    refs = {}
    for label, env in (("plain", {}),
                       ("leakprobe", h.lp_env({"LEAKPROBE_OUTPUT": "/dev/null"}))):
        vals = []
        for _ in range(runs):
            s = h.measure([str(exe), "refs", "20000000"], env)
            m = NS_PAIR.search(s.stdout)
            if m:
                vals.append(float(m.group(1)))
        refs[label] = statistics.median(vals) if vals else None
    return refs
