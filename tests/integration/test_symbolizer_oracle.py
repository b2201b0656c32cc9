"""Frame names against independent oracles.  inline_leak.c and
inline_leak.cpp are built here with gcc and clang (g++/clang++), -O0 -g and
-O2 -g; clang emits no .debug_aranges, so its file:line come from the
units' own address ranges.  For every captured frame in the program's own
module, the frames the report prints for it (the functions inlined there,
then the one containing it) must equal, function, file and line,
`addr2line -i -f -C -e BINARY offset-1` (binutils: no libdw in it).  The
leak in fill_cache, inlined two deep, is reported with fill_cache's own
frame ("inlined": true) and exact blocks and bytes; built by gcc at -O2,
the whole stack of that leak equals valgrind's (its own DWARF reader) down
to main.
C++ frames are demangled as addr2line -C demangles them."""
import os
import re
import shutil
import subprocess
import tempfile

from lptest import (Failure, Soft, check, check_eq, check_leaks, clean_env, main, program_source,
                    run, sites_with, skip)

C_COMPILERS = ["gcc", "clang"]
CXX_COMPILERS = ["g++", "clang++"]
LEVELS = ["-O0", "-O2"]


def build(tmp, cc, level, source):
    out = os.path.join(tmp, f"{os.path.basename(source).split('.')[0]}.{cc}{level}")
    p = subprocess.run([cc, level, "-g", "-I", os.path.dirname(source), "-o", out, source],
                       capture_output=True, timeout=120)
    check(p.returncode == 0, f"{cc} {level} {source} failed:\n{p.stderr.decode()[-1500:]}")
    return out


def has_aranges(binary):
    p = subprocess.run(["readelf", "-S", "-W", binary], capture_output=True, timeout=60)
    return ".debug_aranges" in p.stdout.decode()


def norm(function, file, line):
    """(function, file's basename, line) as both sides write them."""
    if not file or file == "??":
        return (function or "??", "??", 0)
    return (function or "??", os.path.basename(file), int(line or 0))


def addr2line(binary, pc):
    p = subprocess.run(["addr2line", "-i", "-f", "-C", "-e", binary, hex(pc)],
                       capture_output=True, timeout=60)
    lines = p.stdout.decode().splitlines()
    frames = []
    for fn, loc in zip(lines[0::2], lines[1::2]):
        loc = re.sub(r" \(discriminator \d+\)$", "", loc)
        file, _, line = loc.rpartition(":")
        frames.append(norm(fn if fn != "??" else None, file,
                           line if line.isdigit() else 0))
    return frames


def captured(stack):
    """The report's frames grouped by captured frame: [[inlined..., containing]]."""
    groups, cur = [], []
    for f in stack:
        cur.append(f)
        if not f.get("inlined"):
            groups.append(cur)
            cur = []
    check(not cur, f"inlined frames at the end of a stack, without their containing frame: {cur}")
    return groups


def check_against_addr2line(soft, what, rep, binary):
    """Every captured frame in binary equals addr2line's answer for it."""
    compared = 0
    seen = set()
    for s in rep["sites"]:
        for g in captured(s["stack"]):
            ip = g[0]["ip"]
            if any(f["ip"] != ip or f["offset"] != g[0]["offset"] for f in g):
                soft.failures.append(f"{what}: one captured frame's frames disagree on ip/offset: {g}")
            if g[0]["module"] != binary or ip in seen:
                continue
            seen.add(ip)
            ours = [norm(f["function"], f["file"], f["line"]) for f in g]
            oracle = addr2line(binary, int(g[0]["offset"], 16) - 1)
            soft(check_eq, ours, oracle, f"{what}: frames at {g[0]['offset']} (addr2line -i)")
            compared += 1
    soft(check, compared >= 4, f"{what}: only {compared} frames of the program itself compared")
    return compared


VG_FRAME = re.compile(r"^==\d+==    (?:at|by) 0x[0-9A-F]+: (.+?) \((?:(\S+):(\d+)|in .*)\)$")


