"""Nothing of the DWARF reader enters the program: the shim's DT_NEEDED
is libc (and ld.so) alone; a program under the shim that has written a
report (sym_host maps, reading its own /proc/self/maps afterwards) maps
no libdw, libelf, libdebuginfod, libcurl, compression or SSL library it
did not map without the shim, and has exactly one TLS module more (the
shim's own); with DEBUGINFOD_URLS set and a fresh HOME nothing appears
under HOME (no ~/.cache/debuginfod_client), also for a copy of the program
without its DWARF, for which libdw's standard search would ask the
server.  The helper itself never
loads libdebuginfod either, even with DEBUGINFOD_URLS set, for a binary
whose debug information is nowhere on this machine (ld.so's LD_DEBUG=files
lists every library it loads)."""
import os
import shutil
import subprocess
import tempfile

from lptest import SHIM, Soft, check, check_eq, clean_env, main, prog, run, sites_with, skip

FOREIGN = ("libdw", "libelf", "libdebuginfod", "libcurl", "libz.", "liblzma", "libbz2",
           "libzstd", "libssl", "libcrypto", "libssh", "libstdc++")
DEBUGINFOD = "http://127.0.0.1:1"


def needed(path):
    p = subprocess.run(["readelf", "-d", "-W", path], capture_output=True, timeout=60)
    check(p.returncode == 0, f"readelf -d {path}: {p.stderr.decode()}")
    return sorted(l.split("[", 1)[1].rstrip("]") for l in p.stdout.decode().splitlines()
                  if "(NEEDED)" in l)


def listing(stdout, kind):
    return {l.split(" ", 1)[1] for l in stdout.splitlines() if l.startswith(kind + " ")}


def under(home):
    return sorted(os.path.relpath(os.path.join(d, f), home)
                  for d, dirs, files in os.walk(home) for f in dirs + files)


def test():
    if not shutil.which("readelf"):
        skip("readelf (binutils) is not installed")
    soft = Soft()
    deps = needed(SHIM)
    soft(check, all(d.startswith("libc.so") or d.startswith("ld-linux") for d in deps),
         f"the shim's DT_NEEDED: {deps} (libc and ld.so only)")
    print(f"shim DT_NEEDED: {deps}")

    home = tempfile.mkdtemp(prefix="lptest.home.")
    try:
        # A copy without its DWARF (symbols and build-id kept): libdw's
        # standard search would go on to the debuginfod server for it.
        stripped = os.path.join(home, "..", os.path.basename(home) + ".sym_host")
        subprocess.run(["objcopy", "--strip-debug", prog("sym_host"), stripped], check=True,
                       timeout=60)
        env = {"HOME": home, "DEBUGINFOD_URLS": DEBUGINFOD, "XDG_CACHE_HOME": None}
        for binary, with_lines in ((prog("sym_host"), True), (stripped, False)):
            what = os.path.basename(binary)
            plain = run([binary, "maps"], shim=False, env=env)
            r = run([binary, "maps"], env=env)
            soft(check_eq, r.rc, 0, f"{what}: exit code")
            api = r.report("api")
            frames = [f for s in sites_with(api, "leak_static") for f in s["stack"]
                      if f["function"] == "leak_static"]
            soft(check, frames and all(bool(f["file"] and f["line"]) == with_lines for f in frames),
                 f"{what}: the report before the listing was not named by the helper: "
                 f"{frames[:1]}, warnings {api['warnings']}")
            extra = listing(r.stdout, "map") - listing(plain.stdout, "map")
            foreign = sorted(m for m in extra
                             if any(os.path.basename(m).startswith(x) for x in FOREIGN))
            soft(check_eq, foreign, [], f"{what}: libraries mapped under the shim after a report")
            soft(check_eq, sorted(os.path.basename(m) for m in extra), ["libleakprobe.so"],
                 f"{what}: files mapped under the shim and not without it")
            tls, tls_plain = listing(r.stdout, "tls"), listing(plain.stdout, "tls")
            soft(check_eq, sorted(os.path.basename(m) for m in tls - tls_plain),
                 ["libleakprobe.so"], f"{what}: TLS modules added by the shim")
            print(f"{what}: TLS modules: {len(tls_plain)} without the shim, {len(tls)} with it")
            soft(check_eq, under(home), [], f"{what}: files created under HOME (DEBUGINFOD_URLS set)")
        os.unlink(stripped)

        # The helper on its own: a binary without local debug information
        # would send dwfl_standard_find_debuginfo to the server.
        binary = os.path.realpath(shutil.which("ls") or "/bin/ls")
        e = clean_env(shim=False)
        e.update(HOME=home, DEBUGINFOD_URLS=DEBUGINFOD, LD_DEBUG="files")
        e.pop("XDG_CACHE_HOME", None)
        p = subprocess.run([os.environ["LP_SYMBOLIZER"], "-e", binary, "0x4000"], env=e,
                           capture_output=True, timeout=60)
        soft(check_eq, p.returncode, 0, f"helper -e {binary}: exit code ({p.stderr.decode()[-300:]})")
        loaded = sorted({l.split("file=")[1].split()[0] for l in p.stderr.decode().splitlines()
                         if "file=" in l})
        soft(check, not [x for x in loaded if "debuginfod" in x or "curl" in x],
             f"the helper loaded {loaded}")
        soft(check_eq, under(home), [], "files created under HOME by the helper")
        print(f"helper loaded: {loaded}")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    soft.done()


main(test)
