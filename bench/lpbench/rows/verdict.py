# SPDX-License-Identifier: MIT
"""Row 7, the leak verdict: classifying W1's exit heap (every live block
definitely, indirectly, possibly lost or reachable), leakprobe's
cost_ms.classify against LeakSanitizer's own leak check of the same
program (the wall time with detect_leaks=1 less with detect_leaks=0,
interleaved runs)."""

import json

from ..config import WORKLOADS
from ..harness import log, med
from .w1 import PYMALLOC_OFF


def run(h, params):
    n = params["w1_n"]
    runs = params["runs"]
    log(f"row 7: leak verdict of W1's exit heap (w1.py {n})")
    py = [h.python, str(WORKLOADS / "w1.py"), str(n)]
    res = {"n": n, "leakprobe": [], "lsan_on": [], "lsan_off": [], "problems": []}
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
            for key, detect in (("lsan_on", 1), ("lsan_off", 0)):
                env = h.lsan_env(f"lsan.verdict.{r}")
                env["LSAN_OPTIONS"] += f":detect_leaks={detect}"
                res[key].append(h.measure(py, {**PYMALLOC_OFF, **env}).wall)
    if res["lsan_on"]:
        on, off = sorted(res["lsan_on"]), sorted(res["lsan_off"])
        res["lsan_check_s"] = on[len(on) // 2] - off[len(off) // 2]
    lp = [x["classify_s"] for x in res["leakprobe"]]
    res["classify_s"] = sorted(lp)[len(lp) // 2] if lp else None
    for p in res["problems"]:
        log(f"  verdict problem: {p}")
    return res
