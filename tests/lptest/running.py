"""running - a program under test, with or without the shim, always
bounded in time:

  run(argv, ...)        start, wait, collect what it wrote (reports, truth);
  start() / finish()    the same in two steps, for a test that acts meanwhile;
  Session(argv, ...)    start and talk to it line by line (handshakes for
                        signals, planted files...), then .finish().

Each gives a Run: exit status, stdout, stderr, the JSON reports it wrote to
files and to stderr, the truth files (LP_TRUTH, and LP_TRUTH.<pid> of
forked children)."""
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time

from lptest.checks import Failure, check
from lptest.env import clean_env
from lptest.reports import json_reports_in_text, load_reports, load_truths, warning_lines


class Run:
    """What a finished run left.  on_lost: called when an expected exit
    report is missing (the stress suite counts them)."""
    on_lost = None

    def __init__(self, argv, rc, stdout, stderr, tmp, pid=None, elapsed=None):
        self.argv, self.rc, self.stdout, self.stderr = argv, rc, stdout, stderr
        self.tmp, self.pid, self.elapsed = tmp, pid, elapsed
        self.files = sorted(os.listdir(tmp)) if tmp and os.path.isdir(tmp) else []
        self.reports = load_reports(tmp) if self.files else []  # files, (pid, seq) order
        self.truths = load_truths(tmp) if self.files else {}
        self.truth = self.truths.get(None)
        self.child_truths = {int(k): v for k, v in self.truths.items() if k and k.isdigit()}
        self._stderr_reports = None

    @property
    def stderr_reports(self):
        """JSON reports the program wrote to stderr, among other lines."""
        if self._stderr_reports is None:
            self._stderr_reports = json_reports_in_text(self.stderr)
        return self._stderr_reports

    @property
    def all_reports(self):
        return self.reports + self.stderr_reports

    def by_pid(self, pid=None):
        pid = self.pid if pid is None else pid
        return [r for r in self.all_reports if r["pid"] == pid]

    def report(self, reason=None, pid=None):
        """The last report of this reason (and pid), from files."""
        rs = [r for r in self.reports
              if (reason is None or r["reason"] == reason) and (pid is None or r["pid"] == pid)]
        check(rs, f"no {reason or ''} report written{f' by pid {pid}' if pid else ''}; "
                  f"reports: {[r['_file'] for r in self.reports]}; stderr:\n{self.stderr[-3000:]}")
        return rs[-1]

    def exit_report(self, pid=None):
        """The one exit report of pid (default: the program), from files or
        stderr."""
        rs = [r for r in self.by_pid(pid) if r["reason"] == "exit"]
        if not rs and Run.on_lost:
            Run.on_lost()
        check(len(rs) == 1, f"{self.name()}: expected one exit report for pid "
                            f"{pid or self.pid}, found {len(rs)}; stderr:\n{self.stderr[-2000:]}")
        return rs[0]

    def name(self):
        return " ".join(os.path.basename(a) if i == 0 else a
                        for i, a in enumerate(self.argv))[:120]

    def warnings(self):
        return warning_lines(self.stderr)


def _kill(p, group):
    try:
        if group:
            os.killpg(p.pid, signal.SIGKILL)
        elif p.poll() is None:
            p.kill()
    except ProcessLookupError:
        pass


def start(argv, env=None, shim=True, json_reports=True, output=None, cwd=None, stdin=None,
          stdout=subprocess.PIPE, preexec_fn=None, tmp=None, own_group=False, input=None,
          stderr_file=False):
    """Popen; returns the process with what finish() needs.  own_group: in
    a process group of its own, which finish() kills (children a program
    forked must not outlive it).  stderr_file: the program's stderr is a
    regular file (as a daemon's log), else a pipe."""
    keep = tmp is not None
    tmp = tmp or tempfile.mkdtemp(prefix="lptest.")
    errf = open(os.path.join(tmp, "stderr.txt"), "w+b") if stderr_file else None
    if input is not None:
        stdin = subprocess.PIPE
    p = subprocess.Popen(argv, env=clean_env(env, shim, json_reports, output, tmp), cwd=cwd,
                         stdin=subprocess.DEVNULL if stdin is None else stdin, stdout=stdout,
                         stderr=errf or subprocess.PIPE, start_new_session=own_group,
                         preexec_fn=preexec_fn)
    p._lp = dict(argv=argv, tmp=tmp, errf=errf, t0=time.monotonic(), group=own_group,
                 keep=keep, input=input)
    return p


def finish(p, timeout=60, keep_tmp=False):
    """Wait (bounded), collect output, reports and truth."""
    s = p._lp

    def stderr_text(piped):
        if s["errf"] is None:
            return (piped or b"").decode(errors="replace")
        s["errf"].seek(0)
        text = s["errf"].read().decode(errors="replace")
        s["errf"].close()
        os.unlink(os.path.join(s["tmp"], "stderr.txt"))
        return text

    try:
        out, err = p.communicate(input=s["input"], timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(p, s["group"])
        _, err = p.communicate()
        err = stderr_text(err)
        if not (keep_tmp or s["keep"]):
            shutil.rmtree(s["tmp"], ignore_errors=True)
        raise Failure(f"deadlock suspected: {' '.join(map(str, s['argv']))[:200]} did not "
                      f"finish in {timeout} s (killed); stderr tail:\n{err[-1500:]}")
    if s["group"]:
        _kill(p, True)
    elapsed = time.monotonic() - s["t0"]
    err = stderr_text(err)
    r = Run(s["argv"], p.returncode, (out or b"").decode(errors="replace"), err, s["tmp"],
            pid=p.pid, elapsed=elapsed)
    if not (keep_tmp or s["keep"]):
        shutil.rmtree(s["tmp"], ignore_errors=True)
    return r


def run(argv, timeout=60, keep_tmp=False, **kw):
    """Run argv (under the shim unless shim=False), bounded; a Run.
    tmp: the directory the reports and truth files go to (kept if given)."""
    return finish(start(argv, **kw), timeout=timeout, keep_tmp=keep_tmp)


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
        return Run(self.argv, self.p.returncode,
                   "\n".join(self.transcript) + ("\n" if self.transcript else ""),
                   self.stderr(), self.tmp, pid=self.pid)


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
