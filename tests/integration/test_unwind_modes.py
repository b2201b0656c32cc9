"""Stack capture: the cached CFI unwinder (LEAKPROBE_UNWIND=0, default) and
libunwind alone (LEAKPROBE_UNWIND=1) give the same stacks (docs/options.md)
for the leaks of several programs: through a signal frame, a qsort
callback (libc frames without frame pointers), a 40-frame recursion, an
atexit handler, threads, C++ (libstdc++ frames), a dlclosed plugin.  Every
stack reaches the bottom of its thread (_start, or clone for threads), and
the leaks are exact in both modes."""
import os

from lptest import Soft, check_eq, check_leaks, main, prog, run, sites_with

PROGRAMS = [
    ([prog("unwind_shapes")], "_start"),
    ([prog("cxx_leaks")], "_start"),
    ([prog("threads")], "__clone3"),
    ([prog("leak_sites")], "_start"),
    ([prog("plugin_host"), prog("plugin_leak.so")], "_start"),
]


def shapes(rep, function):
    """Stacks of the sites holding function: (module, offset) per frame,
    which does not depend on where ASLR put the modules."""
    return sorted(tuple((os.path.basename(f["module"] or "?"), f["offset"]) for f in s["stack"])
                  for s in sites_with(rep, function))


def test():
    soft = Soft()
    for argv, bottom in PROGRAMS:
        name = os.path.basename(argv[0])
        runs = {}
        for mode in ("0", "1"):
            r = run(argv, env={"LEAKPROBE_UNWIND": mode})
            soft(check_eq, r.rc, 0, f"{name}, UNWIND={mode}: exit code")
            rep = r.report("exit")
            soft(check_leaks, rep, r.truth["leaks"], f"{name}, UNWIND={mode}")
            for leak in r.truth["leaks"]:
                for s in sites_with(rep, leak["function"]):
                    names = [f["function"] for f in s["stack"]]
                    soft(check_eq, names[-1] if names else None, bottom,
                         f"{name}, UNWIND={mode}, {leak['function']}: the stack's last frame "
                         f"(stack {names})")
            runs[mode] = (r, rep)
        r0, rep0 = runs["0"]
        _, rep1 = runs["1"]
        for leak in r0.truth["leaks"]:
            soft(check_eq, shapes(rep0, leak["function"]), shapes(rep1, leak["function"]),
                 f"{name}, {leak['function']}: stacks with UNWIND=0 (seen) vs UNWIND=1 (expected)")
    soft.done()


main(test)
