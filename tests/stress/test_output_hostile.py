"""Hostile report paths (the basic symlink and unwritable cases are in
tests/integration): an attacker racing on the final and temporary names
with symlinks, FIFOs and hard links to a victim file during 6000 reports; a
FIFO without a reader; a missing directory; unknown % escapes; paths past
PATH_MAX (the option itself, its expansion, one long component, a final
name that fits when its temporary name does not, a cwd deeper than
PATH_MAX).  Never a byte in the victim, never a hang; each report lands
in the file or, with a warning that says why, on stderr."""
import os
import stat
import subprocess
import tempfile
import threading

from lptest.stress import (Soft, check, check_consistent, check_truth, count, finish, main,
                           prog, run, start)

VICTIM = "victim content: must never change\n"
N_RACE = 6000  # cheap reports (LEAKPROBE_DEPTH=0): many tries at the race windows


def delivered_once(r, what, n_reports, files):
    """n_reports reports in all, each in a file or on stderr; one warning
    per report on stderr; the exit report exact."""
    on_stderr = len(r.stderr_reports)
    check(on_stderr + files == n_reports,
          f"{what}: {on_stderr} reports on stderr + {files} in files, expected {n_reports}; "
          f"stderr:\n{r.stderr[-1500:]}")
    warns = r.warnings()
    check(len(warns) >= on_stderr, f"{what}: {on_stderr} reports on stderr, {len(warns)} warnings")
    ex = r.exit_report()
    check_truth(ex, r.truth)
    check_consistent(ex, what)
    return warns


def simple(soft, what, output, load_files=None, cwd=None, preexec_fn=None, warn_has=None):
    """One report (at exit); load_files(r) returns the reports it finds in
    files outside the run's temporary directory."""
    r = run([prog("out_reports"), "0"], input=b"go\nexit\n", output=output, timeout=20,
            cwd=cwd, preexec_fn=preexec_fn)
    with soft(what):
        check(r.rc == 0, f"exit status {r.rc}; stderr:\n{r.stderr[-800:]}")
        extra = load_files(r) if load_files else []
        r.reports.extend(extra)
        warns = delivered_once(r, what, 1, len(extra))
        if warn_has:
            check(any(warn_has in w for w in warns), f"no warning mentions {warn_has!r}: {warns}")
        print(f"{what}: {len(extra)} in files, {len(r.stderr_reports)} on stderr; "
              f"warnings {[w[:160] for w in warns]}")
    return r


def race(soft):
    d = tempfile.mkdtemp(prefix="lprace.")
    victim = os.path.join(d, "victim")
    with open(victim, "w") as f:
        f.write(VICTIM)
    os.chmod(victim, 0o644)
    argv = [prog("out_reports"), str(N_RACE)]
    p = start(argv, output=os.path.join(d, "r.json"), stdin=subprocess.PIPE,
              env={"LEAKPROBE_DEPTH": "0"})
    racer = subprocess.Popen([prog("out_racer"), d, "r.json", f"r.json.tmp.{p.pid}", victim],
                             stdout=subprocess.PIPE, start_new_session=True)
    p.stdin.write(b"go\n")
    p.stdin.flush()
    line = []
    t = threading.Thread(target=lambda: line.append(p.stdout.readline()))
    t.start()
    t.join(120)
    open(os.path.join(d, "stop"), "w").close()
    try:
        rout, _ = racer.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        racer.kill()
        rout = b"racer killed"
    clobbers = int(rout.split()[-1]) if rout.startswith(b"swaps") else -1
    with soft("race: the victim is untouched"):
        with open(victim) as f:
            got = f.read()
        check(clobbers == 0, f"the victim was overwritten {clobbers} times (the racer restored it "
                             f"each time; racer said {rout!r})")
        check(got == VICTIM, f"victim now starts {got[:120]!r}")
        check(stat.S_IMODE(os.stat(victim).st_mode) == 0o644, "victim mode changed")
    # The racer is gone: a clean name for the exit report.
    for name in ("r.json", f"r.json.tmp.{p.pid}"):
        try:
            os.unlink(os.path.join(d, name))
        except FileNotFoundError:
            pass
    if not line or not line[0]:
        p.kill()
    try:
        p.stdin.write(b"exit\n")
        p.stdin.close()
    except BrokenPipeError:
        pass
    p.stdin = None
    r = finish(p, timeout=60)
    count(reports=1)  # the exit report in d/r.json
    print(f"race: {rout.decode().strip()}; {len(r.stderr_reports)} of {N_RACE} reports "
          f"fell back to stderr; {r.elapsed:.1f} s")
    with soft("race: every report delivered, the exit report exact"):
        check(r.rc == 0, f"exit status {r.rc}; stderr:\n{r.stderr[-800:]}")
        check(line and line[0].startswith(b"done"), "the program did not finish its reports")
        final = os.path.join(d, "r.json")
        st = os.lstat(final)
        check(stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
              f"r.json mode {oct(st.st_mode)}")
        import json
        with open(final) as f:
            ex = json.load(f)
        check(ex["reason"] == "exit", f"r.json holds a {ex['reason']} report")
        check_consistent(ex, "race: exit report")
        # No stacks at depth 0: the program's 2 x 96 B are in the one site.
        check(ex["heap"]["live_blocks"] >= 2 and ex["heap"]["live_bytes"] >= 192,
              f"the program's leaks are missing: {ex['heap']}")
        check(len(r.stderr_reports) <= N_RACE, "more reports than asked for")
        check(all(x["reason"] == "api" for x in r.stderr_reports), "odd report on stderr")
        check(len(r.warnings()) == len(r.stderr_reports),
              f"{len(r.warnings())} warnings for {len(r.stderr_reports)} reports on stderr")
        left = [f for f in os.listdir(d) if ".tmp." in f and not os.path.islink(os.path.join(d, f))]
        check(not left, f"temporary files left: {left}")


