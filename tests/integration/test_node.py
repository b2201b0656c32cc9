"""node under the shim: `node -e 'console.log(1)'` exits 0 with the same
stdout as without the shim, and its exit report is written, valid and
consistent, its frames named.  (Until the symbolizer left the process,
libdw's debuginfod lookup loaded libcurl and libssh2 into node, whose
OpenSSL calls bound to node's own built-in OpenSSL, already shut down at
exit: SIGSEGV.)  Skipped when node is not installed (Debian: nodejs)."""
import shutil

from lptest import Soft, check, check_consistent, check_eq, main, run, skip


def test():
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        skip("node is not installed (apt-get install nodejs)")
    argv = [node, "-e", "console.log(1)"]
    plain = run(argv, shim=False)
    check_eq(plain.rc, 0, f"node without the shim: exit code ({plain.stderr[-300:]})")
    soft = Soft()
    for env in ({}, {"DEBUGINFOD_URLS": "http://127.0.0.1:1"}):
        what = f"node under the shim{' with DEBUGINFOD_URLS' if env else ''}"
        r = run(argv, env=env, timeout=120)
        soft(check_eq, r.rc, 0, f"{what}: exit code (stderr: {r.stderr[-500:]})")
        soft(check_eq, r.stdout, plain.stdout, f"{what}: stdout")
        rep = soft(r.report, "exit")
        if not rep:
            continue
        soft(check_consistent, rep)
        soft(check_eq, rep["warnings"], [], f"{what}: report warnings")
        named = sum(1 for s in rep["sites"] for f in s["stack"] if f["function"])
        soft(check, named > 0, f"{what}: no frame named")
        print(f"{what}: {len(rep['sites'])} sites, {named} frames named, symbolize "
              f"{rep['cost_ms']['symbolize']} ms")
    soft.done()


main(test)
