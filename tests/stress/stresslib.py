"""stresslib - helpers for the hostile-environment suite (stdlib only).

Built on tests/lptest.py (check, Failure, prog, skip, main, check_truth).
What it adds:

  * every run is bounded: a process group that outlives its timeout is
    killed and the test fails with "deadlock suspected";
  * reports are collected from files (LEAKPROBE_OUTPUT pattern) and from
    stderr (JSON documents mixed with warnings), grouped by pid;
  * extra ground-truth files written by forked children (LP_TRUTH.<pid>);
  * figures (hostile runs, signals, forks, threads, reports) printed by
    each test and written to LP_BUILD/tests/stress/figures/<test>.json so
    tests/stress/figures.py can add them up.
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lptest import (BUILD, SHIM, SKIP, Failure, check, check_truth,  # noqa: E402,F401
                    sites_by_function, skip)
import lptest  # noqa: E402

WARN = "leakprobe: warning: "


def prog(name):
    """A program built by tests/stress/meson.build."""
    p = os.path.join(BUILD, "tests", "stress", name)
    check(os.path.exists(p), f"test program {p} was not built")
    return p


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


def main(test, name=None):
    name = name or os.path.splitext(os.path.basename(sys.argv[0]))[0]
    t0 = time.monotonic()
    try:
        test()
    except Failure as ex:
        print(f"FAIL {name}: {ex}")
        _write_figures(name)
        sys.exit(1)
    except Exception:  # a bug in the test itself: say so, keep the figures
        import traceback
        traceback.print_exc()
        print(f"FAIL {name}: the test raised an unexpected exception (see stderr)")
        _write_figures(name)
        sys.exit(1)
    print(f"ok {name} ({time.monotonic() - t0:.1f} s)")
    _write_figures(name)
    sys.exit(0)


# --- JSON in a stream --------------------------------------------------------

def json_docs(text):
    """Every top-level JSON object in text (reports written to stderr among
    warnings and the program's own lines)."""
    dec = json.JSONDecoder()
    docs, i = [], 0
    while True:
        i = text.find('{"schema"', i)
        if i < 0:
            return docs
        try:
            doc, end = dec.raw_decode(text, i)
        except json.JSONDecodeError as ex:
            raise Failure(f"a report on stderr is not valid JSON ({ex}):\n"
                          f"{text[i:i + 400]}")
        docs.append(doc)
        i = end


def warnings(text):
    return [ln[len(WARN):] for ln in text.splitlines() if ln.startswith(WARN)]


# --- running -----------------------------------------------------------------

class Result:
    def __init__(self, argv, rc, stdout, stderr, tmp, elapsed):
        self.argv, self.rc, self.stdout, self.stderr = argv, rc, stdout, stderr
        self.tmp, self.elapsed = tmp, elapsed
        self.reports = []       # from files, in pid then seq order
        self.stderr_reports = json_docs(stderr)
        self.truth = None
        self.child_truths = {}  # pid -> truth, written by forked children
        self.files = []

    @property
    def all_reports(self):
        return self.reports + self.stderr_reports

    def by_pid(self, pid=None):
        pid = self.pid if pid is None else pid
        return [r for r in self.all_reports if r["pid"] == pid]

    def exit_report(self, pid=None):
        rs = [r for r in self.by_pid(pid) if r["reason"] == "exit"]
        if not rs:
            count(lost=1)
        check(len(rs) == 1, f"{self.name()}: expected one exit report for pid "
                            f"{pid or self.pid}, found {len(rs)}; stderr:\n{self.stderr[-2000:]}")
        return rs[0]

    def name(self):
        return " ".join(os.path.basename(a) if i == 0 else a
                        for i, a in enumerate(self.argv))[:120]

    def warnings(self):
        return warnings(self.stderr)


def _env(shim, env, tmp, output):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("LEAKPROBE_") or k == "LD_PRELOAD":
            del e[k]
    e["LP_TRUTH"] = os.path.join(tmp, "truth.json")
    if shim:
        e["LD_PRELOAD"] = SHIM
        e["LEAKPROBE_SIGNAL_COALESCE_MS"] = "0"  # one report per signal: counted
        e["LEAKPROBE_FORMAT"] = "json"
        e["LEAKPROBE_OUTPUT"] = os.path.join(tmp, "r.%p.%n.json") if output is None else output
    if env:
        for k, v in env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
    return e


def _kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def start(argv, env=None, shim=True, output=None, cwd=None, stdin=subprocess.DEVNULL,
          stdout=subprocess.PIPE, preexec_fn=None, tmp=None):
    """Popen in its own process group; returns (popen, tmp, stderr file)."""
    tmp = tmp or tempfile.mkdtemp(prefix="lpstress.")
    errf = open(os.path.join(tmp, "stderr.txt"), "w+b")
    p = subprocess.Popen(argv, env=_env(shim, env, tmp, output), cwd=cwd,
                         stdin=stdin, stdout=stdout, stderr=errf,
                         start_new_session=True, preexec_fn=preexec_fn)
    p._lp_t0 = time.monotonic()
    count(runs=1, shim_runs=1 if shim else 0)
    return p, tmp, errf


def finish(p, tmp, errf, argv, timeout, keep_tmp=False, input_=None):
    """Wait (bounded), collect output, reports and truth."""
    try:
        out, _ = p.communicate(input=input_, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(p)
        p.communicate()
        count(hangs=1)
        errf.seek(0)
        err = errf.read().decode(errors="replace")
        raise Failure(f"deadlock suspected: {' '.join(argv)[:200]} did not finish in "
                      f"{timeout} s (killed); stderr tail:\n{err[-1500:]}")
    # Children a test program forked must not outlive it.
    _kill_group(p)
    elapsed = time.monotonic() - p._lp_t0
    errf.seek(0)
    err = errf.read().decode(errors="replace")
    errf.close()
    r = Result(argv, p.returncode, (out or b"").decode(errors="replace"), err, tmp, elapsed)
    r.pid = p.pid
    _collect(r, tmp)
    if not keep_tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    return r


def _collect(r, tmp):
    r.files = sorted(os.listdir(tmp))
    def key(f):
        return [int(x) if x.isdigit() else x for x in os.path.basename(f).split(".")]
    for f in sorted(glob.glob(os.path.join(tmp, "r.*.json")), key=key):
        with open(f, "rb") as fh:
            data = fh.read().decode(errors="replace")
        try:
            r.reports.append(json.loads(data))
        except json.JSONDecodeError as ex:
            raise Failure(f"report {os.path.basename(f)} is not valid JSON: {ex}")
    tf = os.path.join(tmp, "truth.json")
    if os.path.exists(tf):
        with open(tf) as fh:
            r.truth = json.load(fh)
    for f in glob.glob(os.path.join(tmp, "truth.json.*")):
        with open(f) as fh:
            r.child_truths[int(f.rsplit(".", 1)[1])] = json.load(fh)
    count(reports=len(r.reports) + len(r.stderr_reports))


def run(argv, timeout=60, input_=None, keep_tmp=False, **kw):
    p, tmp, errf = start(argv, stdin=subprocess.PIPE if input_ is not None
                         else kw.pop("stdin", subprocess.DEVNULL), **kw)
    return finish(p, tmp, errf, argv, timeout, keep_tmp=keep_tmp, input_=input_)


def plain(argv, timeout=60, **kw):
    """The same program without the shim: the oracle."""
    return run(argv, timeout=timeout, shim=False, **kw)


# --- common checks -----------------------------------------------------------

def check_consistent(rep, what):
    """Invariants every report must satisfy, even one taken mid-storm: each
    shard is copied under its lock, so sites, totals and counters agree."""
    h = rep["heap"]
    sb = sum(s["blocks"] for s in rep["sites"])
    sy = sum(s["bytes"] for s in rep["sites"])
    check(sb == h["live_blocks"], f"{what}: sites hold {sb} blocks, heap.live_blocks {h['live_blocks']}")
    check(sy == h["live_bytes"], f"{what}: sites hold {sy} bytes, heap.live_bytes {h['live_bytes']}")
    check(h["total_allocs"] - h["total_frees"] == h["live_blocks"],
          f"{what}: total_allocs - total_frees = {h['total_allocs'] - h['total_frees']}, "
          f"live_blocks {h['live_blocks']}")
    big = [b for b in rep["large"]]
    check(all(b["size"] >= rep["large_threshold"] for b in big),
          f"{what}: a 'large' block below the threshold")
    check(h["peak_bytes"] >= h["live_bytes"], f"{what}: peak {h['peak_bytes']} < live {h['live_bytes']}")


def check_seqs(reports, what):
    """Per pid, seq runs 1..n without gaps or repeats."""
    pids = {}
    for rep in reports:
        pids.setdefault(rep["pid"], []).append(rep["seq"])
    for pid, seqs in pids.items():
        check(sorted(seqs) == list(range(1, len(seqs) + 1)),
              f"{what}: pid {pid} report numbers {sorted(seqs)} are not 1..{len(seqs)}")


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


class Soft:
    """Collect several independent failures, report them all at the end:
        with soft(): check(...)   # repeated; soft.raise_if_any()"""
    def __init__(self):
        self.failures = []

    def __call__(self, label):
        outer = self

        class _Ctx:
            def __enter__(self):
                return self

            def __exit__(self, typ, ex, tb):
                if typ is Failure:
                    print(f"{label}: FAIL {ex}")
                    outer.failures.append(f"{label}: {ex}")
                    return True
                if typ is None:
                    print(f"{label}: ok")
                return False
        return _Ctx()

    def raise_if_any(self):
        if self.failures:
            raise Failure(f"{len(self.failures)} failed check(s):\n  " + "\n  ".join(self.failures))