def deep_dir(base, total):
    """A chain of directories whose path, from base, is about `total`
    characters; returns the relative path."""
    parts, length = [], len(base)
    while length + 201 < total:
        parts.append("d" * 200)
        length += 201
    rel = "/".join(parts)
    fd = os.open(base, os.O_RDONLY)
    for part in parts:
        os.mkdir(part, dir_fd=fd)
        nfd = os.open(part, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    os.close(fd)
    return rel


def test():
    soft = Soft()
    race(soft)

    d = tempfile.mkdtemp(prefix="lpout.")
    fifo = os.path.join(d, "r.fifo")
    os.mkfifo(fifo)
    simple(soft, "FIFO without a reader: no hang", fifo)
    with soft("FIFO without a reader: still a FIFO"):
        check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced")

    missing = os.path.join(d, "missing", "sub", "r.%p.json")
    simple(soft, "missing directory", missing, warn_has=os.path.join(d, "missing"))
    with soft("missing directory: not created"):
        check(not os.path.exists(os.path.join(d, "missing")), "the directory was created")

    # Unknown escapes are kept literally; %% is a percent; a trailing % stays.
    r = run([prog("out_reports"), "2"], input=b"go\nexit\n",
            output=os.path.join(d, "r.%x.%p.%%p.%n.%"), timeout=20)
    with soft("unknown % escapes"):
        check(r.rc == 0, f"exit status {r.rc}")
        names = sorted(f for f in os.listdir(d) if f.startswith("r.%x."))
        want = sorted(f"r.%x.{r.pid}.%p.{n}.%" for n in (1, 2, 3))
        check(names == want, f"files {names}, expected {want}")
        warns = [w for w in r.warnings() if "%" in w]
        check(1 <= len(warns) <= 3, f"{len(warns)} warnings for 3 reports: {warns}")
        print(f"unknown % escapes: {len(warns)} warnings for 3 reports: {warns[0][:150]}")

    simple(soft, "pattern longer than the option allows", os.path.join(d, "a" * 5000),
           warn_has="LEAKPROBE_OUTPUT")
    simple(soft, "expansion past PATH_MAX", os.path.join(d, "%p" * 1500),
           warn_has="too long")
    simple(soft, "a component past NAME_MAX", os.path.join(d, "b" * 300 + ".json"),
           warn_has="long")

    # A final name that fits PATH_MAX while "<final>.tmp.<pid>" does not.
    rel = deep_dir(d, 4060)
    final = os.path.join(d, rel, "r." + "x" * max(1, 4090 - len(d) - len(rel) - 3))
    check(len(final) <= 4095, f"final {len(final)}")
    r = run([prog("out_reports"), "0"], input=b"go\nexit\n", output=final, timeout=20)
    with soft("final name fits, temporary name past PATH_MAX"):
        check(r.rc == 0, f"exit status {r.rc}")
        infile = 0
        try:
            os.stat(final)
            infile = 1
        except OSError:
            pass
        warns = delivered_once(r, "long final name", 1, infile)
        print(f"long final name ({len(final)} chars): {'file' if infile else 'stderr'}; "
              f"warnings {[w[:120] for w in warns]}")

    # cwd deeper than PATH_MAX, relative output: the report lands there.
    deep = tempfile.mkdtemp(prefix="lpdeep.")
    rel = deep_dir(deep, 5000)

    def enter():
        os.chdir(deep)
        for part in rel.split("/"):
            os.chdir(part)
    def load_deep(r):
        import json
        fd = os.open(deep, os.O_RDONLY)
        for part in rel.split("/"):
            nfd = os.open(part, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        found = []
        for name in os.listdir(fd):
            if name == f"r.{r.pid}.json":
                rfd = os.open(name, os.O_RDONLY, dir_fd=fd)
                with os.fdopen(rfd) as f:
                    found.append(json.load(f))
        os.close(fd)
        check(found, "no report in the deep directory")
        return found
    simple(soft, "cwd deeper than PATH_MAX, relative path", "r.%p.json",
           load_files=load_deep, preexec_fn=enter)
    soft.done()


main(test)
