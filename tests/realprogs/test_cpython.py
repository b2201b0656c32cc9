"""CPython's own regression tests, unchanged under the shim (suite
'realprogs').

usage: test_cpython.py KEY [--modules M,M] [--pairs plain,dev] [--keep DIR]
                          [--shim 'SHIM [MORE.so]'] [--reports-on-stderr]
KEY: 'system' (Debian's /usr/bin/python3, always run) or '3.12', '3.13'
(the newest pyenv 3.N.x under $LP_PYENV_ROOT or /root/.pyenv; skipped with
a message when absent or built without its test package).

Each chosen module runs through regrtest (`-m test -j1 -v --timeout=T
--junit-xml=F MODULE`: one supervised worker, so a crash or a hang is a
verdict, not a lost run) twice at the same time, without and with
LD_PRELOAD=libleakprobe.so, both on the same loaded machine; a pair 'dev'
does the same with `-X dev`.  Reports go to files (LEAKPROBE_OUTPUT,
LEAKPROBE_FORMAT=json), so the tests' own checks of stderr see nothing
of ours.  What must hold, per module and pair:

  * every test case has the same outcome (passed, failed, error, skipped,
    expected failure, unexpected success) with and without the shim, and
    the module the same regrtest verdict; a case that fails plainly too is
    the environment, not a deviation;
  * cases (or a module verdict) that differ are run once more, in both
    modes (`--matchfile`): those that agree then are flaky (listed, not a
    failure); those that still differ fail the test unless DEVIATIONS
    lists them, and a listed deviation that is no longer seen fails too;
  * every process under the shim wrote a valid, consistent JSON report,
    none left as a temporary file, and the shim wrote nothing on the
    program's stdout or stderr.

A summary table (module x mode: cases, passed, failed, skipped, wall and
CPU seconds, reports) ends the log; the figures also go to
LP_BUILD/tests/realprogs/cpython-<KEY>.json.
docs/testing.md carries them and mirrors DEVIATIONS (checked here)."""
import argparse
import collections
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
import xml.etree.ElementTree as ET

from lptest.stress import (BUILD, SHIM, Failure, check, check_consistent, count,  # noqa: E402
                           main, skip)
import lptest  # noqa: E402

# Every module of the suite, in the order they run: test_signal last, as
# the one that hangs when the shim loses a handler, so that a spent budget
# cuts as little else as possible.
MODULES = ["test_subprocess", "test_threading", "test_os", "test_capi", "test_ctypes",
           "test_sqlite3", "test_faulthandler", "test_sys", "test_gc", "test_weakref",
           "test_tracemalloc", "test_json", "test_mmap", "test_signal"]

# What runs where (docs/testing.md, "realprogs", has the time figures this
# choice comes from): everything on Debian's 3.11, plainly and with -X dev;
# on pyenv's 3.12 and 3.13, whose every process costs ~2 s more under the
# shim today (symbolizing libpython's debug info at exit), the modules that
# meet the parts of the shim that change across versions: threads and fork
# at start-up, signals and safe points, the gc and the C API; 3.13 also
# test_subprocess (vfork/posix_spawn paths, fd juggling).
PLANS = {
    "system": {"modules": MODULES, "pairs": ("plain", "dev")},
    "3.12": {"modules": ["test_threading", "test_faulthandler", "test_capi", "test_gc",
                         "test_tracemalloc", "test_signal"], "pairs": ("plain",)},
    "3.13": {"modules": ["test_subprocess", "test_threading", "test_capi", "test_gc"],
             "pairs": ("plain",)},
}

# regrtest --timeout per module (seconds; in its worker, for the whole
# module): about 3x its time under the shim on Debian's 3.11 here, at least
# 120, times SLOWER for pyenv's interpreters (~2 s more per process).
# regrtest kills a worker at 1.5x; the driver kills a run 60 s after that.
TIMEOUTS = {"test_subprocess": 240, "test_capi": 180}
DEFAULT_TIMEOUT = 120
SLOWER = {"system": 1, "3.12": 2.5, "3.13": 2.5}

# Seconds a KEY may take (LP_REALPROGS_BUDGET overrides): past it, the
# modules not started yet are not run and nothing is run a second time,
# which fails the test.  The module running then may still overrun it by
# its timeout; meson's timeout for the test (tests/realprogs/meson.build)
# is above both.
BUDGETS = {"system": 1200, "3.12": 450, "3.13": 450}

