"""lptest - helpers for leakprobe's real-process tests (stdlib only).

Each test is a script run by meson with:
  LP_SHIM   absolute path of libleakprobe.so
  LP_BUILD  the build directory (test programs live in LP_BUILD/tests/)
  LP_SRC    the source tree
A test exits 0 on success, 77 to skip (with a message), anything else on
failure; failures say what was expected and what was seen.

Two ways to run a program:
  run(argv, ...)        start, wait (bounded), collect reports and truth;
  Session(argv, ...)    start and talk to it line by line (handshakes for
                        signals, planted files...), then .finish().
"""
import glob
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

SHIM = os.environ.get("LP_SHIM", "")
BUILD = os.environ.get("LP_BUILD", "")
SRC = os.environ.get("LP_SRC", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP = 77
WARNING_PREFIX = "leakprobe: warning: "


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def check_eq(seen, expected, what):
    """Equality with an 'expected X, seen Y' message."""
    if seen != expected:
        raise Failure(f"{what}: expected {expected!r}, seen {seen!r}")


def skip(msg):
    print(f"SKIP: {msg}")
    sys.exit(SKIP)


def prog(name):
    """Path of a test program (or plugin) built by tests/meson.build."""
    p = os.path.join(BUILD, "tests", name)
    check(os.path.exists(p), f"test program {p} was not built")
    return p


def program_source(name):
    return os.path.join(SRC, "tests", "programs", name)


def _natural(path):
    return [int(x) if x.isdigit() else x for x in os.path.basename(path).split(".")]


def load_reports(directory, pattern="r.*.json"):
    """Every JSON report file in directory, in (pid, seq) name order."""
    reports = []
    for f in sorted(glob.glob(os.path.join(directory, pattern)), key=_natural):
        if ".tmp." in os.path.basename(f):
            continue
        with open(f) as fh:
            try:
                rep = json.load(fh)
            except json.JSONDecodeError as ex:
                raise Failure(f"report {f} is not valid JSON: {ex}")
        rep["_file"] = os.path.basename(f)
        reports.append(rep)
    return reports


def load_truths(directory):
    """truth.json -> None key, truth.json.<tag> -> tag."""
    truths = {}
    for f in glob.glob(os.path.join(directory, "truth.json*")):
        base = os.path.basename(f)
        tag = None if base == "truth.json" else base[len("truth.json."):]
        with open(f) as fh:
            try:
                truths[tag] = json.load(fh)
            except json.JSONDecodeError as ex:
                raise Failure(f"truth file {f} is not valid JSON: {ex}")
    return truths


def json_reports_in_text(text):
    """JSON reports written to a stream (stderr) among other lines."""
    dec = json.JSONDecoder()
    out, i = [], 0
    while True:
        i = text.find('{"schema"', i)
        if i < 0:
            return out
        try:
            obj, end = dec.raw_decode(text, i)
        except json.JSONDecodeError as ex:
            raise Failure(f"a JSON report on the stream is cut or invalid: {ex}\n"
                          f"{text[i:i + 500]}")
        out.append(obj)
        i = end


def warning_lines(text):
    return [l for l in text.splitlines() if l.startswith(WARNING_PREFIX)]


def clean_env(env=None, shim=True, json_reports=True, output=None, tmp=None):
    """The environment for a run: no inherited LEAKPROBE_*/LD_PRELOAD."""
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("LEAKPROBE_") or k == "LD_PRELOAD":
            del e[k]
    if tmp:
        e["LP_TRUTH"] = os.path.join(tmp, "truth.json")
    if shim:
        e["LD_PRELOAD"] = SHIM
        # One report per signal: the tests count them (coalescing has a
        # test of its own, which sets this).
        e["LEAKPROBE_SIGNAL_COALESCE_MS"] = "0"
        if json_reports:
            e["LEAKPROBE_FORMAT"] = "json"
            e["LEAKPROBE_OUTPUT"] = output or os.path.join(tmp, "r.%p.%n.json")
    if env:
        for k, v in env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
    return e


class Run:
    def __init__(self, rc, stdout, stderr, reports, truths, tmp, pid=None):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr
        self.reports, self.truths, self.tmp = reports, truths, tmp
        self.truth = truths.get(None)
        self.pid = pid

    def report(self, reason=None, pid=None):
        rs = [r for r in self.reports
              if (reason is None or r["reason"] == reason) and (pid is None or r["pid"] == pid)]
        check(rs, f"no {reason or ''} report written{f' by pid {pid}' if pid else ''}; "
                  f"reports: {[r['_file'] for r in self.reports]}; stderr:\n{self.stderr[-3000:]}")
        return rs[-1]

    def warnings(self):
        return warning_lines(self.stderr)


def run(argv, env=None, shim=True, json_reports=True, timeout=60, stdin=None,
        keep_tmp=False, output=None, input=None, cwd=None, tmp=None, preexec_fn=None):
    """Run argv (under the shim), collect JSON reports (r.*.json) and the
    truth files from tmp (a new directory unless given; kept if given)."""
    if tmp:
        keep_tmp = True
    else:
        tmp = tempfile.mkdtemp(prefix="lptest.")
    e = clean_env(env, shim, json_reports, output, tmp)
    try:
        p = subprocess.run(argv, env=e, capture_output=True, timeout=timeout, cwd=cwd,
                           input=input, preexec_fn=preexec_fn,
                           stdin=None if input is not None else
                           (stdin if stdin is not None else subprocess.DEVNULL))
    except subprocess.TimeoutExpired:
        if not keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        raise Failure(f"{argv} did not finish within {timeout} s")
    r = Run(p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"),
            load_reports(tmp), load_truths(tmp), tmp)
    if not keep_tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    return r


class Session:
    """A program run interactively: read its stdout line by line, write to
    its stdin, wait for report files.  Always use as a context manager (the
    process is killed if the test fails half way)."""

    def __init__(self, argv, env=None, shim=True, json_reports=True, output=None, umask=-1):
        self.tmp = tempfile.mkdtemp(prefix="lptest.")
        self.argv = argv
        self._stderr = open(os.path.join(self.tmp, "stderr"), "w+b")
        self.p = subprocess.Popen(argv, env=clean_env(env, shim, json_reports, output, self.tmp),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self._stderr, umask=umask)
        self.pid = self.p.pid
        self._buf = b""
        self.transcript = []  # every stdout line, in order

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=10)
        self._stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False

    def stderr(self):
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def _where(self):
        return (f"stdout so far {self.transcript}; stderr:\n{self.stderr()[-2000:]}")

    def read_line(self, timeout=10):
        deadline = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        name = os.path.basename(self.argv[0])
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"{name}: no output line within {timeout} s; {self._where()}")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    try:
                        rc = self.p.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        rc = "none yet"
                    raise Failure(f"{name} closed stdout (exit code {rc}); {self._where()}")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        line = line.decode(errors="replace")
        self.transcript.append(line)
        return line

    def expect(self, prefix, timeout=10):
        line = self.read_line(timeout)
        if not line.startswith(prefix):
            raise Failure(f"expected a line starting {prefix!r} from the program, seen {line!r}; "
                          f"{self._where()}")
        return line

    def skip_to(self, prefix, timeout=10):
        """Read lines until one starts with prefix; return it."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.read_line(max(deadline - time.monotonic(), 0.001))
            if line.startswith(prefix):
                return line

    def wait_blocked_in_read(self, timeout=10):
        """Poll (bounded) until the main thread sleeps in read(2) (x86-64
        syscall 0), so a signal sent now interrupts that read.  Without
        /proc/PID/syscall, sleeping is all that can be checked."""
        task = f"/proc/{self.pid}/task/{self.pid}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(f"{task}/stat") as fh:
                    state = fh.read().rsplit(")", 1)[1].split()[0]
            except OSError as ex:
                raise Failure(f"cannot read {task}/stat: {ex}; {self._where()}")
            try:
                with open(f"{task}/syscall") as fh:
                    fields = fh.read().split()
            except OSError:
                fields = ["0"]
            if fields and fields[0] == "0" and state == "S":
                return
            if time.monotonic() > deadline:
                raise Failure(f"the program did not block in read() within {timeout} s "
                              f"(syscall {fields[:1]}, state {state}); {self._where()}")
            time.sleep(0.005)

    def send(self, text):
        """Write to the program's stdin (ignored if it has exited: finish()
        then shows its exit code)."""
        try:
            self.p.stdin.write(text.encode())
            self.p.stdin.flush()
        except BrokenPipeError:
            pass

    def report_path(self, seq, pid=None):
        return os.path.join(self.tmp, f"r.{pid or self.pid}.{seq}.json")

    def wait_report(self, seq, pid=None, timeout=10):
        """Poll (bounded) for the report file with this seq; parse it."""
        path = self.report_path(seq, pid)
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if time.monotonic() > deadline:
                raise Failure(f"report {os.path.basename(path)} did not appear within {timeout} s; "
                              f"files: {sorted(os.listdir(self.tmp))}; {self._where()}")
            if self.p.poll() is not None and not os.path.exists(path):
                raise Failure(f"the program exited (code {self.p.returncode}) before report "
                              f"{os.path.basename(path)}; {self._where()}")
            time.sleep(0.01)
        with open(path) as fh:
            try:
                return json.load(fh)
            except json.JSONDecodeError as ex:
                raise Failure(f"report {path} is not valid JSON: {ex}")

    def finish(self, timeout=30):
        """Close stdin, let the program end; the run's results."""
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        deadline = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        rest = b""
        while True:  # read to EOF, bounded
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"{self.argv} did not exit within {timeout} s of its last input")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                rest += chunk
        try:
            self.p.wait(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            raise Failure(f"{self.argv} closed stdout but did not exit within {timeout} s")
        data = self._buf + rest
        self._buf = b""
        for line in data.decode(errors="replace").splitlines():
            self.transcript.append(line)
        return Run(self.p.returncode, "\n".join(self.transcript) + ("\n" if self.transcript else ""),
                   self.stderr(), load_reports(self.tmp), load_truths(self.tmp), self.tmp,
                   pid=self.pid)


# --- reading reports ------------------------------------------------------

def sites_by_function(report, function):
    """Sites whose stack contains `function`: (blocks, bytes) summed."""
    blocks = nbytes = 0
    for s in report.get("sites", []):
        if any(f.get("function") == function for f in s.get("stack", [])):
            blocks += s["blocks"]
            nbytes += s["bytes"]
    return blocks, nbytes


def sites_with(report, function):
    return [s for s in report.get("sites", [])
            if any(f.get("function") == function for f in s.get("stack", []))]


def describe_sites(report, limit=12):
    out = []
    for s in report.get("sites", [])[:limit]:
        names = [f.get("function") or "?" for f in s["stack"][:6]]
        out.append(f"  {s['blocks']} blocks / {s['bytes']} bytes: {' < '.join(names)}")
    return "\n".join(out)


def check_leaks(report, leaks, what="report"):
    """Every stated leak appears exactly, by function (and line if stated)."""
    for leak in leaks:
        got = sites_by_function(report, leak["function"])
        want = (leak["blocks"], leak["bytes"])
        check(got == want, f"{what}: {leak['function']}: report has (blocks, bytes) = {got}, "
                           f"the program leaked {want}; sites:\n{describe_sites(report)}")
        if leak.get("line"):
            for s in sites_with(report, leak["function"]):
                fr = next(f for f in s["stack"] if f.get("function") == leak["function"])
                check(fr.get("line") == leak["line"],
                      f"{what}: {leak['function']}: frame line expected {leak['line']}, "
                      f"seen {fr.get('line')} ({fr})")


def check_truth(report, truth):
    """Every leak the program states must appear exactly, by function."""
    check(truth is not None, "the test program wrote no ground truth")
    check_leaks(report, truth["leaks"])


def check_consistent(report):
    """Internal arithmetic of a report: sites add up to the heap totals."""
    h = report["heap"]
    check(sum(s["blocks"] for s in report["sites"]) == h["live_blocks"],
          f"sites add up to {sum(s['blocks'] for s in report['sites'])} blocks, "
          f"heap.live_blocks {h['live_blocks']}")
    check(sum(s["bytes"] for s in report["sites"]) == h["live_bytes"],
          f"sites add up to {sum(s['bytes'] for s in report['sites'])} bytes, "
          f"heap.live_bytes {h['live_bytes']}")
    # Format checks of what the report says it cost: every phase present
    # and >= 0; the Python detector's phase and the detector's own clock,
    # two fields of one report, agree.  (An outside clock bounds the
    # total: test_text_format, test_signal_snapshot.)
    cost = report.get("cost_ms")
    check(isinstance(cost, dict) and set(cost) == COST_PHASES and
          all(isinstance(v, (int, float)) and v >= 0 for v in cost.values()),
          f"cost_ms {cost!r}: want the phases {sorted(COST_PHASES)}, each >= 0")
    det = report.get("detector") or {}
    if det.get("source") == "interpreter" and "seconds" in det:
        check(abs(cost["python_detector"] / 1e3 - det["seconds"]) < 0.005,
              f"cost_ms.python_detector {cost['python_detector']} ms, detector.seconds "
              f"{det['seconds']}")


COST_PHASES = {"heap", "python_enumerate", "python_detector", "python_owners", "objects",
               "symbolize"}


def main(test):
    """Run test(); print the verdict; exit with the right code."""
    name = os.path.basename(sys.argv[0])
    try:
        test()
    except Failure as ex:
        print(f"FAIL {name}: {ex}")
        sys.exit(1)
    print(f"ok {name}")
    sys.exit(0)


class Soft:
    """Collect several independent failures, then fail once with all of
    them:  soft = Soft(); soft(check_eq, a, b, "what"); soft.done()."""

    def __init__(self):
        self.errors = []

    def __call__(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Failure as ex:
            self.errors.append(str(ex))
            return None

    def done(self):
        if len(self.errors) == 1:
            raise Failure(self.errors[0])
        if self.errors:
            raise Failure(f"{len(self.errors)} failures:\n  - " + "\n  - ".join(self.errors))


def valgrind_in_use(argv, timeout=120):
    """valgrind's count of (bytes, blocks) in use at exit, the independent
    oracle; None when valgrind is not installed.  libc's freeres is off so
    both tools see the same stdio buffers still allocated."""
    if not shutil.which("valgrind"):
        return None
    env = clean_env(shim=False)
    env["LP_TRUTH"] = "/dev/null"
    try:
        v = subprocess.run(["valgrind", "--run-libc-freeres=no", "--leak-check=full",
                            "--show-leak-kinds=all"] + list(argv),
                           env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f"valgrind {argv} did not finish within {timeout} s")
    out = v.stderr.decode(errors="replace")
    m = re.search(r"in use at exit: ([\d,]+) bytes in ([\d,]+) blocks", out)
    check(m, f"no valgrind summary:\n{out[-2000:]}")
    return tuple(int(x.replace(",", "")) for x in m.groups())
