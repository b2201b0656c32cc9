# SPDX-License-Identifier: MIT
"""Row 1, W1: a CPython workload with PYTHONMALLOC=malloc (~8.7 M mallocs
at n = 200 000), plain against leakprobe (full stacks, DEPTH=0, UNWIND=1),
heaptrack and LSan interleaved; valgrind once at a smaller n."""

from ..config import WORKLOADS
from ..exit_report import exit_report_times
from ..harness import log, med, summarize
from .same_output import same_output_check

PYMALLOC_OFF = {"PYTHONMALLOC": "malloc"}  # every object a libc malloc


def configs(h, n):
    py = [h.python, str(WORKLOADS / "w1.py"), str(n)]
    pm = PYMALLOC_OFF
    # Text exit reports: this row reads only their uptime.
    out = str(h.tmp / "w1.%p.%n.txt")
    cfgs = [
        ("plain", py, pm),
        ("leakprobe", py, {**pm, **h.lp_env({"LEAKPROBE_OUTPUT": out})}),
        ("leakprobe DEPTH=0", py, {**pm, **h.lp_env(
            {"LEAKPROBE_OUTPUT": out, "LEAKPROBE_DEPTH": "0"})}),
        ("leakprobe UNWIND=1", py, {**pm, **h.lp_env(
            {"LEAKPROBE_OUTPUT": out, "LEAKPROBE_UNWIND": "1"})}),
    ]
    if h.heaptrack:
        cfgs.append(("heaptrack", [h.heaptrack, "-o",
                                   str(h.tmp / "ht.w1"), *py], pm))
    if h.lsan:
        cfgs.append(("LSan", py, {**pm, **h.lsan_env("lsan.w1")}))
    return cfgs, out


def run(h, params):
    n = params["w1_n"]
    runs = params["runs"]
    log(f"row 1: W1 (w1.py {n}, PYTHONMALLOC=malloc)")
    cfgs, out = configs(h, n)
    # Warm the page cache (python, json module, the shim) once, untimed.
    h.measure(cfgs[0][1], cfgs[0][2])
    problems = []

    def post(name, s):
        if name.startswith("leakprobe"):
            s.until_report, s.report_s, s.after_report = \
                exit_report_times(s, out)
            if s.until_report is None:
                problems.append(f"{name}: no exit report found")

    samples = h.run_configs("W1", cfgs, runs, same_output_check(problems),
                            post)
    res = {"n": n, "configs": {}, "problems": problems}
    for name, ss in samples.items():
        res["configs"][name] = summarize(ss)
        if name.startswith("leakprobe"):
            for k in ("until_report", "report_s", "after_report"):
                res["configs"][name][k] = med(ss, k)
    if h.valgrind:
        res["valgrind"] = run_valgrind(h, params, problems)
    for p in problems:
        log(f"  W1 problem: {p}")
    return res


def run_valgrind(h, params, problems):
    """One run at a smaller n (memcheck is ~40x), against plain at that n."""
    vn = params["valgrind_n"]
    log(f"row 1: valgrind at w1.py {vn} (1 run) and plain at {vn}")
    py = [h.python, str(WORKLOADS / "w1.py"), str(vn)]
    plain_small = [h.measure(py, PYMALLOC_OFF) for _ in range(params["runs"])]
    vg = h.measure([h.valgrind, "--tool=memcheck", "--leak-check=full",
                    "-q", f"--log-file={h.tmp / 'vg.w1.%p'}", *py],
                   PYMALLOC_OFF)
    if vg.rc:
        problems.append(f"valgrind: exit status {vg.rc}")
    log(f"  W1 valgrind: wall {vg.wall:.3f} s cpu {vg.cpu:.3f} s; "
        f"plain at {vn}: {med(plain_small, 'wall'):.3f} s")
    return {"n": vn, "plain": summarize(plain_small),
            "valgrind": summarize([vg])}
