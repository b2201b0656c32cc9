# SPDX-License-Identifier: MIT
"""Row 7, the leak verdict: classifying W1's exit heap (every live block
definitely, indirectly, possibly lost or reachable), leakprobe's
cost_ms.classify against LeakSanitizer's own leak check of the same
heap (__lsan_do_recoverable_leak_check timed from an atexit callback:
where leakprobe's exit report runs; LSan's check at exit would see the
heap after the interpreter freed it); and the pause a signal report with a verdict imposes
on a running program: live.c in tick mode (1 M live blocks, a thread that
mallocs and frees in a loop and notes its longest gap), one SIGUSR1
report with LEAKPROBE_CLASSIFY=all against one without a verdict."""

import json
import os
import signal
import time

from ..config import WORKLOADS
from ..harness import log, med
from .live_heap import live_run
from .w1 import PYMALLOC_OFF


def pause(h, params, classify, r):
    """The ticker's longest gap (us) over a run with one signal report."""
    n = params["live_n"]
    exe = h.build_c("live")
    d = h.tmp / f"pause.{classify}.{r}"
    d.mkdir(exist_ok=True)
    gap = d / "gap.txt"
    report = d / "r.json"

    def signal_and_wait(p):
        time.sleep(0.2)  # the ticker's own warm-up gaps are over
        os.kill(p.pid, signal.SIGUSR1)
        deadline = time.time() + 60
        while not report.exists() and time.time() < deadline:
            time.sleep(0.005)
        time.sleep(0.1)
        return {}
    env = h.lp_env({"LEAKPROBE_FORMAT": "json", "LEAKPROBE_OUTPUT": str(d / "r.%n.json"),
                    "LEAKPROBE_CLASSIFY": classify, "LIVE_GAP_FILE": str(gap)})
    report = d / "r.1.json"
    live_run(h, exe, n, env, signal_and_wait, mode="tick")
    try:
        words = gap.read_text().split()
        rep = json.loads(report.read_text())
        return {"max_gap_ms": float(words[1]) / 1e3, "turns": int(words[3]),
                "classified": rep["classify"] is not None,
                "classify_s": rep["classify"]["seconds"] if rep["classify"] else None}
    except (OSError, ValueError, KeyError, IndexError) as e:
        return {"problem": f"pause run ({classify}): {e}"}


def run(h, params):
    n = params["w1_n"]
    runs = params["runs"]
    log(f"row 7: leak verdict of W1's exit heap (w1.py {n})")
    py = [h.python, str(WORKLOADS / "w1.py"), str(n)]
    res = {"n": n, "leakprobe": [], "lsan_check": [], "problems": []}
    for r in range(runs):
        out = h.tmp / f"verdict.{r}.json"
        s = h.measure(py, {**PYMALLOC_OFF, **h.lp_env(
            {"LEAKPROBE_FORMAT": "json", "LEAKPROBE_OUTPUT": str(out)})})
        try:
            rep = json.loads(out.read_text())
            c = rep["classify"]
            res["leakprobe"].append({
                "classify_s": c["seconds"], "blocks": rep["heap"]["live_blocks"],
                "bytes": rep["heap"]["live_bytes"], "roots_bytes": c["roots_bytes"],
                "lost": {k: v["blocks"] for k, v in rep["heap"]["lost"].items()},
                "wall": s.wall})
            log(f"  leakprobe run {r + 1}/{runs}: classify {c['seconds'] * 1000:.0f} ms "
                f"over {rep['heap']['live_blocks']} blocks")
        except (OSError, ValueError, KeyError, TypeError) as e:
            res["problems"].append(f"leakprobe run {r + 1}: no verdict in the exit report ({e})")
        if h.lsan:
            m = h.measure([h.python, str(WORKLOADS / "lsan_at_exit.py"), *py[1:]],
                          {**PYMALLOC_OFF, **h.lsan_env(f"lsan.verdict.{r}")})
            secs = [float(l.split()[1]) for l in m.stderr.splitlines()
                    if l.startswith("lsan-check-seconds")] if m.stderr else []
            if secs:
                res["lsan_check"].append(secs[-1])
                log(f"  LSan run {r + 1}/{runs}: leak check {secs[-1] * 1000:.0f} ms")
            else:
                res["problems"].append(f"LSan run {r + 1}: no timing line")
    if res["lsan_check"]:
        res["lsan_check_s"] = sorted(res["lsan_check"])[len(res["lsan_check"]) // 2]
    lp = [x["classify_s"] for x in res["leakprobe"]]
    res["classify_s"] = sorted(lp)[len(lp) // 2] if lp else None
    res["pause"] = {}
    for classify in ("all", "never"):
        runs_ = [pause(h, params, classify, r) for r in range(runs)]
        res["problems"] += [x["problem"] for x in runs_ if "problem" in x]
        ok = [x for x in runs_ if "problem" not in x]
        res["pause"][classify] = ok
        for x in ok:
            log(f"  pause, CLASSIFY={classify}: longest gap {x['max_gap_ms']:.1f} ms "
                f"(classify {x['classify_s']})")
    for p in res["problems"]:
        log(f"  verdict problem: {p}")
    return res
