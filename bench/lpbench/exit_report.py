# SPDX-License-Identifier: MIT
"""What leakprobe's exit report, written to LEAKPROBE_OUTPUT, says about
the run that wrote it: when it began (its uptime) and what gathering it
cost (its last line).

The text report, because the rows that ask (W1, W1p) time a text exit
report, the format a user gets by default.  A JSON report of the same heap
is a different job: it lists every site and names all their frames
(LEAKPROBE_TOP does not cut it), megabytes where the text is kilobytes.
A row that times a JSON report would take the same phases from its
cost_ms (docs/report-format.md)."""

import re
from pathlib import Path

# The keys a row's results keep the cost under (medians, ms).
COST_KEYS = ("total", "heap", "enumerate", "detector", "owners", "symbols")


def report_path(pattern, pid, seq=1):
    """The file LEAKPROBE_OUTPUT=pattern names for report `seq` of `pid`."""
    return Path(pattern.replace("%p", str(pid)).replace("%n", str(seq)))


def exit_report_times(sample, pattern):
    """Split a leakprobe run at its exit report: (seconds until the report
    started, seconds the report took, seconds after it).  The start is the
    report's own uptime (text format, first line; the shim starts within a
    few ms of the process), the end is the report file's mtime (it is
    renamed into place when complete)."""
    path = report_path(pattern, sample.pid)
    try:
        m = re.search(r"uptime ([\d.]+) s", path.read_text(errors="replace"))
        end = path.stat().st_mtime
    except OSError:
        return None, None, None
    if not m:
        return None, None, None
    start = float(m.group(1))
    done = end - sample.t_start
    return start, done - start, sample.wall - done


COST_LINE = re.compile(r"This report took ([\d.]+) ms before it was written \(heap ([\d.]+), "
                       r"Python objects ([\d.]+), detector ([\d.]+), owners ([\d.]+), "
                       r"symbols ([\d.]+)\)")


def exit_report_cost(sample, pattern):
    """The exit report's own account of its phases (ms), from its last line."""
    try:
        m = COST_LINE.search(report_path(pattern, sample.pid).read_text(errors="replace"))
    except OSError:
        return None
    return dict(zip(COST_KEYS, map(float, m.groups()))) if m else None
