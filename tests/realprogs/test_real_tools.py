"""Real programs a user would run, unchanged under the shim (suite
'realprogs'): git on a scratch repository (commits, branches, a merge, gc,
fsck: many processes and threads), gcc and g++ compiling (object files
identical, diagnostics too), sqlite3 on a 200000-row database, node
(`node -e`: JSON, sort, zlib, crypto, timers, a worker thread, a child
process), perl, xz (multi-threaded compression, round trip), bash
pipelines and a loop of `$(...)` command substitutions (a fork per
iteration), gdb in batch mode (`print 1`, and a program run to a
breakpoint).

Each command runs without the shim in one scratch directory and with it in
another; exit status, stdout and stderr must be the same (after dropping
lines that name a pid or a time, where the tool prints them), every
process under the shim must write one valid, consistent exit report, and
the shim must say nothing on stderr.  A few commands run once more with
the reports on stderr (LEAKPROBE_OUTPUT unset): stderr minus the JSON
reports must then be the plain run's.  Every command is bounded in time.

usage: test_real_tools.py [TOOL ...]   (default: all of them)"""
import json
import os
import re
import shutil
import sys
import tempfile

from lptest import text_without_reports
from lptest.stress import (Soft, check, check_consistent, count, main, plain, run,  # noqa: E402
                           skip)

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
        self.name = name
        self.base = tempfile.mkdtemp(prefix=f"lpreal.{name}.")
        self.dirs = {k: os.path.join(self.base, k) for k in ("plain", "shim")}
        self.reports = os.path.join(self.base, "reports")
        for d in list(self.dirs.values()) + [self.reports]:
            os.makedirs(d)
        self.env = dict(env or {"LANG": "C", "LC_ALL": "C"})
        self.processes = 0
        self.commands = 0

    def write(self, rel, text):
        for d in self.dirs.values():
            path = os.path.join(d, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)

    def same_file(self, soft, rel):
        with soft(f"{self.name}: {rel} identical"):
            with open(os.path.join(self.dirs["plain"], rel), "rb") as a, \
                    open(os.path.join(self.dirs["shim"], rel), "rb") as b:
                check(a.read() == b.read(), f"{rel} differs")

    def both(self, soft, argv, stdin=None, timeout=120, compare_stderr=True, strip=None,
             stderr_reports=False):
        """argv without and with the shim; strip: a regex of lines to drop
        from both outputs (pids, times).  stderr_reports: the reports go to
        stderr instead of files, and stderr minus them must be the same."""
        self.commands += 1
        what = f"{self.name}: " + re.sub(r"\s+", " ", " ".join(
            os.path.basename(a) if i == 0 else a for i, a in enumerate(argv)))[:90]
        if stderr_reports:
            what += " (reports on stderr)"
        env = dict(self.env, HOME=self.base)
        inp = stdin.encode() if stdin else None
        a = b = None
        with soft(what):
            a = plain(argv, cwd=self.dirs["plain"], env=env, timeout=timeout, input=inp)
            before = set(os.listdir(self.reports))
            # LEAKPROBE_OUTPUT unset: the reports go to stderr.
            env_b = dict(env, LEAKPROBE_OUTPUT=None) if stderr_reports else env
            b = run(argv, cwd=self.dirs["shim"], env=env_b, timeout=timeout,
                    output=os.path.join(self.reports, "r.%p.%n.json"), input=inp)
            new = sorted(set(os.listdir(self.reports)) - before)
            reps = []
            print(f"{what}: {a.elapsed:.1f} s plainly, {b.elapsed:.1f} s under the shim")
            for f in new:
                check(".tmp." not in f, f"temporary report left: {f}")
                with open(os.path.join(self.reports, f)) as fh:
                    try:
                        reps.append((f, json.load(fh)))
                    except json.JSONDecodeError as ex:
                        check(False, f"{f}: not valid JSON ({ex})")
            err_b = b.stderr
            if stderr_reports:
                reps += [(f"stderr #{i + 1}", r) for i, r in enumerate(b.stderr_reports)]
                err_b = text_without_reports(b.stderr)
            self.processes += len(reps)
            count(reports=len(new))
            check(a.rc == b.rc, f"exit status {b.rc} under the shim, {a.rc} without; "
                                f"stderr:\n{b.stderr[-800:]}")
            check(norm(a.stdout, strip) == norm(b.stdout, strip),
                  "stdout differs:\n" + diff(norm(a.stdout, strip), norm(b.stdout, strip)))
            ours = [ln for ln in err_b.splitlines() if ln.startswith("leakprobe")]
            check(not ours, f"the shim wrote to the program's stderr: {ours[:3]}")
            if compare_stderr:
                check(norm(a.stderr, strip) == norm(err_b, strip),
                      "stderr differs:\n" + diff(norm(a.stderr, strip), norm(err_b, strip)))
            check(reps, "no process wrote a report")
            pids = {}
            for f, rep in reps:
                check(rep["reason"] == "exit", f"{f}: reason {rep['reason']}")
                check_consistent(rep, f"{f} ({rep['command'][:60]})")
                check(not rep.get("warnings"), f"{f}: warnings {rep.get('warnings')}")
                pids[rep["pid"]] = pids.get(rep["pid"], 0) + 1
            twice = [p for p, n in pids.items() if n > 1]
            check(not twice, f"more than one exit report from pids {twice[:5]}")
        return a, b


