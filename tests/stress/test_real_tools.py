"""Real programs, unchanged under the shim: git on a scratch repository
(commits, branches, a merge, gc, fsck: many processes and threads), gcc
compiling a generated file (the object files must be identical, the
diagnostics of a broken file too) and sqlite3 on a 200000-row database.
Each command runs without the shim in one scratch directory and with it in
another; exit status and output must be the same, every process under the
shim must write a valid report, and the shim must say nothing on stderr."""
import json
import os
import shutil
import tempfile

from stresslib import Soft, check, check_consistent, count, main, plain, run, skip

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Lp Test", "GIT_AUTHOR_EMAIL": "lp@example.invalid",
    "GIT_COMMITTER_NAME": "Lp Test", "GIT_COMMITTER_EMAIL": "lp@example.invalid",
    "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1", "LANG": "C", "LC_ALL": "C", "TZ": "UTC",
    "GIT_TERMINAL_PROMPT": "0", "PAGER": "cat", "GIT_PAGER": "cat",
}


class Twin:
    """The same commands in two directories, without and with the shim."""

    def __init__(self, name, env=None):
        self.base = tempfile.mkdtemp(prefix=f"lpreal.{name}.")
        self.dirs = {k: os.path.join(self.base, k) for k in ("plain", "shim")}
        self.reports = os.path.join(self.base, "reports")
        for d in list(self.dirs.values()) + [self.reports]:
            os.makedirs(d)
        self.env = dict(env or {})
        self.processes = 0
        self.commands = 0

    def write(self, rel, text):
        for d in self.dirs.values():
            path = os.path.join(d, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)

    def both(self, soft, argv, stdin=None, timeout=120, compare_stderr=True):
        self.commands += 1
        what = " ".join(argv)[:80]
        env = dict(self.env, HOME=self.base)
        a = plain(argv, cwd=self.dirs["plain"], env=env, timeout=timeout,
                  input_=stdin.encode() if stdin else None)
        before = set(os.listdir(self.reports))
        b = run(argv, cwd=self.dirs["shim"], env=env, timeout=timeout,
                output=os.path.join(self.reports, "r.%p.%n.json"),
                input_=stdin.encode() if stdin else None)
        new = sorted(set(os.listdir(self.reports)) - before)
        self.processes += len(new)
        count(reports=len(new))
        with soft(what):
            check(a.rc == b.rc, f"exit status {b.rc} under the shim, {a.rc} without; "
                                f"stderr:\n{b.stderr[-800:]}")
            check(a.stdout == b.stdout, "stdout differs:\n" + diff(a.stdout, b.stdout))
            ours = [ln for ln in b.stderr.splitlines() if ln.startswith("leakprobe")]
            check(not ours, f"the shim wrote to the program's stderr: {ours[:3]}")
            if compare_stderr:
                check(a.stderr == b.stderr, "stderr differs:\n" + diff(a.stderr, b.stderr))
            check(new, "no process wrote a report")
            for f in new:
                check(".tmp." not in f, f"temporary report left: {f}")
                with open(os.path.join(self.reports, f)) as fh:
                    rep = json.load(fh)
                check(rep["reason"] == "exit", f"{f}: reason {rep['reason']}")
                check_consistent(rep, f"{f} ({rep['command'][:60]})")
                check(not rep.get("warnings"), f"{f}: warnings {rep.get('warnings')}")
        return a, b


def diff(x, y):
    import difflib
    return "\n".join(list(difflib.unified_diff(x.splitlines(), y.splitlines(), "plain", "shim",
                                               lineterm=""))[:30])


