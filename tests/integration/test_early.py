"""Blocks allocated before the shim starts are tracked (issue #9 item 12):
libstdc++'s emergency exception pool (72 704 bytes, allocated by
libstdc++'s initialiser, which ld.so runs before the preloaded shim's) and
those of a library constructor that runs before ours too
(tests/programs/early_ctor.c, linked into cxx_early): kept, freed there,
grown by realloc, calloc'd, aligned, freed later by main.

Oracles: the program's statement (sites by function, exact), and valgrind,
whose allocator is there from the first instruction: its "in use at exit"
equals the report's live blocks and bytes, with and without block headers.
valgrind runs with both freeres hooks off, as the shim's process has them
(no libc or libstdc++ freeres runs outside valgrind): otherwise valgrind
itself frees the pool and the stdio buffers before counting.

A full start-up table (EARLY_MANY=3000 blocks in the constructor) keeps
what fits, says how many blocks and bytes it could not keep in every
report's warnings, and the figures still add up with valgrind's."""
import os
import re
import shutil
import subprocess

from lptest import (Soft, check, check_consistent, check_eq, check_truth, clean_env, main,
                    prog, run)

POOL = 72704
MODES = [{}, {"LEAKPROBE_HEADERS": "0"}]


def valgrind(argv, env=None):
    e = clean_env(env, shim=False)
    e["LP_TRUTH"] = "/dev/null"
    v = subprocess.run(["valgrind", "--run-libc-freeres=no", "--run-cxx-freeres=no",
                        "--leak-check=full", "--show-leak-kinds=all"] + argv,
                       env=e, capture_output=True, timeout=300)
    out = v.stderr.decode(errors="replace")
    m = re.search(r"in use at exit: ([\d,]+) bytes in ([\d,]+) blocks", out)
    check(m, f"no valgrind summary:\n{out[-2000:]}")
    return tuple(int(x.replace(",", "")) for x in m.groups())


def pool_sites(rep):
    return [s for s in rep["sites"] if s["bytes"] == POOL and s["blocks"] == 1 and
            "libstdc++" in os.path.basename(s["stack"][0].get("module") or "")]


def one(env, vg):
    what = f"mode {env or 'default'}"
    r = run([prog("cxx_early")], env=env)
    check_eq(r.rc, 0, f"{what}: exit code")
    rep = r.report("exit")
    soft = Soft()
    soft(check_truth, rep, r.truth)
    soft(check_consistent, rep)
    soft(check_eq, rep["heap"]["untracked_frees"], 0,
         f"{what}: untracked_frees (main frees blocks made before start-up)")
    soft(check_eq, rep["warnings"], [], f"{what}: warnings")
    soft(check, len(pool_sites(rep)) == 1,
         f"{what}: one site of {POOL} bytes in 1 block allocated from libstdc++ (the "
         f"emergency exception pool); sites:\n" +
         "\n".join(f"  {s['blocks']} / {s['bytes']}: {s['stack'][0].get('module')}"
                   for s in rep["sites"]))
    # The constructor's frames are named: the stack reaches past the
    # allocating call, up to ld.so's initialiser.
    for s in rep["sites"]:
        names = [f.get("function") for f in s["stack"]]
        if "early_keep" in names:
            soft(check, "early_ctor" in names and "_dl_init" in names,
                 f"{what}: early_keep's stack {names}: want early_ctor and _dl_init")
    if vg:
        r2 = run([prog("cxx_early")], env=dict(env, LP_TRUTH="/dev/null"))
        h = r2.report("exit")["heap"]
        soft(check_eq, (h["live_bytes"], h["live_blocks"]), vg,
             f"{what}: leakprobe live (bytes, blocks) against valgrind's in use at exit")
    soft.done()


def full_table(vg_env):
    n = 3000
    env = {"EARLY_MANY": str(n), "LP_TRUTH": "/dev/null"}
    r = run([prog("cxx_early")], env=env)
    check_eq(r.rc, 0, "full table: exit code")
    rep = r.report("exit")
    check_consistent(rep)
    warn = [w for w in rep["warnings"] if "before start-up" in w]
    check(len(warn) == 1, f"full table: one warning about blocks before start-up, seen "
                          f"{rep['warnings']}")
    m = re.search(r"(\d+) blocks \((\d+) bytes\)", warn[0])
    check(m, f"full table: the warning gives blocks and bytes: {warn[0]!r}")
    lost_blocks, lost_bytes = int(m.group(1)), int(m.group(2))
    check(lost_blocks > n - 2048 - 100 and lost_bytes == 16 * lost_blocks,
          f"full table: {lost_blocks} blocks / {lost_bytes} bytes not kept, of {n} x 16 bytes "
          f"beyond a table of 2048")
    if vg_env is not None:
        vg = valgrind([prog("cxx_early")], env={"EARLY_MANY": str(n)})
        h = rep["heap"]
        check_eq((h["live_bytes"] + lost_bytes, h["live_blocks"] + lost_blocks), vg,
                 "full table: live + not kept (bytes, blocks) against valgrind's in use at exit")


def test():
    have_vg = shutil.which("valgrind") is not None
    vg = valgrind([prog("cxx_early")]) if have_vg else None
    if not have_vg:
        print("valgrind not installed: cross-check skipped")
    soft = Soft()
    for env in MODES:
        soft(one, env, vg)
    soft(full_table, {} if have_vg else None)
    soft.done()


main(test)
