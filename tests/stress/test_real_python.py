"""CPython's own test modules under the shim, with Debian's /usr/bin/python3
(non-PIE, threads, fork, subprocesses, signals): test_gc, test_json,
test_threading, test_subprocess.  Each module runs without and with the
shim (at the same time, on the machine's two cores); the verdict of each
must be the same, every process under the shim must write a valid report,
and the shim must not write on the program's stderr (tests assert on it).

Needs the Debian package libpython3.11-testsuite (skip otherwise)."""
import glob
import json
import os
import re
import tempfile

from stresslib import (Failure, Soft, check, check_consistent, count, finish, main, skip,
                       start)

PYTHON = "/usr/bin/python3"
MODULES = ["test_gc", "test_json", "test_threading", "test_subprocess"]
PER_MODULE = 100  # regrtest --timeout: a hung module is cut, not the suite


def verdict(out):
    """'ok', 'failed' or 'timeout' from regrtest's summary, with details."""
    if re.search(r"^Tests result: SUCCESS", out, re.M) or "All 1 test OK" in out \
            or re.search(r"^1 test OK\.", out, re.M):
        return "ok"
    if re.search(r"^Timeout \(\d+:\d\d:\d\d\)!", out, re.M):
        return "timeout (regrtest cut it: hung?)"
    return "failed"


def test():
    if not os.path.exists(PYTHON):
        skip(f"{PYTHON} not installed")
    import subprocess
    stdlib = subprocess.run([PYTHON, "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"],
                            capture_output=True, text=True, timeout=30).stdout.strip()
    if not all(os.path.exists(os.path.join(stdlib, "test", m + ".py")) or
               os.path.isdir(os.path.join(stdlib, "test", m)) for m in MODULES):
        skip("CPython's test package is missing (Debian: libpython3.11-testsuite)")
    soft = Soft()
    total_reports = 0
    for mod in MODULES:
        argv = [PYTHON, "-m", "test", f"--timeout={PER_MODULE}", mod]
        rdir = tempfile.mkdtemp(prefix=f"lppy.{mod}.")
        os.chmod(rdir, 0o1777)  # some tests run children as nobody
        env = {"LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": None}
        for attempt in (1, 2):
            pa, ta, ea = start(argv, shim=False, env=env)
            pb, tb, eb = start(argv, env=env, output=os.path.join(rdir, "r.%p.%n.json"))
            a = finish(pa, ta, ea, argv, timeout=PER_MODULE + 60)
            try:
                b = finish(pb, tb, eb, argv, timeout=PER_MODULE + 60)
            except Failure as ex:  # regrtest's own timeout did not cut it
                b = None
                with soft(f"{mod}: ends"):
                    raise ex
                break
            out_a, out_b = a.stdout + a.stderr, b.stdout + b.stderr
            va, vb = verdict(out_a), verdict(out_b)
            if va == "ok" or attempt == 2:
                break
            # Without the shim it failed: a loaded machine, not the shim.
            print(f"{mod}: failed without the shim too, once more")
            for f in glob.glob(os.path.join(rdir, "*")):
                os.unlink(f)
        if b is None:
            continue
        files = sorted(glob.glob(os.path.join(rdir, "*")))
        total_reports += len(files)
        count(reports=len(files))
        print(f"{mod}: without the shim {va} ({a.elapsed:.0f} s), with it {vb} "
              f"({b.elapsed:.0f} s), {len(files)} processes reported")
        with soft(f"{mod}: same verdict"):
            check(va == "ok", f"fails without the shim too:\n{out_a[-1500:]}")
            tail = "\n".join(ln for ln in out_b.splitlines()
                             if re.match(r"(FAIL|ERROR|Timeout|test_|AssertionError|    )", ln))
            check(vb == va, f"{vb} under the shim (rc {b.rc}), {va} without; failures:\n"
                            f"{tail[-2500:]}")
        with soft(f"{mod}: the shim says nothing on stderr"):
            ours = sorted(set(ln for ln in out_b.splitlines() if "leakprobe: " in ln))
            check(not ours, f"{len(ours)} distinct shim lines, e.g. {ours[:2]}")
        with soft(f"{mod}: every report valid and consistent"):
            check(files, "no report written")
            left = [f for f in files if ".tmp." in f]
            check(not left, f"temporary report files left: {left[:5]}")
            for f in files:
                with open(f) as fh:
                    try:
                        rep = json.load(fh)
                    except json.JSONDecodeError as ex:
                        check(False, f"{os.path.basename(f)}: not JSON ({ex})")
                check_consistent(rep, f"{os.path.basename(f)} ({rep['command'][:60]})")
    print(f"{total_reports} reports from processes under the shim")
    soft.raise_if_any()


main(test)
