# SPDX-License-Identifier: MIT
"""Row 5, W1p: W1 with CPython's default allocator.  pymalloc serves small
objects from its own arenas, so the shim sees few mallocs: this measures
what watching the interpreter costs (audit hook, the exit report's detector
over every tracked object, the owners of large blocks), and Python
allocation tracebacks (tracemalloc) against plain -X tracemalloc=1."""

from ..config import WORKLOADS
from ..exit_report import COST_KEYS, exit_report_cost, exit_report_times
from ..harness import log, med, summarize
from .same_output import same_output_check


def configs(h, n):
    w1 = str(WORKLOADS / "w1.py")
    py = [h.python, w1, str(n)]
    out = str(h.tmp / "w1p.%p.%n.txt")
    cfgs = [
        ("plain", py, {}),
        ("leakprobe", py, h.lp_env({"LEAKPROBE_OUTPUT": out})),
        ("plain -X tracemalloc=1",
         [h.python, "-X", "tracemalloc=1", w1, str(n)], {}),
        ("leakprobe PYTHON_TRACEBACK=1", py, h.lp_env(
            {"LEAKPROBE_OUTPUT": out, "LEAKPROBE_PYTHON_TRACEBACK": "1"})),
    ]
    if h.heaptrack:
        cfgs.append(("heaptrack",
                     [h.heaptrack, "-o", str(h.tmp / "ht.w1p"), *py], {}))
    if h.lsan:
        cfgs.append(("LSan", py, h.lsan_env("lsan.w1p")))
    return cfgs, out


def run(h, params):
    n = params["w1_n"]
    runs = params["runs"]
    log(f"row 5: W1p (w1.py {n}, default allocator)")
    cfgs, out = configs(h, n)
    h.measure(cfgs[0][1])  # warm-up, untimed
    problems = []

    def post(name, s):
        if name.startswith("leakprobe"):
            s.until_report, s.report_s, s.after_report = \
                exit_report_times(s, out)
            if s.until_report is None:
                problems.append(f"{name}: no exit report found")
            for k, v in (exit_report_cost(s, out) or {}).items():
                setattr(s, "cost_" + k, v)

    samples = h.run_configs("W1p", cfgs, runs, same_output_check(problems),
                            post)
    res = {"n": n, "configs": {}, "problems": problems}
    for name, ss in samples.items():
        res["configs"][name] = summarize(ss)
        if name.startswith("leakprobe"):
            for k in ("until_report", "report_s", "after_report"):
                res["configs"][name][k] = med(ss, k)
            # Only when every run stated its cost: a median of fewer runs
            # would not be the row's.
            if all(hasattr(x, "cost_total") for x in ss):
                res["configs"][name]["cost_ms"] = {
                    k: med(ss, "cost_" + k) for k in COST_KEYS}
    return res
