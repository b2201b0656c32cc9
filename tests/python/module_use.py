"""tests/python/test_module.py's program: the leakprobe package as a user
imports it.  Prints one JSON line of what it saw; the driver compares it
with CPython's own collector."""
import ctypes
import gc
import json
import sys

import os

import leakprobe

CYCLES = int(sys.argv[1]) if len(sys.argv) > 1 else 0


class Handler:
    pass


class Request:
    pass


gc.disable()
leakprobe.report("warm-up")  # what its first call imports leaves no garbage behind
gc.collect()
for _ in range(CYCLES):
    h, q = Handler(), Request()
    h.request, q.handler = q, h
    del h, q
out = {"active": leakprobe.active()}
rep = leakprobe.report("probe")
out["report"] = None if rep is None else {
    "reason": rep["reason"], "label": rep["label"], "schema": list(leakprobe.schema_of(rep)),
    "groups": [sorted(o["type"] for o in g["objects"]) for g in rep.get("unreachable", [])],
    "classified": rep["classify"] is not None,
    "warnings": rep["warnings"], "live_blocks": rep["heap"]["live_blocks"],
}
# A quiet report with a verdict: nothing written where the options say.
quiet = leakprobe.report("quiet", classify=True, named=False, write=False)
out["quiet"] = None if quiet is None else {
    "label": quiet["label"], "classified": quiet["classify"] is not None,
    "groups": len(quiet.get("unreachable", []))}
# CPython's verdict on the same heap, after the reports (which freed nothing).
out["collected"] = gc.collect()
if out["active"]:
    # The pitfall the package avoids: through CDLL the GIL is released.
    ctypes.CDLL(None).leakprobe_report(b"through-cdll")
if os.environ.get("LP_LEAKY_EXT"):
    # A C extension that mallocs and drops the pointer: definitely lost at exit.
    ext = ctypes.CDLL(os.environ["LP_LEAKY_EXT"])
    ext.leak_bytes.argtypes = [ctypes.c_size_t]
    ext.leak_bytes.restype = None
    ext.leak_bytes(12345)
print(json.dumps(out))
