"""Freed pymalloc blocks are no roots: a C extension's blocks whose
addresses stay only in pymalloc blocks the program has freed
(freed_objects.py) are lost, as valgrind says with PYTHONMALLOC=malloc
(under pymalloc it reads freed memory as the program's).  The truth is
the program's construction: ROUNDS blocks dropped, none reachable.  One
may read as possibly lost (an interior pointer elsewhere: 3.11.7 shows
one), none as reachable.  Fails with the pools read whole (every block
then reachable).

    test_freed_objects.py KEY      KEY: system | 3.8 ... 3.13"""
import json
import os
import subprocess
import sys
import tempfile

from lptest import python as pylib  # noqa: E402
from lptest import SHIM, SRC, Soft, check, check_eq, main  # noqa: E402

SCRIPT = os.path.join(pylib.HERE, "freed_objects.py")
LAUNCHER = os.path.join(SRC, "tools", "leakprobe")


def one(py, label, soft, ext):
    env = pylib.clean_child_env()
    env.pop("PYTHONPATH", None)
    env.update({"LP_LEAKY_EXT": ext, "LEAKPROBE_LIB": SHIM, "LEAKPROBE_CLASSIFY": "never"})
    p = subprocess.run([LAUNCHER, "run", "--", py, "-S", SCRIPT], env=env,
                       capture_output=True, text=True, timeout=120)
    soft(check_eq, p.returncode, 0, f"{label}: exit status; stderr:\n{p.stderr[-1500:]}")
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    soft(check, lines, f"{label}: no result line; stdout {p.stdout[-500:]!r}")
    if not lines:
        return
    out = json.loads(lines[-1])
    rounds, size, kinds = out["rounds"], out["size"], out["kinds"]
    definite = kinds.get("definitely_lost", [0, 0])
    possible = kinds.get("possibly_lost", [0, 0])
    print(f"{label}: {kinds}, carriers still holding the address after the report: {out['held']}")
    soft(check, not out["warnings"], f"{label}: report warnings {out['warnings']}")
    soft(check_eq, (definite[0] + possible[0], definite[1] + possible[1]),
         (rounds, rounds * size), f"{label}: blocks and bytes lost (none reachable): {kinds}")
    soft(check, definite[0] >= rounds - 1, f"{label}: definitely lost: {kinds}")


def test():
    check(len(sys.argv) == 2, f"usage: {sys.argv[0]} KEY ({'|'.join(pylib.KEYS)})")
    soft = Soft()
    d = tempfile.mkdtemp(prefix="lpfreed.")
    ext = os.path.join(d, "leaky_ext.so")
    subprocess.run(["gcc", "-O0", "-g", "-shared", "-fPIC", "-o", ext,
                    os.path.join(pylib.HERE, "leaky_ext.c")], check=True, timeout=120)
    for label, py in pylib.interpreters(sys.argv[1]):
        one(py, label, soft, ext)
    soft.done()


main(test)
