# SPDX-License-Identifier: MIT
"""What was measured: the machine, the shim's build, the tools' versions.
This is the header of the document, and the "meta" of the saved results."""

import datetime
import hashlib
import os
import platform
import subprocess
from pathlib import Path

from .config import ROOT
from .harness import base_env, log


def sh(cmd, **kw):
    """A command's output, or why it could not run: provenance never stops
    the benchmark."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                           **kw)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"({e})"


def loadavg():
    try:
        return [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        return None


def lib_id(path):
    """A short content hash: tells two builds of the shim apart, also when
    one is rebuilt during the run."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return None


def unwind_option(h):
    """The LEAKPROBE_UNWIND line of LEAKPROBE_HELP=1, which tells which
    unwinder the build has."""
    help_text = sh(["true"], env=base_env(h.lp_env({"LEAKPROBE_HELP": "1"})))
    for line in help_text.splitlines():
        if "UNWIND" in line:
            cells = [c.strip().strip("`") for c in line.strip().strip("|")
                     .split("|")]
            if len(cells) >= 4:
                return f"{cells[0]} (default {cells[1]}): {cells[-1]}"
            return line.strip()
    return "no LEAKPROBE_UNWIND option in LEAKPROBE_HELP=1 output"


def describe(h, params, quick):
    """What was measured: machine, shim build, tool versions."""
    lib = h.lib
    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(
            timespec="seconds"),
        "host": platform.node(),
        "kernel": platform.release(),
        "cpu": next((l.split(":", 1)[1].strip() for l in
                     open("/proc/cpuinfo") if l.startswith("model name")),
                    "?"),
        "ncpu": os.cpu_count(),
        "loadavg_start": loadavg(),
        "python": sh([h.python, "--version"]),
        "python_path": h.python,
        "params": params,
        "quick": quick,
    }
    st = lib.stat()
    meta["lib"] = {
        "path": str(lib),
        "mtime": datetime.datetime.fromtimestamp(st.st_mtime).isoformat(
            timespec="seconds"),
        "sha256": lib_id(lib),
        "fast_unwind_c": (ROOT / "src/unwind/fast_unwind.c").exists(),
        "unwind_option": unwind_option(h),
        # Read-only git queries (no index refresh).
        "git_head": sh(["git", "-C", str(ROOT), "--no-optional-locks",
                        "rev-parse", "--short", "HEAD"]),
        "git_dirty_src": sh(["git", "-C", str(ROOT), "--no-optional-locks",
                             "status", "--porcelain", "--", "src",
                             "meson.build"]).splitlines(),
    }
    newer = [str(p.relative_to(ROOT)) for p in
             list((ROOT / "src").glob("**/*.[ch]")) + [ROOT / "meson.build"]
             if p.exists() and p.stat().st_mtime > st.st_mtime]
    meta["lib"]["sources_newer_than_lib"] = newer
    if newer:
        log(f"WARNING: {lib.name} is older than {', '.join(newer[:5])}"
            f"{' ...' if len(newer) > 5 else ''}: run `ninja -C build` first?")
    tools = {}
    if h.heaptrack:
        tools["heaptrack"] = sh([h.heaptrack, "--version"])
    if h.valgrind:
        tools["valgrind"] = sh([h.valgrind, "--version"])
    if h.lsan:
        tools["lsan"] = os.path.realpath(h.lsan)
    meta["tools"] = tools
    meta["skipped"] = h.skipped
    return meta
