"""Run a Python script under LeakSanitizer and time LSan's leak check of
the heap as the script's atexit callbacks see it: the point where
leakprobe's exit report of a Python process classifies the heap (LSan's
own check at exit runs after the interpreter's finalization, on a heap
mostly freed).  usage: lsan_at_exit.py SCRIPT ARGS...; prints
"lsan-check-seconds S" on stderr."""
import atexit
import ctypes
import runpy
import sys
import time

check = ctypes.PyDLL(None).__lsan_do_recoverable_leak_check


def timed_check():
    t0 = time.perf_counter()
    check()
    sys.stderr.write(f"lsan-check-seconds {time.perf_counter() - t0:.6f}\n")


atexit.register(timed_check)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
