"""The installed layout: `meson install --destdir` puts the shim in libdir
and the symbolizer in libdir/leakprobe/; the installed shim, preloaded from
there, finds that symbolizer (frames named with file:line, no warning)
and, with the symbolizer moved away, says so and names what dladdr can."""
import glob
import os
import shutil
import subprocess
import tempfile

from lptest import BUILD, Soft, check, check_eq, main, prog, run, sites_with, skip


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
