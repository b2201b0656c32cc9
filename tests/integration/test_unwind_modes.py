"""Stack capture: the cached CFI unwinder (LEAKPROBE_UNWIND=0, default) and
libunwind alone (LEAKPROBE_UNWIND=1) give the same stacks (docs/options.md)
for the leaks of several programs, except where the cached unwinder stops:
in a signal handler it keeps the allocating call alone (libunwind is not
loaded by default), which must be the first frame of libunwind's stack.
Shapes covered: a signal frame, a qsort
callback (libc frames without frame pointers), a 40-frame recursion, an
atexit handler, threads, C++ (libstdc++ frames), a dlclosed plugin.  Every
stack reaches the bottom of its thread (_start, or clone for threads), and
the leaks are exact in both modes."""
import os

from lptest import Soft, check_eq, check_leaks, main, prog, run, sites_with

# (program, function): leaks whose stack the default unwinder cuts short.
CUT_SHORT = {("unwind_shapes", "leak_in_handler")}

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
                if mode == "0" and (name, leak["function"]) in CUT_SHORT:
                    continue
                for s in sites_with(rep, leak["function"]):
                    names = [f["function"] for f in s["stack"]]
                    soft(check_eq, names[-1] if names else None, bottom,
                         f"{name}, UNWIND={mode}, {leak['function']}: the stack's last frame "
                         f"(stack {names})")
            runs[mode] = (r, rep)
        r0, rep0 = runs["0"]
        _, rep1 = runs["1"]
        for leak in r0.truth["leaks"]:
            s0, s1 = shapes(rep0, leak["function"]), shapes(rep1, leak["function"])
            if (name, leak["function"]) in CUT_SHORT:
                soft(check_eq, [s[:1] for s in s0], [s[:1] for s in s1],
                     f"{name}, {leak['function']}: the allocating frame (UNWIND=0 vs 1)")
                soft(check_eq, [len(s) for s in s0], [1] * len(s0),
                     f"{name}, {leak['function']}: UNWIND=0 keeps the allocating call alone")
                continue
            soft(check_eq, s0, s1,
                 f"{name}, {leak['function']}: stacks with UNWIND=0 (seen) vs UNWIND=1 (expected)")
    soft.done()


main(test)
