"""The shim's folders depend one way (docs/design.md, "The tree").

src/meson.build lists the folders lowest first (shim_folders).  A file of
a folder may use only its own folder and those before it:
  - every #include "folder/..." of every file under src/ (the source);
  - every symbol a folder's static library leaves undefined and the shim
    defines (the objects as built: a call through a local extern, or to a
    function of ours by the name of a libc one, shows here).
symbolizer/ is a program of its own: it includes only itself, and of the
shim only report/ speaks its protocol (symbolizer/protocol.h).  No source
file sits directly in src/.  Fails with every violation, file and name."""
import os
import re
import subprocess
import sys

SRC = os.path.join(os.environ["LP_SRC"], "src")
BUILD = os.environ["LP_BUILD"]


def folders_in_order():
    with open(os.path.join(SRC, "meson.build")) as f:
        m = re.search(r"shim_folders\s*=\s*\[([^\]]*)\]", f.read())
    return [n.strip()[len("lp_"):] for n in m.group(1).split(",") if n.strip()]


def include_violations(order):
    rank = {f: i for i, f in enumerate(order)}
    bad = []
    for folder in order + ["symbolizer"]:
        for root, _, files in os.walk(os.path.join(SRC, folder)):
            for name in files:
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, name)
                rel = os.path.relpath(path, SRC)
                with open(path) as f:
                    for n, line in enumerate(f, 1):
                        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                        if not m:
                            continue
                        target = m.group(1)
                        top = target.split("/")[0] if "/" in target else None
                        if folder == "symbolizer":
                            if top not in (None, "symbolizer"):
                                bad.append(f"{rel}:{n}: the symbolizer includes {target}")
                            continue
                        if top is None:
                            if target != "leakprobe.h":
                                bad.append(f"{rel}:{n}: #include \"{target}\" names no folder")
                            continue
                        if top == "symbolizer":
                            if folder != "report" or target != "symbolizer/protocol.h":
                                bad.append(f"{rel}:{n}: {folder}/ includes {target}")
                            continue
                        if top not in rank:
                            bad.append(f"{rel}:{n}: #include \"{target}\": no such folder")
                        elif rank[top] > rank[folder]:
                            bad.append(f"{rel}:{n}: {folder}/ includes {target}, from a folder above it")
    for name in os.listdir(SRC):
        if name.endswith((".c", ".h")):
            bad.append(f"src/{name}: a source file outside every folder")
    return bad


def nm(lib):
    out = subprocess.run(["nm", "-A", lib], capture_output=True, text=True, check=True).stdout
    defined, undefined = {}, {}
    for line in out.splitlines():
        where, _, rest = line.rpartition(": ")
        parts = rest.split()
        obj = where.split(":")[-1]
        if len(parts) == 3 and parts[1] in "TDBRVW":
            defined[parts[2]] = obj
        elif len(parts) == 2 and parts[0] == "U":
            undefined.setdefault(parts[1], set()).add(obj)
    return defined, undefined


def symbol_violations(order):
    libs = {f: os.path.join(BUILD, "src", f, f"liblp_{f}.a") for f in order}
    missing = [p for p in libs.values() if not os.path.exists(p)]
    if missing:
        return [f"not built: {p}" for p in missing]
    tables = {f: nm(p) for f, p in libs.items()}
    owner = {}
    for f in order:
        for sym in tables[f][0]:
            owner.setdefault(sym, f)
    rank = {f: i for i, f in enumerate(order)}
    bad = []
    for f in order:
        for sym, objs in sorted(tables[f][1].items()):
            o = owner.get(sym)
            if o is not None and rank[o] > rank[f]:
                bad.append(f"{f}/ ({', '.join(sorted(objs))}) uses {sym}, defined in {o}/ above it")
    return bad


def main():
    order = folders_in_order()
    if len(order) < 2:
        print(f"FAIL: cannot read the folder order from src/meson.build: {order}")
        return 1
    print("folders, lowest first:", " -> ".join(order))
    bad = include_violations(order) + symbol_violations(order)
    for b in bad:
        print("FAIL:", b)
    if bad:
        return 1
    print("every include and every symbol points down")
    return 0


sys.exit(main())