def norm(s, strip):
    lines = s.splitlines()
    if strip:
        lines = [ln for ln in lines if not re.search(strip, ln)]
    return lines


def diff(x, y):
    import difflib
    return "\n".join(list(difflib.unified_diff(x, y, "plain", "shim", lineterm=""))[:30])


def need(soft, *tools):
    """Paths of tools, or None (and a message) when one is missing: the
    tool's Debian package is in tools/leakprobe's test_packages."""
    paths = [shutil.which(t) for t in tools]
    if not all(paths):
        missing = [t for t, p in zip(tools, paths) if not p]
        print(f"{', '.join(missing)} not installed: skipped (tools/leakprobe test installs it)")
        SKIPPED.extend(missing)
        return None
    return paths if len(paths) > 1 else paths[0]


SKIPPED = []


def git(soft):
    g = need(soft, "git")
    if not g:
        return None
    t = Twin("git", GIT_ENV)
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
    # gc's delta search runs a thread per CPU and takes deltas in the order
    # its threads finish, so the pack's size may differ by a KiB between
    # any two runs (git-config: pack.threads); what it packed may not.
    t.both(soft, [g, "count-objects", "-v"], strip=r"^size-pack:")
    t.both(soft, [g, "rev-list", "--all", "--objects"])
    t.both(soft, [g, "status", "--porcelain"])
    return t


def gcc(soft):
    cc = need(soft, "gcc")
    if not cc:
        return None
    t = Twin("gcc")
    lines = ["#include <stdio.h>"]
    for i in range(400):
        lines.append(f"static int f{i}(int x) {{ int a[16]; for (int k = 0; k < 16; k++) "
                     f"a[k] = x * {i} + k; return a[x & 15] + (x > 3 ? f{max(i - 1, 0)}(x - 1) "
                     f": {i}); }}")
    lines.append("int main(int c, char **v) { long s = 0; "
                 + " ".join(f"s += f{i}(c);" for i in range(0, 400, 7))
                 + ' printf("%ld\\n", s); return 0; }')
    t.write("big.c", "\n".join(lines) + "\n")
    t.write("bad.c", "int main(void) { undeclared_call(1); int x = \"str\"; return y; }\n")
    t.both(soft, [cc, "-O2", "-c", "big.c", "-o", "big.o"], timeout=180)
    t.same_file(soft, "big.o")
    t.both(soft, [cc, "-O0", "big.c", "-o", "big"], timeout=180)
    t.both(soft, ["./big", "x", "y"])
    t.both(soft, [cc, "-Wall", "-fsyntax-only", "bad.c"])
    return t


CXX = r"""
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

template <typename T> struct Tree {
	std::map<std::string, std::unique_ptr<Tree>> kids;
	T value{};
};

static int parse(const std::string &s)
{
	if (s.empty())
		throw std::invalid_argument("empty");
	return std::stoi(s);
}

int main(int argc, char **argv)
{
	Tree<long> root;
	for (int i = 0; i < 20000; i++) {
		auto &k = root.kids["k" + std::to_string(i % 997)];
		if (!k)
			k = std::make_unique<Tree<long>>();
		k->value += i;
	}
	std::vector<std::thread> ts;
	std::vector<long> sums(4);
	for (int t = 0; t < 4; t++)
		ts.emplace_back([&sums, t] {
			std::vector<std::string> v;
			for (int i = 0; i < 5000; i++)
				v.push_back(std::to_string(i * (t + 1)));
			std::sort(v.begin(), v.end());
			for (auto &s : v)
				sums[t] += s.size();
		});
	for (auto &t : ts)
		t.join();
	int caught = 0;
	for (const char *s : {"12", "", "x", "7"}) {
		try {
			parse(s);
		} catch (const std::exception &e) {
			caught++;
			std::cerr << "caught: " << e.what() << "\n";
		}
	}
	std::ostringstream o;
	o << root.kids.size() << " " << root.kids["k5"]->value << " " << sums[0] + sums[3]
	  << " " << caught << " " << argc << (argc > 1 ? argv[1] : "");
	std::cout << o.str() << std::endl;
	return caught == 2 ? 0 : 1;
}
"""


