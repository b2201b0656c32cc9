"""dlopen/dlclose: a plugin leaks in a static function, is dlclosed (and
really unmapped) before exit; the report still names the plugin's frames
(function, file:line from the plugin's own DWARF, module path), although
nothing of the plugin is mapped any more when the report is written; the
function and line of each equal addr2line's for the plugin file at the
frame's offset - 1."""
import shutil
import subprocess

from lptest import Soft, check, check_eq, check_leaks, main, prog, run, sites_with


def addr2line(path, pc):
    """(function, line) of the outermost frame addr2line -i gives."""
    out = subprocess.run(["addr2line", "-i", "-f", "-C", "-e", path, hex(pc)],
                         capture_output=True, timeout=60).stdout.decode().splitlines()
    fn, loc = out[-2], out[-1].split(" ")[0]
    return fn, int(loc.rpartition(":")[2]) if loc.rpartition(":")[2].isdigit() else 0


def test():
    plugin = prog("plugin_leak.so")
    r = run([prog("plugin_host"), plugin])
    check_eq(r.rc, 0, f"exit code (stderr: {r.stderr[-500:]})")
    facts = r.truth["facts"]
    check_eq(int(facts["unmapped"]), 1, "plugin unmapped after dlclose (else this test "
                                         "proves nothing)")
    rep = r.report("exit")
    soft = Soft()
    soft(check_leaks, rep, r.truth["leaks"])
    leak = r.truth["leaks"][0]
    for s in sites_with(rep, leak["function"]):
        for name in (leak["function"], "plugin_run"):
            fr = next((f for f in s["stack"] if f["function"] == name), None)
            if not fr:
                soft.failures.append(f"no {name} frame in {[f['function'] for f in s['stack']]}")
                continue
            soft(check_eq, fr["module"], facts["plugin"], f"{name} frame: module")
            soft(check, (fr["file"] or "").endswith("plugin_leak.c"),
                 f"{name} frame: file expected .../plugin_leak.c, seen {fr['file']!r}")
            soft(check, isinstance(fr["line"], int) and fr["line"] > 0,
                 f"{name} frame: line expected > 0, seen {fr['line']!r}")
            soft(check, int(fr["offset"], 16) < 1 << 24,
                 f"{name} frame: offset should be relative to the plugin, seen {fr['offset']}")
            if shutil.which("addr2line"):
                soft(check_eq, (fr["function"], fr["line"]),
                     addr2line(plugin, int(fr["offset"], 16) - 1),
                     f"{name} frame at {fr['offset']}: (function, line) vs addr2line")
    soft.done()


main(test)
