"""The leakprobe Python package (tools/python/leakprobe): importable with
no setup under `leakprobe run`, report() returns the report as a dict
with its Python part (the unreachable groups equal what CPython's own
gc.collect() frees right after), active() is False and report() None
without the shim; a report asked for through ctypes.CDLL (which releases
the GIL) says why it has no Python part; a C extension's malloc()ed
block whose pointer it drops is definitely lost at exit, with its native
stack; `leakprobe python-path` names the package's directory.

    test_module.py KEY      KEY: system | 3.8 ... 3.13"""
import json
import os
import subprocess
import sys
import tempfile

from lptest import python as pylib  # noqa: E402
from lptest import SHIM, SRC, Soft, check, check_eq, json_reports_in_text, main  # noqa: E402

SCRIPT = os.path.join(pylib.HERE, "module_use.py")
LAUNCHER = os.path.join(SRC, "tools", "leakprobe")
CYCLES = 25


def launch(argv, shim=True, ext=None, extra=None):
    env = pylib.clean_child_env()
    env.pop("PYTHONPATH", None)
    env.update(extra or {})
    if ext:
        env["LP_LEAKY_EXT"] = ext
    env["LEAKPROBE_LIB"] = SHIM
    env["LEAKPROBE_FORMAT"] = "json"
    if shim:
        cmd = [LAUNCHER, "run", "--"] + argv
    else:
        pp = subprocess.run([LAUNCHER, "python-path"], env=env, capture_output=True, text=True)
        env["PYTHONPATH"] = pp.stdout.strip()
        cmd = argv
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def one(py, label, soft, ext):
    p = launch([py, "-S", SCRIPT, str(CYCLES)], ext=ext)
    soft(check_eq, p.returncode, 0, f"{label}: exit status; stderr:\n{p.stderr[-1500:]}")
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    soft(check, lines, f"{label}: no result line; stdout {p.stdout[-500:]!r}")
    if not lines:
        return
    out = json.loads(lines[-1])
    rep = out["report"]
    soft(check, out["active"] and rep, f"{label}: active() and report() under the launcher")
    if rep:
        soft(check_eq, (rep["reason"], rep["label"], rep["schema"]),
             ("api", "probe", ["leakprobe-report", 1]), f"{label}: the report returned")
        objects = sum(len(g) for g in rep["groups"])
        soft(check_eq, objects, out["collected"],
             f"{label}: unreachable objects in the report against gc.collect() right after")
        pairs = sum(1 for g in rep["groups"] if g.count("Handler") == 1 and g.count("Request") == 1)
        soft(check_eq, pairs, CYCLES, f"{label}: groups holding one Handler and one Request")
        q = out["quiet"]
        soft(check, q and q["label"] == "quiet" and q["classified"]
             and q["groups"] == len(rep["groups"]),
             f"{label}: report(classify=True, named=False, write=False): {q}")
    reports = json_reports_in_text(p.stderr)
    labels = [r.get("label") for r in reports]
    soft(check_eq, labels, ["warm-up", "probe", "through-cdll", None],
         f"{label}: the reports written where the options say (stderr)")
    exits = [r for r in reports if r.get("reason") == "exit"]
    lost = [s for r in exits for s in r["sites"] if s["kind"] == "definitely_lost"
            and any(f.get("function") == "leak_bytes" for f in s["stack"])]
    soft(check, [(s["blocks"], s["bytes"]) for s in lost] == [(1, 12345)],
         f"{label}: the C extension's dropped block, definitely lost at exit with its "
         f"stack: {[(s['blocks'], s['bytes']) for s in lost]}")
    cdll = [r for r in reports if r.get("label") == "through-cdll"]
    if cdll:
        soft(check, any("without the GIL" in w for w in cdll[0]["warnings"]) and
             "python" not in cdll[0],
             f"{label}: the CDLL report says why it has no Python part: {cdll[0]['warnings']}")
    # LEAKPROBE_CLASSIFY: an API report has a verdict with "all" only.
    soft(check, rep and not rep["classified"], f"{label}: the API report has no verdict by default")
    a = launch([py, "-S", SCRIPT], extra={"LEAKPROBE_CLASSIFY": "all"})
    lines = [l for l in a.stdout.splitlines() if l.startswith("{")]
    soft(check, lines and json.loads(lines[-1])["report"]["classified"],
         f"{label}: LEAKPROBE_CLASSIFY=all: the API report has a verdict ({a.stderr[-300:]})")
    q = launch([py, "-S", SCRIPT], shim=False)
    soft(check_eq, q.returncode, 0, f"{label}: without the shim: exit status {q.stderr[-500:]}")
    lines = [l for l in q.stdout.splitlines() if l.startswith("{")]
    if lines:
        out = json.loads(lines[-1])
        soft(check_eq, (out["active"], out["report"]), (False, None),
             f"{label}: without the shim, active() and report()")


def test():
    check(len(sys.argv) == 2, f"usage: {sys.argv[0]} KEY ({'|'.join(pylib.KEYS)})")
    soft = Soft()
    pp = subprocess.run([LAUNCHER, "python-path"], capture_output=True, text=True)
    soft(check, pp.returncode == 0 and
         os.path.exists(os.path.join(pp.stdout.strip(), "leakprobe", "__init__.py")),
         f"leakprobe python-path: {pp.stdout!r} {pp.stderr!r}")
    d = tempfile.mkdtemp(prefix="lpmodule.")
    ext = os.path.join(d, "leaky_ext.so")
    subprocess.run(["gcc", "-O0", "-g", "-shared", "-fPIC", "-o", ext,
                    os.path.join(pylib.HERE, "leaky_ext.c")], check=True, timeout=120)
    for label, py in pylib.interpreters(sys.argv[1]):
        one(py, label, soft, ext)
    soft.done()


main(test)