def gxx(soft):
    cxx = need(soft, "g++")
    if not cxx:
        return None
    t = Twin("g++")
    t.write("prog.cpp", CXX)
    t.write("bad.cpp", "#include <vector>\nint main() { std::vector<int> v; v.push_back(\"s\"); "
                       "return v.nope(); }\n")
    t.both(soft, [cxx, "-O2", "-std=gnu++17", "-c", "prog.cpp", "-o", "prog.o"], timeout=180)
    t.same_file(soft, "prog.o")
    t.both(soft, [cxx, "-pthread", "prog.o", "-o", "prog"], timeout=120)
    t.both(soft, ["./prog", "arg"])
    t.both(soft, [cxx, "-fsyntax-only", "bad.cpp"], timeout=120)
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
    exe = need(soft, "sqlite3")
    if not exe:
        return None
    t = Twin("sqlite3")
    t.both(soft, [exe, "db.sqlite"], stdin=SQL, timeout=180)
    t.both(soft, [exe, "db.sqlite", "SELECT count(*) FROM t; PRAGMA integrity_check;"])
    t.both(soft, [exe, "db.sqlite", "SELECT nope FROM t;"], stderr_reports=True)
    return t


NODE = r"""
const zlib = require('zlib'), crypto = require('crypto');
const { Worker } = require('worker_threads');
const { execFileSync } = require('child_process');
const a = [];
for (let i = 0; i < 200000; i++) a.push({ i, s: 'x' + (i * 7919 % 100003) });
a.sort((x, y) => (x.s < y.s ? -1 : x.s > y.s ? 1 : x.i - y.i));
const z = zlib.gzipSync(Buffer.from(JSON.stringify(a)), { level: 6 });
console.log(a.length, a[0].s, a[a.length - 1].s, zlib.gunzipSync(z).length,
            crypto.createHash('sha256').update(z).digest('hex'));
const m = new Map();
for (let i = 0; i < 100000; i++) m.set('k' + (i % 5003), (m.get('k' + (i % 5003)) || 0) + i);
console.log(m.size, m.get('k17'));
console.log(execFileSync('sh', ['-c', 'echo child $((6 * 7))']).toString().trim());
const w = new Worker(`const { parentPort } = require('worker_threads');
  let s = 0; for (let i = 0; i < 1e6; i++) s += i % 7; parentPort.postMessage(s);`,
  { eval: true });
w.on('message', (s) => {
  console.log('worker', s);
  Promise.all([1, 2, 3].map((x) => new Promise((r) => setTimeout(() => r(x * x), 10 * x))))
    .then((v) => { console.log('timers', v.join(',')); process.exitCode = 3; });
});
"""


def node(soft):
    exe = need(soft, "node")
    if not exe:
        return None
    t = Twin("node")
    t.both(soft, [exe, "-e", NODE], timeout=120)
    t.both(soft, [exe, "-e", "console.log([3,1,2].sort().join(' ')); "
                             "console.error('to stderr'); process.exit(7)"], timeout=60)
    t.both(soft, [exe, "-e", "null.x"], timeout=60, strip=r"^Node\.js v|^\s+at ")
    return t


PERL = r"""
use strict; use warnings;
my %h; my @w;
for my $i (1 .. 100000) { my $k = sprintf("k%04d", ($i * 7919) % 9973); $h{$k} += $i; }
for my $k (sort { $h{$b} <=> $h{$a} || $a cmp $b } keys %h) { push @w, "$k=$h{$k}"; }
my $text = join(",", @w);
(my $t2 = $text) =~ s/k(\d+)=(\d+)/sprintf("%s:%x", $1, $2)/ge;
my @parts = split /,/, $t2;
my $out = `echo from a child`; chomp $out;
print scalar(keys %h), " ", $w[0], " ", $w[-1], " ", length($t2), " ", $parts[1], " $out\n";
warn "a warning\n";
exit 5;
"""


def perl(soft):
    exe = need(soft, "perl")
    if not exe:
        return None
    t = Twin("perl")
    t.both(soft, [exe, "-e", PERL], timeout=120)
    t.both(soft, [exe, "-e", PERL], timeout=120, stderr_reports=True)
    t.both(soft, [exe, "-MDigest::MD5=md5_hex", "-MList::Util=sum", "-e",
                  "print md5_hex(join q(,), 1..50000), q( ), sum(1..50000), qq(\\n)"])
    return t