# The one place a deviation is allowed, with its reason; docs/testing.md
# ("Deviations") has the same rows (checked).  case: the id regrtest's
# --junit-xml gives it; keys: interpreter keys or "*"; pairs: "plain",
# "dev"; shim: the case's outcome under the shim.  A listed deviation that
# is not seen fails the test, as an unlisted one does.
Deviation = collections.namedtuple("Deviation", "module case keys pairs shim reason")
DEVIATIONS = [
    # The only candidate so far, for the shim's lead to decide (not listed:
    # the suite fails on it until then):
    # Deviation("test_faulthandler", "test.test_faulthandler.FaultHandlerTests.test_unregister",
    #           "*", ("plain", "dev"), "failed",
    #           "after faulthandler.unregister(SIGUSR1) the test expects SIGUSR1 to kill the "
    #           "process; SIGUSR1 is the shim's report signal: it writes a report instead"),
]


# --- interpreters ------------------------------------------------------------

def interpreter(key):
    """(path, label) of the interpreter for KEY, or skip()."""
    if key == "system":
        py = "/usr/bin/python3"
        if not os.path.exists(py):
            skip(f"{py} not installed")
        return py, "system"
    root = os.environ.get("LP_PYENV_ROOT", os.environ.get("PYENV_ROOT", "/root/.pyenv"))
    found = []
    for d in glob.glob(os.path.join(root, "versions", key + ".*")):
        m = re.fullmatch(re.escape(key) + r"\.(\d+)", os.path.basename(d))
        if m and os.access(os.path.join(d, "bin", "python" + key), os.X_OK):
            found.append((int(m.group(1)), d))
    if not found:
        skip(f"no pyenv {key}.x under {root}/versions (this machine has no such interpreter)")
    d = max(found)[1]
    return os.path.join(d, "bin", "python" + key), os.path.basename(d)


def test_dir(py):
    out = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"],
                         capture_output=True, text=True, timeout=60).stdout.strip()
    return os.path.join(out, "test")


def installed(tdir, mod):
    return os.path.exists(os.path.join(tdir, mod + ".py")) or \
        os.path.exists(os.path.join(tdir, mod, "__init__.py"))


# --- one regrtest run --------------------------------------------------------

