"""The pytest plugin (leakprobe.pytest_plugin) on its own small suite
(plugin_suite/test_suite.py), run the way a CI job runs it:

    leakprobe run -- python3 -m pytest -p leakprobe.pytest_plugin --leakprobe

Truth is the suite's construction: every test named *_fails must fail and
every *_passes pass; the cycle tests leave CYCLES groups of {Handler,
Request} (2 * CYCLES objects), the native one BLOCKS blocks of SIZE bytes
that a C extension (leaky_ext.c) mallocs and drops, named in the message
with its function.  Of those, the message must count at least one and at
most all: in a Python process a dropped block is sometimes still pointed
at by a stale word in a live object (a list's spare slot, a returned
frame's slot, that held the address of what that memory was before glibc
reused it), which a conservative scan cannot tell from a live one
(test_freed_objects.py tests the case it can: freed pymalloc blocks).  Without --leakprobe every leak test passes; --leakprobe
without the shim is a usage error.  Debian's python3 only (the one with
pytest).

    test_pytest_plugin.py"""
import os
import re
import subprocess
import tempfile

from lptest import python as pylib  # noqa: E402
from lptest import SHIM, SRC, Soft, check, check_eq, main, skip  # noqa: E402

LAUNCHER = os.path.join(SRC, "tools", "leakprobe")
SUITE = os.path.join(pylib.HERE, "plugin_suite")
CYCLES, BLOCKS, SIZE = 7, 50, 4000


def pytest_run(args, ext, shim=True):
    env = pylib.clean_child_env()
    env.update({"LEAKPROBE_LIB": SHIM, "LP_LEAKY_EXT": ext, "LP_CYCLES": str(CYCLES),
                "LP_LOST_BLOCKS": str(BLOCKS), "LP_LOST_SIZE": str(SIZE), "LEAKPROBE_CLASSIFY": "never"})
    cmd = [pylib.SYSTEM_PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-rA",
           "-p", "leakprobe.pytest_plugin"] + args
    if shim:
        cmd = [LAUNCHER, "run", "--"] + cmd
    else:
        pp = subprocess.run([LAUNCHER, "python-path"], capture_output=True, text=True)
        env["PYTHONPATH"] = pp.stdout.strip()
    return subprocess.run(cmd, env=env, cwd=SUITE, capture_output=True, text=True, timeout=300)


def outcomes(out):
    """{test name: "PASSED" | "FAILED"} from pytest's -rA summary."""
    return {m.group(2): m.group(1)
            for m in re.finditer(r"^(PASSED|FAILED) test_suite\.py::(\w+)", out, re.M)}


def section(out, name):
    """The failure text pytest prints under a test's heading."""
    m = re.search(r"^_+ %s _+$(.*?)(?=^_{3,} |^=+ )" % name, out, re.M | re.S)
    return m.group(1) if m else ""


def test():
    if subprocess.run([pylib.SYSTEM_PYTHON, "-c", "import pytest"],
                      capture_output=True).returncode:
        skip("Debian's python3 has no pytest (package python3-pytest)")
    soft = Soft()
    d = tempfile.mkdtemp(prefix="lpplugin.")
    ext = os.path.join(d, "leaky_ext.so")
    subprocess.run(["gcc", "-O0", "-g", "-shared", "-fPIC", "-o", ext,
                    os.path.join(pylib.HERE, "leaky_ext.c")], check=True, timeout=120)

    p = pytest_run(["--leakprobe"], ext)
    got = outcomes(p.stdout)
    names = re.findall(r"^def (test_\w+)", open(os.path.join(SUITE, "test_suite.py")).read(), re.M)
    want = {n: "FAILED" if n.endswith("_fails") else "PASSED" for n in names}
    soft(check_eq, got, want, f"--leakprobe: each test's outcome\n{p.stdout[-3000:]}\n{p.stderr[-1500:]}")

    msg = section(p.stdout, "test_cycles_fails")
    soft(check, f"left {CYCLES} new unreachable group(s) of {2 * CYCLES} object(s)" in msg
         and f"{CYCLES} x {{Handler, Request}}" in msg,
         f"the cycles' message names their number and types: {msg!r}")
    msg = section(p.stdout, "test_old_objects_dropped_fails")
    soft(check, f"left {CYCLES} new unreachable group(s)" in msg,
         f"garbage of objects older than the test (promoted before it): {msg!r}")
    msg = section(p.stdout, "test_cycles_over_limit_fails")
    soft(check, f"(allowed: {CYCLES - 1})" in msg, f"the marker's limit in the message: {msg!r}")
    msg = section(p.stdout, "test_native_leak_fails")
    m = re.search(r"left (\d+) byte\(s\) definitely lost in (\d+) native block\(s\)", msg)
    n = int(m.group(2)) if m else 0
    soft(check, m and 1 <= n <= BLOCKS and int(m.group(1)) == n * SIZE and
         re.search(r"#0 leak_bytes \S*leaky_ext\.c:\d+", msg),
         f"the native leak's message: its bytes, blocks (1 to {BLOCKS} of {SIZE} bytes) "
         f"and site: {msg!r}")
    msg = section(p.stdout, "test_own_failure_kept_fails")
    soft(check, "the test's own failure" in msg and "leakprobe:" not in msg,
         f"a test that fails on its own keeps its failure: {msg!r}")

    # Without --leakprobe the plugin is inert: only the test's own failure.
    q = pytest_run([], ext)
    soft(check_eq, {n for n, o in outcomes(q.stdout).items() if o == "FAILED"},
         {"test_own_failure_kept_fails"}, f"without --leakprobe\n{q.stdout[-2000:]}")

    # --leakprobe without the shim: a usage error, said in one line.
    u = pytest_run(["--leakprobe"], ext, shim=False)
    soft(check, u.returncode == 4 and "leakprobe run --" in u.stderr,
         f"--leakprobe without the shim: status {u.returncode}, stderr {u.stderr[-800:]!r}")
    soft.done()


main(test)
