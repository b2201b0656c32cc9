"""Stacks that switch and code without unwind tables, in real programs
under the shim (unwind_switch.c, unwind_switch_cxx.cpp): blocks allocated
on makecontext coroutine stacks (malloc'd inside [heap], malloc'd in a
mapping of their own, mmap'd above a guard page), through a function
built without unwind tables, through JIT code in an anonymous executable
mapping (on the thread's stack and on a coroutine's), and C++ objects from
operator new on a coroutine stack.

Ground truth from the programs: each states the chain of functions above
malloc (innermost first) and how its stack ends: a coroutine's stack ends
with its entry's return address into glibc's __start_context, one frame
in libc.so.6; a thread's with _start.  The stacks must be exactly that,
with the default unwinder (LEAKPROBE_UNWIND=0) and with libunwind
(LEAKPROBE_UNWIND=1), and the two must agree frame for frame.  readelf
confirms that no FDE (.eh_frame or .debug_frame) covers nocfi_frame."""
import os
import re
import subprocess

from lptest import Soft, check, check_eq, check_leaks, main, prog, run, sites_with

PROGRAMS = ["unwind_switch", "unwind_switch_cxx"]


def frame_name(f):
    return f.get("function") or "?"


def shape(stack):
    """(module, offset) per frame: independent of where ASLR put things."""
    return tuple((os.path.basename(f.get("module") or "?"), f.get("offset")) for f in stack)


def check_stack(stack, chain, end, what):
    names = [frame_name(f) for f in stack]
    check_eq(names[:len(chain)], chain, f"{what}: the frames above malloc (stack {names})")
    for f, want in zip(stack, chain):
        if want == "?":
            check(not f.get("module"), f"{what}: the JIT's frame lies in no module: {f}")
    if end == "libc":
        check_eq(len(stack), len(chain) + 1,
                 f"{what}: frames, the chain and __start_context's (stack {names})")
        last = os.path.basename(stack[-1].get("module") or "?")
        check(last.startswith("libc.so"),
              f"{what}: the last frame returns into __start_context, in libc: {stack[-1]}")
    else:
        check_eq(names[-1], end, f"{what}: the stack's last frame (stack {names})")


def fde_ranges(path):
    """Every FDE's [lo, hi) in .eh_frame and .debug_frame, from readelf."""
    out = subprocess.run(["readelf", "--debug-dump=frames", path], capture_output=True,
                         text=True, check=True).stdout
    return [(int(a, 16), int(b, 16)) for a, b in re.findall(r"FDE .*pc=([0-9a-f]+)\.\.([0-9a-f]+)", out)]


def symbol(path, name):
    out = subprocess.run(["nm", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    return None


def test():
    soft = Soft()
    exe = prog("unwind_switch")
    ranges = fde_ranges(exe)
    at = symbol(exe, "nocfi_frame")
    check(ranges and at is not None, f"readelf found FDEs ({len(ranges)}), nm nocfi_frame ({at})")
    covering = [(hex(a), hex(b)) for a, b in ranges if a <= at < b or a <= at + 8 < b]
    check_eq(covering, [], "FDEs covering nocfi_frame (built without unwind tables)")

    for name in PROGRAMS:
        shapes = {}
        for mode in ("0", "1"):
            r = run([prog(name)], env={"LEAKPROBE_UNWIND": mode})
            soft(check_eq, r.rc, 0, f"{name}, UNWIND={mode}: exit code")
            rep = r.report("exit")
            soft(check_leaks, rep, r.truth["leaks"], f"{name}, UNWIND={mode}")
            facts = r.truth["facts"]
            if "stack.co_heap_leaf" in facts:
                soft(check_eq, facts["stack.co_heap_leaf"], "[heap]",
                     f"{name}: the malloc'd coroutine stack lies in the heap")
            for leak in r.truth["leaks"]:
                fn = leak["function"]
                chain = facts[f"chain.{fn}"].split("|")
                end = facts[f"end.{fn}"]
                sites = sites_with(rep, fn)
                soft(check_eq, len(sites), 1, f"{name}, UNWIND={mode}, {fn}: sites")
                for s in sites:
                    soft(check_stack, s["stack"], chain, end, f"{name}, UNWIND={mode}, {fn}")
                shapes.setdefault(fn, {})[mode] = sorted(shape(s["stack"]) for s in sites)
        for fn, by_mode in shapes.items():
            soft(check_eq, by_mode.get("0"), by_mode.get("1"),
                 f"{name}, {fn}: stacks with UNWIND=0 (seen) vs UNWIND=1 (expected)")
    soft.done()


main(test)
