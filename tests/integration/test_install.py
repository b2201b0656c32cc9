"""The installed layout: `meson install --destdir` puts the launcher in
bindir, the shim in libdir and the symbolizer in libdir/leakprobe/.

The installed launcher, run from another directory with no checkout or
build directory in sight, runs the installed shim: `leakprobe run` on the
example (examples/leaky.c, which states its leaks: 3 blocks of 100 bytes
from make_records, a 2 MiB block kept from load_cache) reports exactly
those; `leakprobe lib` names the installed shim; `--version` is
meson.build's; the developer commands are refused.  The installed shim,
preloaded from there, finds its symbolizer (frames named with file:line,
no warning) and, with the symbolizer moved away, says so and names what
dladdr can."""
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile

from lptest import (BUILD, SRC, Soft, check, check_eq, check_leaks, main, prog, run,
                    sites_with, skip)

LEAKY = [{"function": "make_records", "blocks": 3, "bytes": 300},
         {"function": "load_cache", "blocks": 1, "bytes": 2 << 20}]


def installed_launcher(launcher, shim):
    """The installed launcher from a directory of its own, no checkout."""
    check(os.access(launcher, os.X_OK), f"{launcher} is not executable")
    work = tempfile.mkdtemp(prefix="lptest.installed.")
    try:
        exe = os.path.join(work, "leaky")
        subprocess.run(["gcc", "-O0", "-g", "-o", exe, os.path.join(SRC, "examples", "leaky.c")],
                       check=True, timeout=120)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("LEAKPROBE_", "LP_")) and k != "LD_PRELOAD"}
        env["PATH"] = os.path.dirname(launcher) + ":/usr/bin:/bin"
        p = subprocess.run(["leakprobe", "run", "--format", "json", "--output", "r.%p.json",
                            "--", "./leaky"], cwd=work, env=env, capture_output=True, text=True,
                           timeout=120)
        check_eq(p.returncode, 0, f"installed leakprobe run: exit status ({p.stderr[-500:]})")
        check_eq(p.stderr, "", "installed leakprobe run: the program's stderr")
        files = [f for f in os.listdir(work) if f.startswith("r.") and f.endswith(".json")]
        check_eq(len(files), 1, f"installed leakprobe run: reports in {os.listdir(work)}")
        with open(os.path.join(work, files[0])) as fh:
            rep = json.load(fh)
        check_leaks(rep, LEAKY, "installed leakprobe run")
        check_eq([b["size"] for b in rep["large"]], [2 << 20], "installed run: large blocks")
        p = subprocess.run(["leakprobe", "lib"], cwd=work, env=env, capture_output=True,
                           text=True, timeout=60)
        check_eq(p.stdout.strip(), os.path.realpath(shim), "installed leakprobe lib")
        with open(os.path.join(SRC, "meson.build")) as fh:
            version = re.search(r"version\s*:\s*'([^']+)'", fh.read()).group(1)
        p = subprocess.run(["leakprobe", "--version"], cwd=work, env=env, capture_output=True,
                           text=True, timeout=60)
        check_eq(p.stdout.strip(), f"leakprobe {version}", "installed leakprobe --version")
        # The Python package: installed, named by python-path, importable
        # with no setup in a Python that leakprobe run starts.
        p = subprocess.run(["leakprobe", "python-path"], cwd=work, env=env, capture_output=True,
                           text=True, timeout=60)
        pydir = p.stdout.strip()
        check(p.returncode == 0 and pydir.startswith(os.path.dirname(os.path.dirname(launcher)))
              and os.path.exists(os.path.join(pydir, "leakprobe", "__init__.py")),
              f"installed leakprobe python-path: {pydir!r} {p.stderr[-300:]}")
        p = subprocess.run(["leakprobe", "run", "--", "/usr/bin/python3", "-S", "-c",
                            "import leakprobe; print(leakprobe.__file__, leakprobe.active())"],
                           cwd=work, env=env, capture_output=True, text=True, timeout=120)
        check(p.returncode == 0 and p.stdout.startswith(pydir) and p.stdout.strip().endswith("True"),
              f"import leakprobe under the installed launcher: {p.stdout!r} {p.stderr[-300:]}")
        p = subprocess.run(["leakprobe", "test"], cwd=work, env=env, capture_output=True,
                           text=True, timeout=60)
        check(p.returncode == 2 and "developer command" in p.stderr,
              f"installed leakprobe test: not refused ({p.returncode}): {p.stderr[-300:]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test():
    meson = shutil.which("meson")
    if not meson:
        skip("meson is not installed")
    dest = tempfile.mkdtemp(prefix="lptest.install.")
    soft = Soft()
    try:
        p = subprocess.run([meson, "install", "-C", BUILD, "--no-rebuild", "--destdir", dest],
                           capture_output=True, timeout=300)
        check(p.returncode == 0, f"meson install failed:\n{p.stdout.decode()[-1000:]}"
                                 f"{p.stderr.decode()[-1000:]}")
        shims = glob.glob(os.path.join(dest, "**", "libleakprobe.so"), recursive=True)
        check_eq(len(shims), 1, f"installed libleakprobe.so files {shims}")
        helper = os.path.join(os.path.dirname(shims[0]), "leakprobe", "leakprobe-symbolizer")
        check(os.access(helper, os.X_OK), f"{helper} is not installed (or not executable)")
        print(f"installed: {os.path.relpath(shims[0], dest)}, {os.path.relpath(helper, dest)}")
        launchers = glob.glob(os.path.join(dest, "**", "bin", "leakprobe"), recursive=True)
        check_eq(len(launchers), 1, f"installed leakprobe launchers {launchers}")
        soft(installed_launcher, launchers[0], shims[0])

        r = run([prog("sym_host")], env={"LD_PRELOAD": shims[0]})
        rep = r.report("exit")
        soft(check_eq, rep["warnings"], [], "installed shim: warnings")
        frames = [f for s in sites_with(rep, "leak_static") for f in s["stack"]
                  if f["function"] == "leak_static"]
        soft(check, frames and all((f["file"] or "").endswith("sym_host.c") for f in frames),
             f"installed shim: leak_static not named with its file: {frames[:1]}")

        os.rename(helper, helper + ".moved")
        r = run([prog("sym_host")], env={"LD_PRELOAD": shims[0]})
        rep = r.report("exit")
        soft(check, any("not found" in w for w in rep["warnings"]),
             f"installed shim without its symbolizer: warnings {rep['warnings']}")
        soft(check, sites_with(rep, "leak_exported"), "without the symbolizer: no dladdr name")
    finally:
        shutil.rmtree(dest, ignore_errors=True)
    soft.done()


main(test)
