# SPDX-License-Identifier: MIT
"""Row 2, churn: an alloc/free ring with call chains of 20-28 frames, 1 and
2 threads; ns/op is the workload's own figure (its threads' elapsed time,
so start-up and the exit report are left out)."""

import re

from ..harness import log, med, ratio, summarize

NSOP = re.compile(r"ns/op=([\d.]+)")


def configs(h, n):
    """(name, argv, env) for each tool at 1 and 2 threads, named "tool|T"."""
    exe = [str(h.build_c("churn"))]
    # The same loop in a module dlopen()ed after start-up (dlrun.c): the
    # cached unwinder treats such modules apart.
    mod = [str(h.build_c("dlrun")),
           str(h.build_c("churn", ("-DBENCH_AS_LIBRARY", "-shared",
                                   "-fPIC"), "libchurn.so"))]
    out = str(h.tmp / "churn.%p.%n.txt")
    lp = h.lp_env({"LEAKPROBE_OUTPUT": out})
    tools = [("plain", [], {}, exe),
             ("leakprobe", [], lp, exe),
             ("leakprobe DEPTH=0", [], h.lp_env(
                 {"LEAKPROBE_OUTPUT": out, "LEAKPROBE_DEPTH": "0"}), exe),
             ("leakprobe UNWIND=1", [], h.lp_env(
                 {"LEAKPROBE_OUTPUT": out, "LEAKPROBE_UNWIND": "1"}), exe)]
    if h.heaptrack:
        tools.append(("heaptrack",
                      [h.heaptrack, "-o", str(h.tmp / "ht.churn")], {}, exe))
    if h.lsan:
        tools.append(("LSan", [], h.lsan_env("lsan.churn"), exe))
    tools += [("plain, loop in a dlopen()ed module", [], {}, mod),
              ("leakprobe, loop in a dlopen()ed module", [], lp, mod)]
    cfgs = [(f"{name}|{t}", [*pre, *prog, str(n), str(t)], env)
            for name, pre, env, prog in tools for t in (1, 2)]
    return [name for name, *_ in tools], cfgs


def run(h, params):
    n = params["churn_n"]
    runs = params["churn_runs"]
    tools, cfgs = configs(h, n)
    log(f"row 2: churn ({n} ops per thread, 1 and 2 threads)")
    problems = []

    def post(name, s):
        m = NSOP.findall(s.stderr)
        s.ns_op = float(m[-1]) if m else None
        if s.ns_op is None:
            problems.append(f"{name}: no ns/op line (exit status {s.rc})")

    h.measure(cfgs[0][1], cfgs[0][2])  # warm-up
    samples = h.run_configs("churn", cfgs, runs, post=post)
    res = {"n": n, "tools": {}, "problems": problems}
    for name in tools:
        one, two = samples[f"{name}|1"], samples[f"{name}|2"]
        t = res["tools"][name] = {
            "ns_op_1": med(one, "ns_op"), "ns_op_2": med(two, "ns_op"),
            "ns_op_1_runs": [s.ns_op for s in one],
            "ns_op_2_runs": [s.ns_op for s in two],
            "run_1": summarize(one), "run_2": summarize(two),
        }
        t["scaling"] = ratio(t["ns_op_1"], t["ns_op_2"])
        # Best of the runs: the least disturbed by other work on the
        # machine, which only ever slows a run down.
        b1 = [x for x in t["ns_op_1_runs"] if x]
        b2 = [x for x in t["ns_op_2_runs"] if x]
        t["best_ns_op_1"] = min(b1) if b1 else None
        t["best_ns_op_2"] = min(b2) if b2 else None
        t["best_scaling"] = ratio(t["best_ns_op_1"], t["best_ns_op_2"])
    for p in problems:
        log(f"  churn problem: {p}")
    return res
