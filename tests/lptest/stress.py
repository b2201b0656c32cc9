"""stress - what the hostile-environment suite adds to the harness:

  * every run in a process group of its own, killed once the program
    ends or its time is up ("deadlock suspected");
  * test programs from LP_BUILD/tests/stress;
  * figures (hostile runs, signals, forks, threads, reports) printed by
    each test and written to LP_BUILD/tests/stress/figures/<test>.json so
    tests/stress/figures.py can add them up.
"""
import json
import os
import re

from lptest import running
from lptest.checks import (Failure, Soft, at_end, check, check_eq, main,  # noqa: F401
                           skip)
from lptest.env import BUILD, SHIM, prog as _prog
from lptest.reports import check_consistent, check_seqs, check_truth  # noqa: F401


def prog(name):
    """A program built by tests/stress/meson.build."""
    return _prog(name, where=os.path.join("tests", "stress"))


# --- figures -----------------------------------------------------------------

FIGURES = {"runs": 0, "shim_runs": 0, "signals": 0, "forks": 0, "threads": 0,
           "reports": 0, "lost": 0, "hangs": 0}


def count(**kw):
    for k, v in kw.items():
        FIGURES[k] = FIGURES.get(k, 0) + int(v)


def _write_figures(name):
    print("figures: " + ", ".join(f"{k}={v}" for k, v in FIGURES.items()))
    if not BUILD:
        return
    d = os.path.join(BUILD, "tests", "stress", "figures")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name + ".json"), "w") as f:
        json.dump(FIGURES, f)


at_end(_write_figures)
running.Run.on_lost = lambda: count(lost=1)


# --- running -----------------------------------------------------------------

def start(argv, shim=True, **kw):
    count(runs=1, shim_runs=1 if shim else 0)
    return running.start(argv, shim=shim, own_group=True, stderr_file=True, **kw)


def finish(p, timeout=60, keep_tmp=False):
    try:
        r = running.finish(p, timeout=timeout, keep_tmp=keep_tmp)
    except Failure as ex:
        if str(ex).startswith("deadlock suspected"):
            count(hangs=1)
        raise
    count(reports=len(r.reports) + len(r.stderr_reports))
    return r


def run(argv, timeout=60, keep_tmp=False, **kw):
    return finish(start(argv, **kw), timeout=timeout, keep_tmp=keep_tmp)


def plain(argv, timeout=60, **kw):
    """The same program without the shim: the oracle."""
    return run(argv, timeout=timeout, shim=False, **kw)


# --- comparisons ---------------------------------------------------------------

def same_output(a, b, what, strip=None):
    """The program's stdout and exit status are the same with and without
    the shim (strip: a regex of lines to ignore, e.g. timings)."""
    def norm(s):
        lines = s.splitlines()
        if strip:
            lines = [ln for ln in lines if not re.search(strip, ln)]
        return lines
    check(a.rc == b.rc, f"{what}: exit status {b.rc} under the shim, {a.rc} without")
    na, nb = norm(a.stdout), norm(b.stdout)
    if na != nb:
        import difflib
        diff = "\n".join(list(difflib.unified_diff(na, nb, "plain", "shim", lineterm=""))[:40])
        raise Failure(f"{what}: output differs under the shim:\n{diff}")


def no_tmp_left(r, what):
    left = [f for f in r.files if ".tmp." in f]
    check(not left, f"{what}: temporary report files left behind: {left}")


