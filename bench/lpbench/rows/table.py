# SPDX-License-Identifier: MIT
"""Row 3, the live-block table: what the shim's records cost per live block
at 1 M live blocks (the JSON exit report's heap.table_bytes), and the extra
RSS against plain, steady state and peak."""

import json

from ..exit_report import report_path
from ..harness import log, med, ratio, summarize
from .live_heap import live_run, vm_rss_kb


def run(h, params):
    n = params["live_n"]
    runs = params["runs"]
    exe = h.build_c("live")
    log(f"row 3: table bytes at {n} live blocks of 32 bytes")
    pattern = str(h.tmp / "table.%p.%n.json")

    def rss(p):
        return {"ready_rss_kb": vm_rss_kb(p.pid)}
    plain, lp = [], []
    problems = []
    for r in range(runs):
        s = live_run(h, exe, n, {}, rss)
        plain.append(s)
        s = live_run(h, exe, n, h.lp_env(
            {"LEAKPROBE_FORMAT": "json", "LEAKPROBE_OUTPUT": pattern}), rss)
        path = report_path(pattern, s.pid)
        try:
            s.heap = json.loads(path.read_text())["heap"]
        except (OSError, ValueError, KeyError) as e:
            s.heap = None
            problems.append(f"no exit report {path}: {e}")
        lp.append(s)
        log(f"  table run {r + 1}/{runs}: ready RSS plain "
            f"{plain[-1].ready_rss_kb} KiB, leakprobe {s.ready_rss_kb} KiB; "
            f"heap {s.heap}")
    heap = lp[-1].heap or {}
    blocks = heap.get("live_blocks")
    res = {
        "n": n, "heap": heap, "problems": problems,
        "table_bytes_per_block": ratio(heap.get("table_bytes"), blocks),
        "depot_bytes": heap.get("depot_bytes"),
        "plain_ready_rss_kb": med(plain, "ready_rss_kb"),
        "lp_ready_rss_kb": med(lp, "ready_rss_kb"),
        "plain_maxrss_kb": med(plain, "maxrss_kb"),
        "lp_maxrss_kb": med(lp, "maxrss_kb"),
        "plain": summarize(plain), "leakprobe": summarize(lp),
    }
    res["ready_rss_extra_per_block"] = ratio(
        (res["lp_ready_rss_kb"] - res["plain_ready_rss_kb"]) * 1024, n)
    res["maxrss_extra_per_block"] = ratio(
        (res["lp_maxrss_kb"] - res["plain_maxrss_kb"]) * 1024, n)
    return res
