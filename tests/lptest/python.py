"""python - for the live-CPython tests (tests/python/): which interpreters
to run, how to run the scripts of tests/python/ with and without the shim,
and how to read CPython's own verdict (gc.DEBUG_COLLECTABLE lines)."""
import collections
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile

from lptest import running
from lptest.checks import Failure, check, check_eq, skip
from lptest.env import SRC

HERE = os.path.join(SRC, "tests", "python")
CASES = os.path.join(HERE, "cases.py")
STRESS = os.path.join(HERE, "stress.py")
SYSTEM_PYTHON = "/usr/bin/python3"
# LP_PYENV_ROOT, not PYENV_ROOT: meson's python3 may be a pyenv shim, which
# resets PYENV_ROOT for the driver.
PYENV_ROOT = os.environ.get("LP_PYENV_ROOT") or os.environ.get("PYENV_ROOT") or "/root/.pyenv"
KEYS = ["system", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]

# -S: no site module.  site runs every .pth file of site-packages, and those
# run arbitrary code at start-up.  Here one (a sandbox CA injector) imports
# certifi, which registers an atexit callback after the shim's and before
# the script's: it then runs between the script's last measurement and the
# shim's exit report (freeing objects).  The "site" variant of the oracle
# test runs with site anyway, for the unreachable sets only.
PYFLAGS = ["-S"]

# The child interpreters get nothing of ours: no PYTHONPATH (the tests'
# own), no inherited tracing or allocator settings.  A fixed hash seed
# makes set and dict layouts the same in every run.
PYENV = {"PYTHONPATH": None, "PYTHONSTARTUP": None, "PYTHONTRACEMALLOC": None,
         "PYTHONMALLOC": None, "PYTHONDEVMODE": None, "PYTHONWARNINGS": None,
         "PYTHONHOME": None, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}


def interpreters(key):
    """[(label, path)] for a key of KEYS; skips (exit 77) when a pyenv
    version is absent; Debian's python3 must be there."""
    if key == "system":
        check(os.access(SYSTEM_PYTHON, os.X_OK),
              f"{SYSTEM_PYTHON} (Debian's python3) is missing: it is always tested")
        return [("system " + version_of(SYSTEM_PYTHON), SYSTEM_PYTHON)]
    check(re.fullmatch(r"3\.\d+", key or ""), f"unknown interpreter key {key!r}; known: {KEYS}")
    found = []
    for d in sorted(glob.glob(os.path.join(PYENV_ROOT, "versions", key + ".*"))):
        # 3.13.0t and the like (free-threaded) are not the builds tested here.
        if re.fullmatch(re.escape(key) + r"\.\d+", os.path.basename(d)):
            exe = os.path.join(d, "bin", "python3")
            if os.access(exe, os.X_OK):
                found.append((os.path.basename(d), exe))
    if not found:
        skip(f"no pyenv Python {key} ({PYENV_ROOT}/versions/{key}.*/bin/python3 absent)")
    for label, exe in found:
        v = version_of(exe)
        check(v == label, f"{exe} says it is Python {v}, its directory says {label}")
    return found


def version_of(exe):
    try:
        p = subprocess.run([exe, "-S", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                           capture_output=True, timeout=30, env=clean_child_env())
    except subprocess.TimeoutExpired:
        raise Failure(f"{exe} -c 'print(version)' did not finish within 30 s")
    check(p.returncode == 0, f"{exe} does not run: {p.stderr.decode(errors='replace')[-500:]}")
    return p.stdout.decode().strip()


def clean_child_env():
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("LEAKPROBE_") and k != "LD_PRELOAD"}
    for k, v in PYENV.items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return e


def env(extra=None):
    """The env= argument of run/Session for a child interpreter."""
    e = dict(PYENV)
    e.update(extra or {})
    return e


# --- CPython's verdict ------------------------------------------------------

DEBUG_LINE = re.compile(r"^gc: (collectable|uncollectable) <(.+) (0x[0-9a-fA-F]+)>$")


def debug_objects(stderr):
    """{address: (tp_name, 'collectable'|'uncollectable')} from the lines
    gc.DEBUG_COLLECTABLE / DEBUG_UNCOLLECTABLE print (PySys_FormatStderr
    "gc: %s <%s %p>" with the type's tp_name)."""
    out = {}
    for line in stderr.splitlines():
        m = DEBUG_LINE.match(line)
        if m:
            addr = int(m.group(3), 16)
            check(addr not in out, f"CPython printed object {m.group(3)} twice")
            out[addr] = (m.group(2), m.group(1))
    return out


def oracle_counter(objs):
    return collections.Counter(t for t, _ in objs.values())


# --- the shim's verdict -----------------------------------------------------

def unreachable(report):
    """{address: object} of every object in the report's unreachable groups."""
    out = {}
    for g in report.get("unreachable", []):
        for o in g["objects"]:
            a = int(o["address"], 16)
            check(a not in out, f"object {o['address']} is in two unreachable groups")
            out[a] = o
    return out


def shim_counter(objs):
    """Per-type counts keyed by the full tp_name (qualified_type), the name
    CPython's debug lines use; also checks that "type" is its last part
    (the type's __name__)."""
    c = collections.Counter()
    for o in objs.values():
        q = o["qualified_type"]
        check(o["type"] == q.rsplit(".", 1)[-1],
              f"object {o['address']}: type {o['type']!r} is not the __name__ of {q!r}")
        c[q] += 1
    return c


