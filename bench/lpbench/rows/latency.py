# SPDX-License-Identifier: MIT
"""Row 4, SIGUSR1 report latency with 1 M live blocks, in each format: from
kill() until the report file exists (the shim renames it into place when
complete, so existing means written)."""

import json
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path

from ..harness import log
from .live_heap import live_run

POLL_S = 0.0005
GIVE_UP_S = 30


def run(h, params):
    n = params["live_n"]
    runs = params["runs"]
    exe = h.build_c("live")
    log(f"row 4: SIGUSR1 report latency at {n} live blocks")
    res = {"n": n, "formats": {}, "problems": []}
    for fmt in ("json", "text"):
        ext = "json" if fmt == "json" else "txt"
        lat = []
        sizes = []
        for r in range(runs):
            d = Path(tempfile.mkdtemp(prefix=f"lat.{fmt}.", dir=h.tmp))
            pattern = str(d / f"r.%p.%n.{ext}")

            def signal_and_wait(p):
                path = d / f"r.{p.pid}.1.{ext}"
                time.sleep(0.05)  # let the program settle after 'ready'
                t0 = time.perf_counter()
                os.kill(p.pid, signal.SIGUSR1)
                deadline = t0 + GIVE_UP_S
                while not path.exists():
                    if time.perf_counter() > deadline:
                        return {"latency": None, "report": None}
                    time.sleep(POLL_S)
                dt = time.perf_counter() - t0
                return {"latency": dt, "report": path}
            s = live_run(h, exe, n, h.lp_env(
                {"LEAKPROBE_FORMAT": fmt, "LEAKPROBE_OUTPUT": pattern}),
                signal_and_wait)
            if s.latency is None:
                res["problems"].append(f"{fmt}: no report within {GIVE_UP_S} s")
                continue
            size = s.report.stat().st_size
            if fmt == "json":
                check_json_report(s.report, n, res["problems"])
            lat.append(s.latency)
            sizes.append(size)
            log(f"  latency {fmt} run {r + 1}/{runs}: {s.latency * 1000:.1f} ms"
                f" ({size} bytes)")
        res["formats"][fmt] = {
            "median_s": statistics.median(lat) if lat else None,
            "min_s": min(lat) if lat else None,
            "max_s": max(lat) if lat else None,
            "runs_s": lat, "report_bytes": sizes[-1] if sizes else None}
    return res


def check_json_report(path, n, problems):
    """The report timed must be the signal's, over the whole heap."""
    try:
        rep = json.loads(path.read_text())
        if rep["heap"]["live_blocks"] < n or rep["reason"] != "signal":
            problems.append(f"json: report has {rep['heap']['live_blocks']} "
                            f"live blocks, reason {rep['reason']}")
    except (ValueError, KeyError) as e:
        problems.append(f"json: unreadable report: {e}")
