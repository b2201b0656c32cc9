"""Run by test_python_devmode.py under -X dev, PYTHONDEVMODE=1 or a debug
allocator, with and without the shim.  It makes CYCLES unreachable
Request/Session cycles with the collector off (the truth the report must
show), forks a child that exits through a normal interpreter shutdown
(test_os ForkTests.test_fork's shape), and prints what it did."""
import gc
import json
import os
import sys

CYCLES = 7


class Request:
    pass


class Session:
    pass


def make_cycles(n):
    for _ in range(n):
        r, s = Request(), Session()
        r.session, s.request = s, r


gc.disable()
make_cycles(CYCLES)
print("dev_mode", sys.flags.dev_mode, flush=True)
if os.environ.get("LP_DEVMODE_FORK") == "0":
    pid = None
else:
    pid = os.fork()
if pid == 0:
    print("child", flush=True)
    sys.exit(0)  # the child's own finalization, with its own exit report
if os.environ.get("LP_TRUTH"):
    with open(os.environ["LP_TRUTH"], "w") as fh:
        json.dump({"parent": os.getpid(), "child": pid, "cycles": CYCLES}, fh)
if pid:
    _, status = os.waitpid(pid, 0)
    print("child status", status, flush=True)
print("cycles", CYCLES, flush=True)
