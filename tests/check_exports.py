"""The shim's dynamic symbol table (nm -D --defined-only) is exactly the
global list of src/leakprobe.map: nothing internal leaks into the
process's global scope, and nothing the map promises is missing."""
import fnmatch
import os
import re
import shutil
import subprocess

from lptest import SHIM, SRC, check, main, skip


def map_globals(path):
    """Names (or glob patterns) in the global: sections, and version node names."""
    with open(path) as fh:
        text = fh.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"#[^\n]*", " ", text)
    nodes = re.findall(r"([A-Za-z_][\w.]*)\s*\{", text)
    names = []
    for section in re.findall(r"global\s*:(.*?)(?:local\s*:|\})", text, re.S):
        names += [n.strip() for n in section.split(";") if n.strip()]
    return names, set(nodes)


def test():
    if not shutil.which("nm"):
        skip("nm (binutils) is not installed")
    check(SHIM and os.path.exists(SHIM), f"the shim {SHIM!r} was not built")
    names, nodes = map_globals(os.path.join(SRC, "src", "leakprobe.map"))
    check(names, "no global: names found in src/leakprobe.map")
    out = subprocess.run(["nm", "-D", "--defined-only", SHIM], capture_output=True, timeout=60)
    check(out.returncode == 0, f"nm failed: {out.stderr.decode()}")
    exported = set()
    for line in out.stdout.decode().splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        kind, sym = parts[-2], parts[-1].split("@")[0]
        if kind == "A" and sym in nodes:
            continue  # a version node, not a symbol
        exported.add(sym)
    patterns = [n for n in names if any(c in n for c in "*?[")]
    plain = {n for n in names if n not in patterns}
    extra = sorted(s for s in exported
                   if s not in plain and not any(fnmatch.fnmatchcase(s, p) for p in patterns))
    missing = sorted(plain - exported)
    check(not extra and not missing,
          f"dynamic symbols of {os.path.basename(SHIM)} vs src/leakprobe.map:\n"
          f"  exported but not in the map: {extra}\n  in the map but not exported: {missing}")


main(test)
