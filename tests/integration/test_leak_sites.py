"""Leaks at known sites are reported exactly, grouped by site, with
file:line; totals agree with valgrind's leak summary.  Both ways of
recording blocks: headers (default) and the side table alone
(LEAKPROBE_HEADERS=0)."""
import os
import re
import shutil
import subprocess

from lptest import check, check_truth, main, prog, run


MODES = [{}, {"LEAKPROBE_HEADERS": "0"}]


def test():
    for env in MODES:
        one(env)


def one(env):
    print(f"mode {env or 'default'}")
    r = run([prog("leak_sites")], env=env)
    check(r.rc == 0, f"exit code {r.rc}")
    rep = r.report("exit")
    for key in ("schema", "pid", "reason", "seq", "heap", "sites", "large"):
        check(key in rep, f"report lacks {key}")
    check(rep["schema"] == "leakprobe-report/1", rep["schema"])
    check(rep["seq"] == 1, f"seq {rep['seq']}")
    check_truth(rep, r.truth)
    # file:line for the leak sites (built with -g).
    for s in rep["sites"]:
        top = s["stack"][0]
        if top["function"] == "leak_small":
            check(top["file"].endswith("leak_sites.c") and top["line"] > 0, f"frame {top}")
            check(top["module"].endswith("leak_sites"), f"module {top['module']}")
    # Every live block of the report is in a site, and the sites add up.
    check(sum(s["blocks"] for s in rep["sites"]) == rep["heap"]["live_blocks"], "sites != live_blocks")
    check(sum(s["bytes"] for s in rep["sites"]) == rep["heap"]["live_bytes"], "sites != live_bytes")
    check(rep["heap"]["total_allocs"] - rep["heap"]["total_frees"] == rep["heap"]["live_blocks"],
          f"allocs - frees != live: {rep['heap']}")
    # Block headers: 16 bytes for each live block from malloc/calloc/realloc
    # (this program allocates nothing else), none without them.
    hb = rep["heap"]["header_bytes"]
    if env.get("LEAKPROBE_HEADERS") == "0":
        check(hb == 0, f"header_bytes {hb} with LEAKPROBE_HEADERS=0")
    else:
        check(hb == 16 * rep["heap"]["live_blocks"],
              f"header_bytes {hb} for {rep['heap']['live_blocks']} live blocks")

    # Independent oracle: valgrind's count of bytes not freed at exit.
    if not shutil.which("valgrind"):
        print("valgrind not installed: cross-check skipped")
        return
    env = dict(os.environ, LP_TRUTH="/dev/null")
    env.pop("LD_PRELOAD", None)
    v = subprocess.run(["valgrind", "--leak-check=full", "--show-leak-kinds=all",
                        prog("leak_sites")], env=env, capture_output=True, timeout=300)
    out = v.stderr.decode()
    m = re.search(r"in use at exit: ([\d,]+) bytes in ([\d,]+) blocks", out)
    check(m, f"no valgrind summary:\n{out[-2000:]}")
    vg_bytes, vg_blocks = (int(x.replace(",", "")) for x in m.groups())
    # Without LP_TRUTH the program allocates nothing more; under valgrind
    # our shim is absent, so both count the program's own blocks.
    r2 = run([prog("leak_sites")], env=dict(env, LP_TRUTH="/dev/null"))
    h = r2.report("exit")["heap"]
    check((h["live_bytes"], h["live_blocks"]) == (vg_bytes, vg_blocks),
          f"leakprobe live {h['live_bytes']} bytes / {h['live_blocks']} blocks, "
          f"valgrind in use at exit {vg_bytes} / {vg_blocks}")


main(test)
