# SPDX-License-Identifier: MIT
"""Running children and reducing their runs to figures.

Wall time is measured around the child; CPU time (user + sys) and max RSS
come from os.wait4(), so they include the child's waited-for descendants
(heaptrack's interpreter and compressor).  A run that outlives the timeout
has its whole process group killed.

Linux starts a child's ru_maxrss at the runner's own RSS when it forks (the
high-water mark survives exec), so the runner must stay small: a row never
loads a large report whole.
"""

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .config import LSAN_LIB, WORKLOADS

# Environment variables that would change what a child measures.
SCRUB = ("LD_PRELOAD", "LSAN_OPTIONS", "ASAN_OPTIONS", "PYTHONMALLOC",
         "PYTHONTRACEMALLOC", "PYTHONDEVMODE", "PYTHONMALLOCSTATS",
         "VALGRIND_OPTS")


def log(msg):
    """Progress goes to stderr: stdout is the Markdown document."""
    print(msg, file=sys.stderr, flush=True)


# --- one child ---------------------------------------------------------------

class Sample:
    """One run of one command; rows attach their own figures to it."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    @property
    def cpu(self):
        return self.user + self.sys


def base_env(extra=None):
    """This environment without anything that instruments a child."""
    env = {k: v for k, v in os.environ.items()
           if k not in SCRUB and not k.startswith("LEAKPROBE_")}
    env.update(extra or {})
    return env


def kill_group(p, flag=None):
    # The group: heaptrack's helpers and valgrind's children go too.
    if flag is not None:
        flag.append(True)
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def measure(argv, env, timeout, stdin=subprocess.DEVNULL, after_start=None):
    """Run argv to completion.  Wall time around it; CPU time and max RSS
    from wait4 (child plus its waited-for descendants).  after_start(p),
    if given, runs while the child is alive (the child must not exit before
    it returns unless it is meant to)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t_start = time.time()
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, env=env, stdin=stdin, stdout=out,
                             stderr=err, start_new_session=True)
        killed = []
        timer = threading.Timer(timeout, kill_group, (p, killed))
        timer.start()
        extra = {}
        try:
            if after_start:
                extra = after_start(p) or {}
        except BaseException:
            kill_group(p)
            raise
        finally:
            _, status, ru = os.wait4(p.pid, 0)
            t1 = time.perf_counter()
            timer.cancel()
            p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Sample(argv=[str(a) for a in argv], wall=t1 - t0,
                      t_start=t_start,
                      user=ru.ru_utime, sys=ru.ru_stime,
                      maxrss_kb=ru.ru_maxrss, rc=p.returncode,
                      timed_out=bool(killed),
                      stdout=out.read().decode(errors="replace"),
                      stderr=err.read().decode(errors="replace"), **extra)


def measure_conversing(argv, env, timeout, converse):
    """Like measure(), for a child the runner talks to: its stdin and stdout
    are pipes, and converse(p) runs while it lives (it must make the child
    exit, e.g. by closing its stdin).  Its stdout is left to converse;
    stderr is collected on a thread so the child never blocks on it."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    killed = []
    timer = threading.Timer(timeout, kill_group, (p, killed))
    timer.start()
    err = []
    eth = threading.Thread(target=lambda: err.append(p.stderr.read()),
                           daemon=True)
    eth.start()
    try:
        extra = converse(p) or {}
    finally:
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        eth.join(5)
    return Sample(argv=argv, wall=wall, user=ru.ru_utime, sys=ru.ru_stime,
                  maxrss_kb=ru.ru_maxrss, rc=p.returncode,
                  timed_out=bool(killed), pid=p.pid, stdout="",
                  stderr=(err[0] if err else b"").decode(errors="replace"),
                  **extra)


# --- medians -------------------------------------------------------------------

def med(samples, attr):
    """Median of an attribute (or of attr(sample)) over the samples that
    have it; None when none does."""
    vals = [getattr(s, attr) if not callable(attr) else attr(s)
            for s in samples]
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def summarize(samples):
    return {
        "runs": len(samples),
        "wall": med(samples, "wall"),
        "cpu": med(samples, lambda s: s.cpu),
        "user": med(samples, "user"),
        "sys": med(samples, "sys"),
        "maxrss_kb": med(samples, "maxrss_kb"),
        "walls": [round(s.wall, 4) for s in samples],
        "cpus": [round(s.cpu, 4) for s in samples],
    }


def ratio(a, b):
    return a / b if a is not None and b else None


# --- the quiet-machine checks ------------------------------------------------

def busy_cores(interval=1.0):
    """CPUs kept busy by everything on the machine over `interval` seconds
    (from /proc/stat), e.g. 0.05 on an idle machine, 2.0 when both of 2
    CPUs are taken."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return sum(v[:8]), idle
    try:
        t0, i0 = sample()
        time.sleep(interval)
        t1, i1 = sample()
    except (OSError, ValueError):
        return None
    total = t1 - t0
    return (os.cpu_count() or 1) * (total - (i1 - i0)) / total if total else None


