"""dlopen/dlclose: a plugin leaks in a static function, is dlclosed (and
really unmapped) before exit; the report still names the plugin's frames
(function, file:line from the plugin's own DWARF, module path), although
nothing of the plugin is mapped any more when the report is written."""
from lptest import Soft, check, check_eq, check_leaks, main, prog, run, sites_with


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
                soft.errors.append(f"no {name} frame in {[f['function'] for f in s['stack']]}")
                continue
            soft(check_eq, fr["module"], facts["plugin"], f"{name} frame: module")
            soft(check, (fr["file"] or "").endswith("plugin_leak.c"),
                 f"{name} frame: file expected .../plugin_leak.c, seen {fr['file']!r}")
            soft(check, isinstance(fr["line"], int) and fr["line"] > 0,
                 f"{name} frame: line expected > 0, seen {fr['line']!r}")
            soft(check, int(fr["offset"], 16) < 1 << 24,
                 f"{name} frame: offset should be relative to the plugin, seen {fr['offset']}")
    soft.done()


main(test)