def xz(soft):
    exe = need(soft, "xz")
    if not exe:
        return None
    t = Twin("xz")
    t.write("data.txt", "".join(f"{i} {i * i % 100003} {'abcdefgh'[i % 8] * (i % 40)}\n"
                                for i in range(150000)))
    t.both(soft, [exe, "-k", "-T2", "-6", "data.txt"], timeout=180)
    t.same_file(soft, "data.txt.xz")
    t.both(soft, [exe, "-t", "-v", "data.txt.xz"], timeout=120)
    t.both(soft, [exe, "-d", "-c", "data.txt.xz"], timeout=120)
    t.both(soft, [exe, "-d", "-T2", "-f", "-k", "data.txt.xz"], timeout=120)
    t.same_file(soft, "data.txt")
    t.both(soft, [exe, "-l", "data.txt.xz"])
    t.both(soft, [exe, "-d", "-c", "data.txt"])  # not xz: an error and its status
    return t


BASH_PIPE = ("seq 1 200000 | awk '{ print $1 % 977, $1 }' | sort -k1,1n -k2,2nr | "
             "awk '{ c[$1]++ } END { for (k in c) print k, c[k] }' | sort -n | uniq -c -f1 | "
             "tail -n 3; echo \"status ${PIPESTATUS[*]}\"; set -o pipefail; "
             "false | true; echo \"pipefail $?\"")
BASH_LOOP = ("n=0; for i in $(seq 1 20); do x=$(printf '%05d' \"$i\" | tr 0-9 a-j); "
             "y=$(echo \"$x\" | rev); n=$((n + ${#y} + i)); done; echo \"n=$n\"; "
             "f() { echo \"$(( $1 * 2 ))\"; }; s=0; for i in {1..20}; do "
             "s=$(( s + $(f $i) )); done; echo \"s=$s\"; "
             "while read -r a b; do echo \"$b$a\"; done <<< $'1 one\\n2 two'; exit 4")


def bash(soft):
    exe = need(soft, "bash")
    if not exe:
        return None
    t = Twin("bash")
    t.both(soft, [exe, "-c", BASH_PIPE], timeout=120)
    t.both(soft, [exe, "-c", BASH_LOOP], timeout=180)
    t.both(soft, [exe, "-c", "ls /nonexistent-lp; trap 'echo trapped' USR2; kill -USR2 $$; "
                             "sleep 0.1 & wait; echo done"], timeout=60)
    return t


GDB_PROG = r"""
#include <stdio.h>
#include <stdlib.h>
static int depth(int n) { return n ? 1 + depth(n - 1) : 0; }
int stop_here(int x) { return x * 2; }
int main(void)
{
	char *p = malloc(100);
	int r = stop_here(depth(10));
	printf("r=%d\n", r);
	free(p);
	return 3;
}
"""


def gdb(soft):
    tools = need(soft, "gdb", "gcc")
    if not tools:
        return None
    exe, cc = tools
    t = Twin("gdb")
    t.write("prog.c", GDB_PROG)
    t.both(soft, [exe, "-nx", "-batch", "-ex", "print 1", "-ex", "print 6 * 7",
                  "-ex", "python print(sum(range(10)))"], timeout=120)
    t.both(soft, [cc, "-O0", "-g", "prog.c", "-o", "prog"], timeout=120)
    # The program under gdb inherits the environment: it reports too.  The
    # one deviation, documented (docs/design.md, known limits): gdb reports
    # the clone and vfork that name the exit report's frames (the
    # symbolizer's supervisor and helper) as a new thread and a vfork.
    t.both(soft, [exe, "-nx", "-batch", "-ex", "break stop_here", "-ex", "run",
                  "-ex", "bt", "-ex", "print x", "-ex", "finish", "-ex", "continue",
                  "./prog"], timeout=180,
           strip=r"^\[Inferior \d+ \(process \d+\)|^\[Thread debugging|^Using host libthread_db"
                 r"|^Run till exit|^warning: Error disabling address space randomization"
                 r"|^\[New Thread 0x[0-9a-f]+ \(LWP \d+\)\]$|^\[Thread 0x[0-9a-f]+ \(LWP \d+\) exited\]$"
                 r"|^\[Detaching after vfork from child process \d+\]$")
    return t


TOOLS = {"git": git, "gcc": gcc, "g++": gxx, "sqlite3": sqlite, "node": node, "perl": perl,
         "xz": xz, "bash": bash, "gdb": gdb}


def test():
    chosen = sys.argv[1:] or list(TOOLS)
    soft = Soft()
    twins = [TOOLS[name](soft) for name in chosen]
    if not any(twins):
        skip(f"none of {', '.join(chosen)} installed (tools/leakprobe test installs them)")
    n = sum(t.processes for t in twins if t)
    c = sum(t.commands for t in twins if t)
    print(f"{c} commands, {n} processes under the shim wrote a report"
          + (f"; not installed: {', '.join(SKIPPED)}" if SKIPPED else ""))
    for t in twins:
        if t:
            shutil.rmtree(t.base, ignore_errors=True)
    soft.done()


main(test, name="realprogs_tools")
