"""Live CPython under report signals: a program that allocates and releases
reference cycles in a loop, with the collector enabled (tests/python/
stress.py), gets 50 SIGUSR1 about 20 ms apart, then 10 spaced wider than a
report takes.  It must keep running and print exactly what it prints
without the shim (same number of rounds), exit 0; every report must be
valid, seq numbers without gaps, and none of the 10 widely spaced signals
may go without its report.

    test_python_stress.py KEY      KEY: system | 3.8 ... 3.13
"""
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from lptest import python as pylib  # noqa: E402
from lptest import Failure, Soft, check, check_eq, clean_env, load_reports, main  # noqa: E402

BURST, BURST_GAP = 50, 0.020
SPACED, MIN_GAP = 10, 0.300
SETTLE_LIMIT = 240    # bound on waiting for queued reports


class Prog:
    def __init__(self, py, tmp):
        self.tmp = tmp
        self.out_path = os.path.join(tmp, "stdout")
        self.err_path = os.path.join(tmp, "stderr")
        env = clean_env(pylib.env(), shim=True, tmp=tmp)
        self.p = subprocess.Popen([py] + pylib.PYFLAGS + [pylib.STRESS], env=env,
                                  stdin=subprocess.PIPE, stdout=open(self.out_path, "wb"),
                                  stderr=open(self.err_path, "wb"))
        self.pid = self.p.pid

    def stdout(self):
        with open(self.out_path, "rb") as fh:
            return fh.read().decode(errors="replace")

    def stderr(self):
        with open(self.err_path, "rb") as fh:
            return fh.read().decode(errors="replace")

    def where(self):
        out = self.stdout().splitlines()
        return f"last output {out[-2:]}; stderr:\n{pylib.tail(self.stderr(), 2000)}"

    def alive(self, what):
        check(self.p.poll() is None, f"the program died {what} (exit code {self.p.returncode}); "
                                     f"{self.where()}")

    def wait_output(self, prefix, timeout=60):
        deadline = time.monotonic() + timeout
        while not any(l.startswith(prefix) for l in self.stdout().splitlines()):
            self.alive(f"before printing {prefix!r}")
            check(time.monotonic() < deadline, f"no {prefix!r} line within {timeout} s; {self.where()}")
            time.sleep(0.01)

    def reports(self):
        return [f for f in glob.glob(os.path.join(self.tmp, f"r.{self.pid}.*.json"))
                if ".tmp." not in f]

    def settle(self, what, expected, quiet):
        """Wait for the queued reports: until there are `expected` (and
        no more for 0.5 s), or none appeared for `quiet` s; their number."""
        deadline = time.monotonic() + SETTLE_LIMIT
        n, since = len(self.reports()), time.monotonic()
        while True:
            self.alive(what)
            idle = time.monotonic() - since
            if idle >= quiet or (n >= expected and idle >= 0.5):
                return n
            check(time.monotonic() < deadline,
                  f"reports still appearing {SETTLE_LIMIT} s after {what} ({n} so far)")
            time.sleep(0.02)
            m = len(self.reports())
            if m != n:
                n, since = m, time.monotonic()

    def signal(self, what):
        self.alive(what)
        os.kill(self.pid, signal.SIGUSR1)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=10)


