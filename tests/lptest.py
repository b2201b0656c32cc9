"""lptest - helpers for leakprobe's real-process tests (stdlib only).

Each test is a script run by meson with:
  LP_SHIM   absolute path of libleakprobe.so
  LP_BUILD  the build directory (test programs live in LP_BUILD/tests/)
  LP_SRC    the source tree
A test exits 0 on success, 77 to skip (with a message), anything else on
failure; failures say what was expected and what was seen.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

SHIM = os.environ.get("LP_SHIM", "")
BUILD = os.environ.get("LP_BUILD", "")
SRC = os.environ.get("LP_SRC", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP = 77


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def skip(msg):
    print(f"SKIP: {msg}")
    sys.exit(SKIP)


def prog(name):
    """Path of a test program built by tests/meson.build."""
    p = os.path.join(BUILD, "tests", name)
    check(os.path.exists(p), f"test program {p} was not built")
    return p


class Run:
    def __init__(self, rc, stdout, stderr, reports, truth, tmp):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr
        self.reports, self.truth, self.tmp = reports, truth, tmp

    def report(self, reason=None):
        rs = [r for r in self.reports if reason is None or r["reason"] == reason]
        check(rs, f"no {reason or ''} report written; stderr:\n{self.stderr[-3000:]}")
        return rs[-1]


def run(argv, env=None, shim=True, json_reports=True, timeout=120, stdin=None,
        keep_tmp=False, output=None):
    """Run argv (under the shim), collect JSON reports and the truth file."""
    tmp = tempfile.mkdtemp(prefix="lptest.")
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("LEAKPROBE_") or k == "LD_PRELOAD":
            del e[k]
    e["LP_TRUTH"] = os.path.join(tmp, "truth.json")
    if shim:
        e["LD_PRELOAD"] = SHIM
        if json_reports:
            e["LEAKPROBE_FORMAT"] = "json"
            e["LEAKPROBE_OUTPUT"] = output or os.path.join(tmp, "r.%p.%n.json")
    if env:
        e.update(env)
    p = subprocess.run(argv, env=e, capture_output=True, timeout=timeout,
                       stdin=stdin if stdin is not None else subprocess.DEVNULL)
    reports = []
    for f in sorted(glob.glob(os.path.join(tmp, "r.*.json")),
                    key=lambda f: [int(x) if x.isdigit() else x for x in os.path.basename(f).split(".")]):
        with open(f) as fh:
            try:
                reports.append(json.load(fh))
            except json.JSONDecodeError as ex:
                raise Failure(f"report {f} is not valid JSON: {ex}")
    truth = None
    tf = os.path.join(tmp, "truth.json")
    if os.path.exists(tf):
        with open(tf) as fh:
            truth = json.load(fh)
    r = Run(p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"),
            reports, truth, tmp)
    if not keep_tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    return r


def sites_by_function(report, function):
    """Sites whose stack contains `function`: (blocks, bytes) summed."""
    blocks = nbytes = 0
    for s in report.get("sites", []):
        if any(f.get("function") == function for f in s.get("stack", [])):
            blocks += s["blocks"]
            nbytes += s["bytes"]
    return blocks, nbytes


def check_truth(report, truth):
    """Every leak the program states must appear exactly, by function."""
    check(truth is not None, "the test program wrote no ground truth")
    for leak in truth["leaks"]:
        got = sites_by_function(report, leak["function"])
        want = (leak["blocks"], leak["bytes"])
        check(got == want, f"{leak['function']}: report has (blocks, bytes) = {got}, "
                           f"the program leaked {want}")


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