def fmt_counter(c):
    return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(c.items())) + "}"


def counter_diff(expected, seen):
    missing = expected - seen
    extra = seen - expected
    parts = []
    if missing:
        parts.append(f"missing from the report {fmt_counter(missing)}")
    if extra:
        parts.append(f"reported but not CPython's garbage {fmt_counter(extra)}")
    return "; ".join(parts)


def python_section(report, what):
    py = report.get("python")
    check(py is not None, f"{what}: the report has no \"python\" section "
                          f"(the adapter did not arm); detector {report.get('detector')}")
    det = report.get("detector") or {}
    check(det.get("source") == "interpreter",
          f"{what}: detector {det} did not examine the interpreter's objects")
    return py


def tail(text, n=2500):
    return text[-n:] if len(text) > n else text


def read_figures(path):
    """'key n n n' lines (atexit.txt, signal.txt) -> {key: int | [int]}."""
    out = {}
    with open(path) as fh:
        for line in fh:
            k, *vals = line.split()
            v = [int(x) for x in vals]
            out[k] = v[0] if len(v) == 1 else v
    return out


def run(argv, **kw):
    """run() in a directory of ours, so the script's other truth files
    (atexit.txt, signal.txt, types.json) can be read: they are in .files."""
    tmp = tempfile.mkdtemp(prefix="lptest.py.")
    try:
        r = running.run(argv, tmp=tmp, **kw)
        r.files = {}
        for name in ("atexit.txt", "signal.txt", "types.json"):
            p = os.path.join(tmp, name)
            if os.path.exists(p):
                if name.endswith(".json"):
                    with open(p) as fh:
                        r.files[name] = json.load(fh)
                else:
                    r.files[name] = read_figures(p)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return r


# --- ground truth the script states -----------------------------------------

def check_noted(truth, objs, what, shim):
    """Every object the script made garbage on purpose is there, by address,
    with its type; in the shim's report also with the description,
    refcount and generation the script states."""
    for n in truth["objects"]:
        a = int(n["id"], 16)
        o = objs.get(a)
        who = f"{n['type']} {n['id']} (case {n['case']})"
        check(o is not None, f"{what}: {who} is garbage the script made, not in "
                             f"{'the report' if shim else 'CPython verdict'}")
        tname = o["type"] if shim else o[0].rsplit(".", 1)[-1]
        check_eq(tname, n["type"], f"{what}: type of {who}")
        if not shim:
            continue
        d = n.get("description")
        if d and not d.startswith("stack:"):
            check_eq(o.get("description"), d, f"{what}: description of {who}")
        if n.get("refcount") is not None:
            check_eq(o.get("refcount"), n["refcount"], f"{what}: refcount of {who}")
        if n.get("generation") is not None:
            check_eq(o.get("generation"), n["generation"], f"{what}: generation of {who}")


def on_cycle(members, edges):
    """Members that lie on a cycle of edges (a node reaches itself)."""
    succ = {m: set() for m in members}
    for a, b in edges:
        succ[a].add(b)
    out = set()
    for m in members:
        seen, todo = set(), list(succ[m])
        while todo:
            x = todo.pop()
            if x == m:
                out.add(m)
                break
            if x not in seen:
                seen.add(x)
                todo.extend(succ[x])
    return out


def check_groups(truth, report, what):
    """Each group the script states is exactly one unreachable group of the
    report: same members, same edges (CPython's gc.get_referents between
    members), in_cycle as those edges say."""
    by_member = {}
    for g in report.get("unreachable", []):
        for o in g["objects"]:
            by_member[int(o["address"], 16)] = g
    for st in truth.get("groups", []):
        members = [int(x, 16) for x in st["members"]]
        g = by_member.get(members[0])
        check(g is not None, f"{what}: group of case {st['case']} ({st['members'][0]}) not reported")
        addrs = [int(o["address"], 16) for o in g["objects"]]
        check(set(addrs) == set(members) and len(addrs) == len(members),
              f"{what}: case {st['case']}: the reported group has {len(addrs)} objects "
              f"{[(o['address'], o['type']) for o in g['objects']][:10]}, the script made "
              f"{len(members)} {st['members']}")
        want_edges = {(int(a, 16), int(b, 16)) for a, b in st["edges"]}
        got_edges = set()
        for i, j in g["edges"]:
            check(0 <= i < len(addrs) and 0 <= j < len(addrs),
                  f"{what}: case {st['case']}: edge {[i, j]} out of range")
            got_edges.add((addrs[i], addrs[j]))
        check(got_edges == want_edges,
              f"{what}: case {st['case']}: edges {sorted((hex(a), hex(b)) for a, b in got_edges)}, "
              f"gc.get_referents says {sorted((hex(a), hex(b)) for a, b in want_edges)}")
        cyc = on_cycle(members, want_edges)
        for o in g["objects"]:
            a = int(o["address"], 16)
            check_eq(o["in_cycle"], a in cyc,
                            f"{what}: case {st['case']}: in_cycle of {o['type']} {o['address']}")
        check(g.get("bytes") == sum(o.get("size", 0) for o in g["objects"]),
              f"{what}: case {st['case']}: group bytes {g.get('bytes')} != sum of sizes")