def stress(py, label, soft):
    tmp = tempfile.mkdtemp(prefix="lptest.pystress.")
    prog = Prog(py, tmp)
    try:
        prog.wait_output("ready")
        prog.wait_output("round 3")  # allocating and collecting by now
        # 1. How long one report takes, alone.
        t1 = time.monotonic()
        prog.signal("before the first signal")
        deadline = t1 + 60
        while len(prog.reports()) < 1:
            prog.alive("waiting for the first report")
            check(time.monotonic() < deadline, "one signal gave no report within 60 s")
            time.sleep(0.002)
        latency = time.monotonic() - t1
        # Each signal is one report (the handler posts a semaphore), so a
        # queue drains one report after the other; waiting this long with
        # no new one means the queue is empty.
        quiet = max(3.0, 6 * latency)
        n_one = prog.settle("the first signal", 1, quiet)
        # 2. A burst: 50 signals 20 ms apart.
        t0 = time.monotonic()
        for i in range(BURST):
            prog.signal(f"during the burst (signal {i + 1})")
            time.sleep(BURST_GAP)
        burst_s = time.monotonic() - t0
        n_burst = prog.settle("the burst", n_one + BURST, quiet)
        drain_s = time.monotonic() - t0
        # 3. Spaced wider than a report takes: none may be lost.
        gap = max(MIN_GAP, 2 * latency)
        for i in range(SPACED):
            prog.signal(f"during the spaced signals (signal {i + 1})")
            time.sleep(gap)
        n_spaced = prog.settle("the spaced signals", n_burst + SPACED, quiet)
        prog.alive("after all signals")
        try:
            prog.p.stdin.write(b"stop\n")
            prog.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            rc = prog.p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            raise Failure(f"the program did not stop within 120 s of 'stop'; {prog.where()}")
        out = prog.stdout()
        reports = load_reports(tmp, f"r.{prog.pid}.*.json")
    finally:
        prog.kill()
        stderr = prog.stderr() if os.path.exists(prog.err_path) else ""
        shutil.rmtree(tmp, ignore_errors=True)

    check_eq(rc, 0, f"exit code under the shim; stderr:\n{pylib.tail(stderr)}")
    lines = out.splitlines()
    check(lines and lines[-1].startswith("rounds "), f"no final 'rounds R' line: {lines[-3:]}")
    rounds = int(lines[-1].split()[1])

    # The same program without the shim, for the same number of rounds.
    try:
        ref = subprocess.run([py] + pylib.PYFLAGS + [pylib.STRESS, str(rounds)],
                             env=clean_env(pylib.env(), shim=False), capture_output=True,
                             timeout=600, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise Failure(f"the reference run ({rounds} rounds, no shim) did not finish within 600 s")
    check_eq(ref.returncode, 0, "exit code of the reference run")
    if ref.stdout.decode() != out:
        ref_lines = ref.stdout.decode().splitlines()
        first = next((i for i, (a, b) in enumerate(zip(lines, ref_lines)) if a != b),
                     min(len(lines), len(ref_lines)))
        soft(check, False, f"stdout under the shim differs from the run without it at line "
                           f"{first + 1}: {lines[first:first + 1]} vs {ref_lines[first:first + 1]} "
                           f"({len(lines)} vs {len(ref_lines)} lines)")

    sig = [r for r in reports if r["reason"] == "signal"]
    ext = [r for r in reports if r["reason"] == "exit"]
    soft(check_eq, sorted(r["seq"] for r in reports), list(range(1, len(reports) + 1)),
         "seq numbers of the reports")
    soft(check_eq, len(ext), 1, "exit reports")
    if ext:
        soft(check_eq, ext[0]["seq"], len(reports), "seq of the exit report (the last)")
    soft(check_eq, n_one, 1, "reports for the first signal")
    soft(check, n_burst - n_one >= 1, f"no report for {BURST} signals")
    soft(check_eq, n_spaced - n_burst, SPACED,
         f"reports for {SPACED} signals {gap * 1000:.0f} ms apart (a report takes "
         f"{latency * 1000:.0f} ms)")
    soft(check_eq, len(sig), n_spaced, "signal reports at the end vs counted while running")
    bad = []
    for r in sig:
        py_ = r.get("python")
        det = r.get("detector") or {}
        if not py_ or not py_.get("gc_enabled") or det.get("source") != "interpreter" \
                or det.get("clamped") != 0 or not det.get("objects"):
            bad.append((r["_file"], py_, det))
    soft(check, not bad, f"{len(bad)} signal reports without a sound Python section "
                         f"(python, gc_enabled, detector): {bad[:3]}")
    print(f"  {label}: one report takes {latency * 1000:.0f} ms; {BURST} signals in "
          f"{burst_s:.2f} s -> {n_burst - n_one} reports (written in {drain_s:.1f} s); "
          f"{SPACED} signals {gap * 1000:.0f} ms apart -> {n_spaced - n_burst} reports; "
          f"{rounds} rounds, stdout "
          f"{'identical to' if ref.stdout.decode() == out else 'DIFFERENT from'} the run without "
          f"the shim; exit code {rc}")


def test():
    check(len(sys.argv) == 2, f"usage: {sys.argv[0]} KEY ({'|'.join(pylib.KEYS)})")
    soft = Soft()
    for label, py in pylib.interpreters(sys.argv[1]):
        try:
            stress(py, label, soft)
        except Failure as ex:
            soft.failures.append(f"{label}: {ex}")
    soft.done()


main(test)