def git(soft):
    t = Twin("git", GIT_ENV)
    g = shutil.which("git")
    t.both(soft, [g, "init", "-q", "-b", "main", "."])
    for i in range(120):
        t.write(f"src/file{i:03d}.txt", "".join(f"line {j} of file {i}: {'x' * (j % 50)}\n"
                                               for j in range(200)))
    t.write("README", "needle in a haystack\n")
    t.both(soft, [g, "add", "-A"])
    t.both(soft, [g, "commit", "-q", "-m", "initial"])
    t.both(soft, [g, "checkout", "-q", "-b", "feature"])
    for i in range(0, 120, 3):
        t.write(f"src/file{i:03d}.txt", f"feature rewrite of {i}\n" * 50)
    t.both(soft, [g, "commit", "-q", "-am", "feature work"])
    t.both(soft, [g, "checkout", "-q", "main"])
    for i in range(1, 120, 5):
        t.write(f"src/file{i:03d}.txt", f"main rewrite of {i}\nneedle\n" * 30)
    t.both(soft, [g, "commit", "-q", "-am", "main work"])
    t.both(soft, [g, "merge", "-q", "--no-edit", "feature"])
    t.both(soft, [g, "log", "--oneline", "--graph", "--stat"])
    t.both(soft, [g, "diff", "HEAD~2", "--stat"])
    t.both(soft, [g, "grep", "-n", "needle"])
    t.both(soft, [g, "blame", "src/file001.txt"])
    t.both(soft, [g, "gc", "-q", "--prune=now"])
    t.both(soft, [g, "fsck", "--full", "--strict"])
    t.both(soft, [g, "count-objects", "-v"])
    t.both(soft, [g, "rev-list", "--all", "--objects"])
    t.both(soft, [g, "status", "--porcelain"])
    return t


def gcc(soft):
    t = Twin("gcc", {"LANG": "C", "LC_ALL": "C"})
    cc = shutil.which("gcc")
    lines = ["#include <stdio.h>"]
    for i in range(1500):
        lines.append(f"static int f{i}(int x) {{ int a[16]; for (int k = 0; k < 16; k++) "
                     f"a[k] = x * {i} + k; return a[x & 15] + (x > 3 ? f{max(i - 1, 0)}(x - 1) "
                     f": {i}); }}")
    lines.append("int main(int c, char **v) { long s = 0; "
                 + " ".join(f"s += f{i}(c);" for i in range(0, 1500, 7))
                 + ' printf("%ld\\n", s); return 0; }')
    t.write("big.c", "\n".join(lines) + "\n")
    t.write("bad.c", "int main(void) { undeclared_call(1); int x = \"str\"; return y; }\n")
    t.both(soft, [cc, "-O2", "-c", "big.c", "-o", "big.o"], timeout=180)
    with soft("gcc: identical object files"):
        with open(os.path.join(t.dirs["plain"], "big.o"), "rb") as a, \
                open(os.path.join(t.dirs["shim"], "big.o"), "rb") as b:
            check(a.read() == b.read(), "big.o differs")
    t.both(soft, [cc, "-O0", "big.c", "-o", "big"], timeout=180)
    t.both(soft, ["./big", "x", "y"])
    t.both(soft, [cc, "-Wall", "-fsyntax-only", "bad.c"])
    return t


SQL = """
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 200000)
INSERT INTO t SELECT x, (x * 7919 % 1000) || '-' || (x % 7), x / 3.0 FROM n;
CREATE INDEX ib ON t(b);
SELECT b, count(*), sum(a), printf('%.3f', avg(c)) FROM t GROUP BY b
  ORDER BY count(*) DESC, b LIMIT 10;
SELECT count(DISTINCT b), max(length(b)) FROM t;
UPDATE t SET b = upper(b) || 'x' WHERE a % 3 = 0;
DELETE FROM t WHERE a % 5 = 0;
SELECT count(*), total(c) FROM t;
WITH w AS (SELECT a, b, row_number() OVER (PARTITION BY substr(b, 1, 2) ORDER BY a DESC) AS r FROM t)
SELECT count(*) FROM w WHERE r < 4;
VACUUM;
PRAGMA integrity_check;
"""


def sqlite(soft):
    exe = shutil.which("sqlite3")
    if not exe:
        print("sqlite3 not installed: skipped (Debian package sqlite3)")
        return None
    t = Twin("sqlite", {"LANG": "C"})
    t.both(soft, [exe, "db.sqlite"], stdin=SQL, timeout=180)
    t.both(soft, [exe, "db.sqlite", "SELECT count(*) FROM t; PRAGMA integrity_check;"])
    return t


def test():
    for tool in ("git", "gcc"):
        if not shutil.which(tool):
            skip(f"{tool} not installed")
    soft = Soft()
    twins = [git(soft), gcc(soft), sqlite(soft)]
    n = sum(t.processes for t in twins if t)
    c = sum(t.commands for t in twins if t)
    print(f"{c} commands, {n} processes under the shim wrote a report")
    soft.raise_if_any()


main(test)