class Run:
    """One regrtest process (and its workers) in one mode."""

    def __init__(self, py, mod, mode, dev, timeout, match=None):
        self.mod, self.mode, self.dev, self.match = mod, mode, dev, match
        self.shim = mode == "shim"
        self.tmp = tempfile.mkdtemp(prefix=f"lprp.{mod}.{mode}.")
        os.chmod(self.tmp, 0o1777)  # some tests run children as nobody
        self.xml = os.path.join(self.tmp, "junit.xml")
        self.log = os.path.join(self.tmp, "out.txt")
        self.argv = [py] + (["-X", "dev"] if dev else []) + [
            "-m", "test", "-j1", "-v", f"--timeout={timeout}", f"--junit-xml={self.xml}"]
        if match:
            mf = os.path.join(self.tmp, "match.txt")
            with open(mf, "w") as f:
                f.write("\n".join(match) + "\n")
            self.argv += ["--matchfile", mf]
        self.argv.append(mod)
        # regrtest gives the worker 1.5x the timeout; then we cut.
        self.deadline = timeout * 1.5 + 60
        self.env = lptest.clean_env(shim=False)
        for k in list(self.env):
            if k.startswith("PYTHON"):
                del self.env[k]
        self.env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8", PYTHONDONTWRITEBYTECODE="1")
        if self.shim:
            self.env["LD_PRELOAD"] = SHIM_PATH
            if not REPORTS_ON_STDERR:
                self.env.update(LEAKPROBE_FORMAT="json",
                                LEAKPROBE_OUTPUT=os.path.join(self.tmp, "r.%p.%n.json"))

    def start(self):
        self.out = open(self.log, "w+b")
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(self.argv, env=self.env, cwd=self.tmp, stdin=subprocess.DEVNULL,
                                  stdout=self.out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        count(runs=1, shim_runs=int(self.shim))
        return self

    def wait(self):
        """Bounded; wall and CPU seconds (the CPU of regrtest and of every
        process it waited for: its worker, the tests' children)."""
        self.hung = False
        while True:
            pid, status, ru = os.wait4(self.p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - self.t0 > self.deadline:
                self.hung = True
                count(hangs=1)
                os.killpg(self.p.pid, signal.SIGKILL)
                pid, status, ru = os.wait4(self.p.pid, 0)
                break
            time.sleep(0.05)
        self.p.returncode = self.rc = os.waitstatus_to_exitcode(status)
        self.cpu = ru.ru_utime + ru.ru_stime
        try:  # anything left in regrtest's group
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.seconds = time.monotonic() - self.t0
        self.out.seek(0)
        self.text = self.out.read().decode(errors="replace")
        self.out.close()
        self.cases = cases_of(self.text, self.xml)
        self.verdict = verdict_of(self.text, self.mod, self.rc, self.hung)
        self.reports = glob.glob(os.path.join(self.tmp, "r.*"))
        return self

    def tail(self, n=1500):
        return self.text[-n:]

    def cleanup(self, keep=None):
        if keep:
            dst = os.path.join(keep, os.path.basename(self.tmp))
            shutil.copytree(self.tmp, dst, dirs_exist_ok=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def run_pair(py, mod, dev, timeout, match=None):
    """The module without and with the shim, at the same time."""
    a = Run(py, mod, "plain", dev, timeout, match).start()
    b = Run(py, mod, "shim", dev, timeout, match).start()
    a.wait(), b.wait()
    a.orphans = b.orphans = kill_orphans()
    return a, b


def become_subreaper():
    """Processes a test leaves behind (regrtest's worker runs in a session
    of its own, and a test's child can outlive a killed worker) are
    re-parented to us, so kill_orphans() finds them."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def kill_orphans():
    """Kill and reap every child of ours still there (no run is live):
    their command lines, for the log."""
    seen = []
    for _ in range(20):
        kids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                if ppid == os.getpid():
                    with open(f"/proc/{d}/cmdline", "rb") as f:
                        kids.append((int(d), f.read().replace(b"\0", b" ").decode()[:120]))
            except (OSError, ValueError, IndexError):
                pass
        if not kids:
            break
        for pid, cmd in kids:
            if cmd:
                seen.append(cmd)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
    return seen


# --- reading regrtest's results ---------------------------------------------

_RESULT = {"ok": "passed", "FAIL": "failed", "ERROR": "error",
           "expected failure": "xfail", "unexpected success": "xpass"}


def case_id(name, paren):
    """unittest's 'name (id)' (3.11+), 'name (module.Class)' (older) or a
    doctest's 'name (module)'."""
    if not paren:
        return name
    return paren if paren.endswith("." + name) else f"{paren}.{name}"


def xml_of(text, xml_path):
    """The XML of --junit-xml; where regrtest wrote none (its worker exited
    non-zero after printing its result: 3.11 prints it on stdout), the
    worker's own XML."""
    try:
        return [ET.parse(xml_path).getroot()]
    except (OSError, ET.ParseError):
        pass
    roots = []
    for ln in text.splitlines():
        if ln.startswith("{") and '"xml_data"' in ln:
            try:
                roots += [ET.fromstring(x) for x in json.loads(ln).get("xml_data") or []]
            except (ValueError, ET.ParseError, AttributeError):
                pass
    return roots


def cases_of(text, xml_path):
    """Each test case's outcome: from --junit-xml (or the worker's XML),
    then the FAIL/ERROR headers of -v (a subtest failure, a setUpClass
    error), and, where there is no XML (the worker crashed or hung before
    its result), the -v result lines."""
    cases = {}
    have_xml = False
    for root in xml_of(text, xml_path):
        for tc in root.iter("testcase"):
            name = tc.get("name")
            if not name:  # a case whose subtests failed: see the headers
                continue
            have_xml = True
            if tc.find("error") is not None:
                cases[name] = "error"
            elif tc.find("failure") is not None:
                cases[name] = "failed"
            elif tc.find("skipped") is not None:
                cases[name] = "skipped"
            elif tc.find("output") is not None:
                cases[name] = "xfail"
            elif tc.get("outcome") == "UNEXPECTED_SUCCESS":
                cases[name] = "xpass"
            else:
                cases[name] = "passed"
    lines = text.splitlines()
    if not have_xml:
        cur = None
        for ln in lines:
            m = re.match(r"(\w+) \(([\w.]*)\)", ln)
            if m:
                cur = case_id(m.group(1), m.group(2))
            r = re.search(r" \.\.\. (ok|FAIL|ERROR|skipped\b.*|expected failure|"
                          r"unexpected success)\s*$", ln)
            if r and cur:
                word = r.group(1)
                cases[cur] = "skipped" if word.startswith("skipped") else _RESULT[word]
                cur = None
    for ln in lines:
        m = re.match(r"(FAIL|ERROR): (\w+) \(([\w.]*)\)", ln)
        if m:
            cid = case_id(m.group(2), m.group(3))
            if cases.get(cid) != "error":
                cases[cid] = "error" if m.group(1) == "ERROR" else "failed"
    return cases


def verdict_of(text, mod, rc, hung):
    """regrtest's word for the module: 'passed', 'failed (2 failures)',
    'crashed (Exit code -6)', 'timed out', ... (durations dropped)."""
    if hung:
        return "hung (killed by the driver)"
    word = None
    for ln in text.splitlines():
        m = re.search(r"\[\s*\d+/\d+(?:/\d+)?\] " + re.escape(mod) + r" (.+)$", ln)
        if m:
            word = m.group(1)
    if word is None:
        m = re.search(r"^(?:== )?Tests result: (.+?)(?: ==)?$", text, re.M)
        word = f"no verdict line (rc {rc}; {m.group(1) if m else 'no result'})"
    word = re.sub(r"\s*\((?:\d+ (?:hour|min)\s*)*(?:[\d.]+ (?:sec|ms))?\)\s*$", "", word)
    word = re.sub(r"\s+\(\d+ min\)$", "", word).strip()
    return word


def abnormal(verdict):
    """A run that did not end by itself with its results: crashed, timed
    out, killed, a worker's non-zero exit."""
    return not re.match(r"(passed|failed|skipped|env changed|resource denied|"
                        r"run no tests|no tests ran)\b", verdict) or "Exit code" in verdict


def summary(r):
    c = list(r.cases.values())
    return {"cases": len(c), "passed": sum(o in ("passed", "xfail") for o in c),
            "failed": sum(o in ("failed", "error", "xpass") for o in c),
            "skipped": c.count("skipped"), "seconds": round(r.seconds, 1),
            "cpu": round(r.cpu, 1),
            "verdict": r.verdict, "reports": len(r.reports) if r.shim else None}


# --- comparing ---------------------------------------------------------------

def outcome(r, cid):
    """cid's outcome in run r; a case skipped as part of its class is in
    -v's lines but not in the XML: 'skipped' and 'not run' are one."""
    o = r.cases.get(cid, "not run")
    return "not run" if o == "skipped" else o


def differing(a, b):
    ids = sorted(set(a.cases) | set(b.cases))
    return [i for i in ids if outcome(a, i) != outcome(b, i)]


def first_error(r, cid):
    """The first lines of the failure of case cid in r's output."""
    name = cid.rsplit(".", 1)[-1]
    pat = re.compile(r"^(?:FAIL|ERROR): " + re.escape(name) + r" \(")
    lines = r.text.splitlines()
    for i, ln in enumerate(lines):
        if pat.match(ln) and cid.rsplit(".", 1)[0] in ln:
            block = []
            for x in lines[i + 2:i + 400]:
                if x.startswith("=====") or x.startswith("-----"):
                    break
                block.append(x)
            block = [x for x in block if x.strip()]
            if len(block) > 12:  # the traceback's start and its last lines
                block = block[:6] + ["..."] + block[-5:]
            return "\n      ".join(block)
    return ""


def listed(key, mod, cid, pair):
    for d in DEVIATIONS:
        if d.module == mod and d.case == cid and (d.keys == "*" or key in d.keys) \
                and pair in d.pairs:
            return d
    return None


def check_shim_run(b, problems):
    """Reports valid, consistent, all final; the shim silent on the output."""
    ours = sorted(set(ln for ln in b.text.splitlines() if "leakprobe: " in ln))
    if ours:
        problems.append(f"the shim wrote {len(ours)} distinct lines into the output, "
                        f"e.g. {ours[:3]}")
    if not b.reports:
        problems.append("no report written")
    bad = []
    reasons = {}
    for f in b.reports:
        base = os.path.basename(f)
        if ".tmp." in base:
            bad.append(f"{base}: temporary file left")
            continue
        try:
            with open(f) as fh:
                rep = json.load(fh)
            check_consistent(rep, f"{base} ({rep.get('command', '?')[:60]})")
            reasons[rep["reason"]] = reasons.get(rep["reason"], 0) + 1
        except (json.JSONDecodeError, UnicodeDecodeError) as ex:
            bad.append(f"{base}: not valid JSON ({ex})")
        except (Failure, KeyError) as ex:
            bad.append(f"{base}: {ex}")
    if bad:
        problems.append(f"{len(bad)} of {len(b.reports)} reports bad: {bad[:3]}")
    b.report_reasons = reasons
    count(reports=len(b.reports))


# --- docs mirror -------------------------------------------------------------

def docs_deviations():
    """(module, case) rows of docs/testing.md's deviation table."""
    path = os.path.join(lptest.SRC, "docs", "testing.md")
    with open(path) as f:
        text = f.read()
    m = re.search(r"^#+ Deviations.*?\n(.*?)(?:\n#|\Z)", text, re.M | re.S)
    check(m, f"{path}: no 'Deviations' section (it mirrors DEVIATIONS in this driver)")
    rows = set()
    for ln in m.group(1).splitlines():
        cells = [c.strip().strip("`") for c in ln.strip().strip("|").split("|")]
        if ln.startswith("|") and len(cells) >= 2 and cells[0] not in ("module", "") \
                and not set(cells[0]) <= set("-: ") and cells[0] != "none":
            rows.add((cells[0], cells[1]))
    return rows


# --- the test ----------------------------------------------------------------

SHIM_PATH = SHIM
REPORTS_ON_STDERR = False  # --reports-on-stderr: a trial by hand, not the suite


def test():
    global SHIM_PATH, REPORTS_ON_STDERR
    ap = argparse.ArgumentParser()
    ap.add_argument("key", choices=sorted(PLANS))
    ap.add_argument("--modules", help="comma-separated, instead of the plan's")
    ap.add_argument("--pairs", help="plain,dev (instead of the plan's)")
    ap.add_argument("--keep", help="copy every run's directory (output, XML, reports) here")
    ap.add_argument("--shim", help="another shim (a deliberately broken copy, to see this fail)")
    ap.add_argument("--reports-on-stderr", action="store_true",
                    help="text reports on the programs' stderr (the default output), to see "
                         "what that does to the tests; the shim's own checks then fail")
    ns = ap.parse_args()
    REPORTS_ON_STDERR = ns.reports_on_stderr
    SHIM_PATH = ns.shim or SHIM
    check(SHIM_PATH and all(os.path.exists(x) for x in SHIM_PATH.split()),
          f"no shim at {SHIM_PATH!r} (LP_SHIM)")
    plan = PLANS[ns.key]
    modules = ns.modules.split(",") if ns.modules else plan["modules"]
    pairs = tuple(ns.pairs.split(",")) if ns.pairs else plan["pairs"]
    py, label = interpreter(ns.key)
    become_subreaper()
    tdir = test_dir(py)
    if not os.path.isdir(os.path.join(tdir, "libregrtest")):
        skip(f"{py} has no test package ({tdir}; Debian: libpython3.11-testsuite, "
             f"pyenv: a build that kept Lib/test)")
    check(docs_deviations() == {(d.module, d.case) for d in DEVIATIONS},
          f"docs/testing.md's deviation table {sorted(docs_deviations())} is not the driver's "
          f"{sorted((d.module, d.case) for d in DEVIATIONS)}")
    if ns.keep:
        os.makedirs(ns.keep, exist_ok=True)
    absent = [m for m in modules if not installed(tdir, m)]
    modules = [m for m in modules if m not in absent]
    print(f"{label} ({py}): {len(modules)} modules x pairs {', '.join(pairs)}"
          + (f"; not installed here: {', '.join(absent)}" if absent else ""), flush=True)

    rows = []          # (module, mode, summary)
    failures = []      # what fails the test
    flaky = []         # differed once, agreed on the rerun
    env_failed = []    # failed in both modes alike
    seen_listed = set()
    budget = float(os.environ.get("LP_REALPROGS_BUDGET") or BUDGETS[ns.key])
    t_start = time.monotonic()
    not_run = []
    for pair in pairs:
        dev = pair == "dev"
        for mod in modules:
            if time.monotonic() - t_start > budget:
                not_run.append(f"{mod} [{pair}]")
                continue
            tmo = int(TIMEOUTS.get(mod, DEFAULT_TIMEOUT) * SLOWER[ns.key])
            a, b = run_pair(py, mod, dev, tmo)
            mode_a, mode_b = ("plain", "shim") if not dev else ("dev plain", "dev shim")
            rows.append((mod, mode_a, summary(a)))
            rows.append((mod, mode_b, summary(b)))
            sa, sb = rows[-2][2], rows[-1][2]
            print(f"{mod} [{pair}]: plain {sa['verdict']} {sa['cases']} cases "
                  f"({sa['seconds']} s); shim {sb['verdict']} {sb['cases']} cases "
                  f"({sb['seconds']} s), {len(b.reports)} processes reported", flush=True)
            what = f"{mod} [{label}, {pair}]"
            problems = []
            if a.orphans:
                print(f"{what}: killed {len(a.orphans)} processes left behind: {a.orphans[:3]}")
            check_shim_run(b, problems)
            rows[-1][2]["report_reasons"] = b.report_reasons
            if not a.cases:
                problems.append(f"no test case result without the shim (verdict "
                                f"{a.verdict}); output:\n{a.tail()}")
            both_bad = [i for i in a.cases if a.cases[i] in ("failed", "error")
                        and b.cases.get(i) == a.cases[i]]
            env_failed += [f"{what}: {i} ({a.cases[i]} in both)" for i in both_bad]
            diff = differing(a, b)
            verdict_differs = a.verdict != b.verdict
            if (diff or verdict_differs) and time.monotonic() - t_start > budget:
                problems.append(f"{len(diff)} cases differ (verdict plain {a.verdict!r}, shim "
                                f"{b.verdict!r}); not run again: the time budget is spent"
                                + "".join(f"\n    {i}: plain {a.cases.get(i, 'not run')}, shim "
                                          f"{b.cases.get(i, 'not run')}" for i in diff[:25]))
            elif diff or verdict_differs:
                # Once more, both modes: only the cases that differed, or
                # the whole module when a run ended abnormally (a crash or
                # a timeout is the module's, not its unrun cases').
                whole = verdict_differs and (abnormal(a.verdict) or abnormal(b.verdict)
                                             or not diff)
                match = None if whole else sorted(
                    {i if not i.endswith(("setUpClass", "tearDownClass"))
                     else i.rsplit(".", 1)[0] + ".*" for i in diff})
                print(f"{what}: {len(diff)} cases differ"
                      + (f", verdict {a.verdict!r} plainly, {b.verdict!r} under the shim"
                         if verdict_differs else "")
                      + f"; once more, both modes ({'the module' if whole else 'those cases'})",
                      flush=True)
                a2, b2 = run_pair(py, mod, dev, tmo, match)
                check_shim_run(b2, problems)
                still = []
                for i in diff:
                    o = (a.cases.get(i, "not run"), b.cases.get(i, "not run"))
                    o2 = (a2.cases.get(i, "not run"), b2.cases.get(i, "not run"))
                    same2 = outcome(a2, i) == outcome(b2, i)
                    if same2:
                        flaky.append(f"{what}: {i}: plain {o[0]}, shim {o[1]}; "
                                     f"rerun: {o2[0]} in both")
                        continue
                    d = listed(ns.key, mod, i, pair)
                    if d and o2[1] == d.shim:
                        seen_listed.add((d.module, d.case, pair))
                        print(f"{what}: {i}: listed deviation ({d.reason})")
                        continue
                    err = first_error(b2, i) or first_error(b, i)
                    still.append(f"{i}: plain {o[0]}, shim {o[1]}; rerun: plain {o2[0]}, "
                                 f"shim {o2[1]}" + (f"\n      {err}" if err else ""))
                if whole:  # cases that differ only in the rerun
                    for i in differing(a2, b2):
                        if i not in diff and not listed(ns.key, mod, i, pair):
                            still.append(f"{i}: plain {a.cases.get(i, 'not run')}, shim "
                                         f"{b.cases.get(i, 'not run')}; rerun: plain "
                                         f"{a2.cases.get(i, 'not run')}, shim "
                                         f"{b2.cases.get(i, 'not run')}")
                if still:
                    problems.append(f"{len(still)} cases differ:\n    " + "\n    ".join(still[:25])
                                    + (f"\n    ... and {len(still) - 25} more"
                                       if len(still) > 25 else ""))
                if verdict_differs:
                    if whole and a2.verdict == b2.verdict:
                        flaky.append(f"{what}: verdict plain {a.verdict!r}, shim {b.verdict!r}; "
                                     f"rerun: {a2.verdict!r} in both")
                    elif whole or still:
                        last = b2 if whole else b
                        problems.append(f"verdict {last.verdict!r} under the shim, "
                                        f"{(a2 if whole else a).verdict!r} without (twice); "
                                        f"shim output tail:\n{last.tail(2500)}")
                for r in (a2, b2):
                    r.cleanup(ns.keep)
            for d in DEVIATIONS:
                if listed(ns.key, mod, d.case, pair) and (d.module, d.case, pair) not in seen_listed:
                    problems.append(f"listed deviation {d.case} not seen (plain: "
                                    f"{a.cases.get(d.case, 'no such case')}, shim: "
                                    f"{b.cases.get(d.case, 'no such case')}): drop it from "
                                    f"DEVIATIONS and docs/testing.md")
            for r in (a, b):
                r.cleanup(ns.keep)
            if problems:
                failures.append(f"{what}:\n  " + "\n  ".join(problems))
                print(f"{what}: FAIL", flush=True)
            else:
                print(f"{what}: ok", flush=True)

    print_table(label, rows)
    save_figures(ns.key, label, rows)
    if env_failed:
        print(f"failed without the shim too (the environment, not compared): {len(env_failed)}")
        for x in env_failed:
            print(f"  {x}")
    if flaky:
        print(f"flaky (differed once, agreed when run again): {len(flaky)}")
        for x in flaky:
            print(f"  {x}")
    if not_run:
        failures.append(f"time budget ({budget:.0f} s) spent after "
                        f"{time.monotonic() - t_start:.0f} s; not run: {', '.join(not_run)}")
    if failures:
        raise Failure(f"{len(failures)} module runs differ under the shim:\n"
                      + "\n".join(failures))


def print_table(label, rows):
    print(f"\n{label}: module x mode")
    print(f"{'module':18} {'mode':10} {'cases':>6} {'passed':>7} {'failed':>7} {'skipped':>8} "
          f"{'seconds':>8} {'cpu s':>7} {'reports':>8}  verdict")
    for mod, mode, s in rows:
        rep = "" if s["reports"] is None else s["reports"]
        print(f"{mod:18} {mode:10} {s['cases']:>6} {s['passed']:>7} {s['failed']:>7} "
              f"{s['skipped']:>8} {s['seconds']:>8} {s['cpu']:>7} {rep:>8}  {s['verdict']}")
    by = {}
    for _, mode, s in rows:
        t = by.setdefault(mode, [0, 0.0, 0.0])
        t[0] += s["cases"]
        t[1] += s["seconds"]
        t[2] += s["cpu"]
    print("totals: " + "; ".join(f"{m} {c} cases {w:.0f} s ({cpu:.0f} s CPU)"
                                 for m, (c, w, cpu) in by.items()), flush=True)
    reasons = {}
    for _, _, s in rows:
        for k, v in s.get("report_reasons", {}).items():
            reasons[k] = reasons.get(k, 0) + v
    print(f"processes under the shim that reported: {sum(reasons.values())} ("
          + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
          + "; 'signal': a report signal the program sent itself or a child)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)", flush=True)


def save_figures(key, label, rows):
    if not BUILD:
        return
    d = os.path.join(BUILD, "tests", "realprogs")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"cpython-{key}.json"), "w") as f:
        json.dump({"interpreter": label, "rows": [{"module": m, "mode": mo, **s}
                                                  for m, mo, s in rows]}, f, indent=1)


main(test, name="realprogs_cpython_" + (sys.argv[1] if len(sys.argv) > 1 else ""))
