"""tests/python/test_freed_objects.py's program: blocks a C extension
drops whose addresses stay only in freed pymalloc blocks.  Freed memory
is not the program's: each block is definitely lost (valgrind agrees with
PYTHONMALLOC=malloc, as CPython advises running under it; with pymalloc
it reads freed blocks too).  Prints the verdict of the extension's site
in an API report and whether the freed blocks still held the addresses."""
import ctypes
import json
import os

ROUNDS, SIZE, CARRIER = 20, 777, 480
api = ctypes.pythonapi
api.PyObject_Malloc.argtypes, api.PyObject_Malloc.restype = [ctypes.c_size_t], ctypes.c_void_p
api.PyObject_Free.argtypes, api.PyObject_Free.restype = [ctypes.c_void_p], None
ext = ctypes.CDLL(os.environ["LP_LEAKY_EXT"])
ext.leak_into.argtypes, ext.leak_into.restype = [ctypes.c_void_p, ctypes.c_size_t], None

# The report is asked for straight from the shim, ready beforehand: the
# Python code of leakprobe.report() would make objects of the carriers'
# size class in the carriers' memory before the scan.
report_json = ctypes.PyDLL(None).leakprobe_report_json
report_json.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "lpfreed.%d.json" % os.getpid())
args = (b"freed carriers", path.encode(), 1 | 4 | 8)  # CLASSIFY | JSON_ONLY | LEAKS_ONLY
carriers = [api.PyObject_Malloc(CARRIER) for _ in range(ROUNDS)]
for c in carriers:
    ext.leak_into(c, SIZE)
for c in carriers:
    api.PyObject_Free(c)
report_json(*args)
with open(path) as fh:
    rep = json.load(fh)
os.unlink(path)
kinds = {}
for s in rep["sites"]:
    if any(f.get("function") == "leak_into" for f in s["stack"]):
        k = kinds.setdefault(s["kind"], [0, 0])
        k[0] += s["blocks"]
        k[1] += s["bytes"]
# The carriers still hold the addresses (so a scan of freed memory would
# find them): word 40 of each, read after the report.
held = sum(1 for c in carriers if ctypes.c_void_p.from_address(c + 40 * 8).value)
print(json.dumps({"warnings": rep["warnings"], "rounds": ROUNDS, "size": SIZE, "kinds": kinds, "held": held}))
