"""The shim's dynamic symbol table (nm -D --defined-only) is exactly the
functions its sources define LP_EXPORT (the interposers and the public
API): nothing internal leaks into the process's global scope (the version
script src/leakprobe.map hides the rest), and nothing defined for the
program is left hidden by it."""
import os
import re
import shutil
import subprocess

from lptest import SHIM, SRC, check, main, skip


def version_nodes(path):
    with open(path) as fh:
        text = re.sub(r"/\*.*?\*/", " ", fh.read(), flags=re.S)
    return set(re.findall(r"([A-Za-z_][\w.]*)\s*\{", text))


def defined_for_export(src):
    """Names of the functions defined LP_EXPORT in the shim's sources."""
    names = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".c"):
                continue
            path = os.path.join(root, f)
            with open(path) as fh:
                text = re.sub(r"/\*.*?\*/", " ", fh.read(), flags=re.S)
            for m in re.finditer(r"^LP_EXPORT\b[^;{(]*?\b(\w+)\s*\(", text, re.M):
                names[m.group(1)] = os.path.relpath(path, src)
    return names


def test():
    if not shutil.which("nm"):
        skip("nm (binutils) is not installed")
    check(SHIM and os.path.exists(SHIM), f"the shim {SHIM!r} was not built")
    nodes = version_nodes(os.path.join(SRC, "src", "leakprobe.map"))
    expected = defined_for_export(os.path.join(SRC, "src"))
    check(len(expected) > 20, f"too few LP_EXPORT definitions found: {sorted(expected)}")
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
    extra = sorted(exported - set(expected))
    missing = sorted(f"{n} ({expected[n]})" for n in set(expected) - exported)
    check(not extra and not missing,
          f"dynamic symbols of {os.path.basename(SHIM)} vs the LP_EXPORT definitions:\n"
          f"  exported but not defined LP_EXPORT: {extra}\n"
          f"  defined LP_EXPORT but not exported (add it to src/leakprobe.map): {missing}")


main(test)
