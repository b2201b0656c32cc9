"""leakprobe from Python: reports as dicts, with or without the shim loaded.

    import leakprobe
    if leakprobe.active():
        rep = leakprobe.report("after warm-up")   # also written where the options say
        print(rep["heap"]["live_bytes"], len(rep["unreachable"]))

`leakprobe run` puts this package on PYTHONPATH; `leakprobe python-path`
prints its directory for other setups.  Pure Python, no dependency: the
shim's API is called through ctypes.PyDLL, which keeps the GIL (a call
through ctypes.CDLL releases it, and the live interpreter cannot be read
without it: the report would have no Python part).
"""
import ctypes
import json
import os
import tempfile

__all__ = ["active", "report", "schema_of"]

_api = None


def _lib():
    """The shim's API in this process (it is preloaded), or None."""
    global _api
    if _api is None:
        try:
            lib = ctypes.PyDLL(None)
            report_json, is_active = lib.leakprobe_report_json, lib.leakprobe_active
        except (OSError, AttributeError):
            _api = False
            return None
        report_json.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
        report_json.restype = ctypes.c_int
        is_active.argtypes = []
        is_active.restype = ctypes.c_int
        _api = (report_json, is_active)
    return _api or None


def active():
    """True when libleakprobe.so is loaded into this process and tracks it
    (under the launcher only the program it started does)."""
    api = _lib()
    return bool(api and api[1]())


# leakprobe.h's LEAKPROBE_REPORT_* flags.
_CLASSIFY, _UNNAMED, _JSON_ONLY, _LEAKS_ONLY = 1, 2, 4, 8


def report(label=None, classify=False, named=True, write=True, leaks_only=False):
    """Write a report now (reason "api"), where the options say, and return
    it as a dict (the JSON schema of docs/report-format.md); None when the
    shim is not loaded or not tracking this process.

    classify: a leak verdict for this report whatever LEAKPROBE_CLASSIFY
    says.  named=False: no frame is sent to the symbolizer (names known
    from earlier reports are kept, the rest are module+offset): cheap, for
    reports compared with each other.  write=False: only the dict, nothing written
    where the options say.  leaks_only=True: with a verdict, the dict's
    "sites" holds the lost sites alone ("sites_listed": "lost"), what a
    comparison of reports needs: small and quick to read."""
    if not active():
        return None
    fn = _lib()[0]
    fd, path = tempfile.mkstemp(prefix="leakprobe.", suffix=".json")
    os.close(fd)
    os.unlink(path)  # the shim creates it (0600, never through a symlink)
    try:
        flags = (_CLASSIFY if classify else 0) | (0 if named else _UNNAMED) | \
            (0 if write else _JSON_ONLY) | (_LEAKS_ONLY if leaks_only else 0)
        rc = fn(None if label is None else str(label).encode(), path.encode(), flags)
        if rc < 0:
            return None
        if rc != 0 or not os.path.exists(path):
            raise RuntimeError("leakprobe: the report's JSON copy could not be written "
                               f"to {path} (see the warning on stderr)")
        with open(path) as fh:
            return json.load(fh)
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def schema_of(rep):
    """The report's schema name and version: ("leakprobe-report", 1)."""
    name, _, version = rep.get("schema", "").partition("/")
    return name, int(version or 0)