def wait_quiet(limit_s, threshold=0.3):
    """Wait (up to limit_s) until other processes keep fewer than
    `threshold` CPUs busy.  Returns the last reading."""
    deadline = time.monotonic() + limit_s
    while True:
        b = busy_cores()
        if b is None or b < threshold or time.monotonic() >= deadline:
            return b
        log(f"bench: machine busy ({b:.2f} CPUs in use); waiting "
            f"(--wait-quiet, {deadline - time.monotonic():.0f} s left)")
        time.sleep(4)


# --- the harness a row runs in ---------------------------------------------------

class Harness:
    """The shim under test, the tools it is compared with (None when missing
    or --skip'ed, with the reason in `skipped`), a temporary directory for
    builds and reports, and the per-run timeout."""

    def __init__(self, lib, python, timeout, skip=()):
        self.tmp = Path(tempfile.mkdtemp(prefix="leakprobe-bench."))
        self.lib = Path(lib).resolve()
        self.python = python
        self.timeout = timeout
        self.skipped = {}   # tool -> why
        skip = set(skip)
        self.heaptrack = self._tool("heaptrack", shutil.which("heaptrack"),
                                    skip)
        self.valgrind = self._tool("valgrind", shutil.which("valgrind"), skip)
        self.lsan = self._tool("lsan", LSAN_LIB if os.path.exists(LSAN_LIB)
                               else None, skip)

    def _tool(self, name, path, skip):
        if name in skip:
            self.skipped[name] = "skipped (--skip)"
            return None
        if not path:
            self.skipped[name] = ("not installed" if name != "lsan" else
                                  f"{LSAN_LIB} not found (Debian: liblsan0)")
            log(f"note: {name}: {self.skipped[name]}; its columns are skipped")
            return None
        return path

    def lp_env(self, extra=None):
        env = {"LD_PRELOAD": str(self.lib)}
        env.update(extra or {})
        return env

    def lsan_env(self, logname):
        # exitcode=0: leaks found at exit must not turn into a failing exit
        # status; the leak check itself still runs (as leakprobe's exit
        # report does), its report goes to a file.
        return {"LD_PRELOAD": self.lsan,
                "LSAN_OPTIONS": f"exitcode=0:log_path={self.tmp / logname}"}

    def build_c(self, name, extra=(), out=None):
        """Build bench/workloads/<name>.c into the temporary directory."""
        src = WORKLOADS / f"{name}.c"
        exe = self.tmp / (out or name)
        cmd = ["gcc", "-O2", "-g", "-pthread", *extra, "-o", str(exe),
               str(src), "-ldl"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            sys.exit(f"bench: cannot build {src}:\n{r.stderr}")
        return exe

    def measure(self, argv, env=None, **kw):
        """One run of argv with `env` added to the scrubbed environment."""
        return measure(argv, base_env(env), self.timeout, **kw)

    def measure_conversing(self, argv, env, converse):
        return measure_conversing(argv, base_env(env), self.timeout, converse)

    def run_configs(self, label, cfgs, runs, check=None, post=None):
        """Run every config (name, argv, env) `runs` times, interleaved
        (config A, B, C, A, B, C, ...) so that a change in background load
        hits them alike.  check(name, sample) and post(name, sample) see
        each run as it ends.  Returns {name: [Sample, ...]}."""
        samples = {name: [] for name, *_ in cfgs}
        for r in range(runs):
            for name, argv, env in cfgs:
                s = self.measure(argv, env,
                                 after_start=lambda p: {"pid": p.pid})
                if s.rc != 0 or s.timed_out:
                    log(f"  {label} {name}: exit status {s.rc}"
                        f"{' (timed out)' if s.timed_out else ''}\n"
                        f"  {s.stderr[-2000:]}")
                if check:
                    check(name, s)
                if post:
                    post(name, s)
                samples[name].append(s)
                log(f"  {label} {name:20} run {r + 1}/{runs}: wall {s.wall:7.3f} s"
                    f"  cpu {s.cpu:7.3f} s  maxrss {s.maxrss_kb / 1024:7.1f} MiB")
        return samples

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