def valgrind_stack(binary, function):
    """valgrind's stack (below malloc, down to main) of the loss record
    that holds function; None when valgrind is not installed."""
    if not shutil.which("valgrind"):
        return None
    env = clean_env(shim=False)
    env["LP_TRUTH"] = "/dev/null"
    p = subprocess.run(["valgrind", "--leak-check=full", "--show-leak-kinds=all",
                        "--read-inline-info=yes", binary], env=env, capture_output=True,
                       timeout=300)
    out = p.stderr.decode(errors="replace")
    for record in re.split(r"^==\d+== ?$", out, flags=re.M):
        frames = []
        for line in record.splitlines():
            m = VG_FRAME.match(line)
            if m:
                frames.append(norm(m.group(1), m.group(2), m.group(3)))
        names = [f[0] for f in frames]
        if function in names and "main" in names:
            start = next(i for i, n in enumerate(names) if n not in ("malloc", "operator new"))
            return frames[start:names.index("main") + 1]
    raise Failure(f"valgrind reported no record with {function}:\n{out[-3000:]}")


def one(soft, tmp, cc, level, source, cxx):
    binary = build(tmp, cc, level, source)
    what = f"{os.path.basename(source)} {cc} {level}"
    aranges = has_aranges(binary)
    print(f"{what}: .debug_aranges {'present' if aranges else 'absent'}")
    r = run([binary])
    soft(check_eq, r.rc, 0, f"{what}: exit code")
    rep = r.report("exit")
    soft(check_eq, rep["warnings"], [], f"{what}: report warnings")
    soft(check_leaks, rep, r.truth["leaks"], what)
    n = check_against_addr2line(soft, what, rep, binary)
    # The inlined leak: its first frame is the inlined function itself.
    inl = r.truth["leaks"][0]["function"]
    for s in sites_with(rep, inl):
        top = s["stack"][0]
        soft(check, top["function"] == inl and top.get("inlined") is True,
             f"{what}: the leak's first frame should be {inl} (inlined), seen {top}")
    if cxx:
        mangled = [f["function"] for s in rep["sites"] for f in s["stack"]
                   if (f["function"] or "").startswith("_Z")]
        soft(check_eq, mangled, [], f"{what}: mangled names in the report")
    # valgrind 3.19 reads no inline information from clang's DWARF 5 (it
    # names warm_up at fill_cache's line): gcc builds only.
    if level == "-O2" and cc == "gcc":
        vg = valgrind_stack(binary, inl)
        if vg is None:
            print("valgrind not installed: its stacks are not compared")
        else:
            for s in sites_with(rep, inl):
                ours = [norm(f["function"], f["file"], f["line"]) for f in s["stack"]]
                ours = ours[:[f[0] for f in ours].index("main") + 1]
                soft(check_eq, ours, vg, f"{what}: the {inl} leak's stack (valgrind)")
    print(f"{what}: {n} frames compared with addr2line")
    return aranges


def test():
    if not shutil.which("addr2line") or not shutil.which("readelf"):
        skip("binutils (addr2line, readelf) is not installed")
    tmp = tempfile.mkdtemp(prefix="lptest.oracle.")
    soft = Soft()
    try:
        missing = []
        for compilers, source, cxx in ((C_COMPILERS, "inline_leak.c", False),
                                       (CXX_COMPILERS, "inline_leak.cpp", True)):
            for cc in compilers:
                if not shutil.which(cc):
                    missing.append(cc)
                    continue
                for level in LEVELS:
                    aranges = one(soft, tmp, cc, level, program_source(source), cxx)
                    if cc.startswith("clang"):
                        soft(check, not aranges, f"{cc} {level} emitted .debug_aranges: the "
                                                 f"fallback without them is not exercised")
        if missing:
            print(f"SKIPPED compilers (not installed): {missing}")
        check("gcc" not in missing, "gcc is needed")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    soft.done()


main(test)
