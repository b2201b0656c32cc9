"""The symbolizer runs in a process of its own without the program
noticing, and when it cannot run nothing is lost.

Invisible (sym_host, each mode compared with a run without the shim):
its own SIGCHLD handler counts exactly its own child through two API
reports and a signal report; a thread blocked in wait() reaps exactly
its own child, never EINTR, then ECHILD; with SIGCHLD ignored the program
is unchanged.  In each, the reports' frames are really named by the helper
(the static leak_static with its file:line, which dladdr cannot give).

Fallback: a missing helper, LEAKPROBE_SYMBOLIZER=none, a file that is not
executable, execve refused by seccomp, no process left (RLIMIT_NPROC, run
as nobody), a helper that hangs (killed after
LEAKPROBE_SYMBOLIZER_TIMEOUT, not run again by the next report, no process
left behind), one that answers garbage, half the addresses, or aborts:
the report is still written with exact leaks, module+offset on every
frame, dladdr's name for the exported leak_exported, and one warning
saying why (stderr and the JSON "warnings"), none for "none".  Under an
RLIMIT_FSIZE smaller than the request, the helper is not used (writing
the request would raise SIGXFSZ in the program)."""
import os
import resource
import shutil
import signal
import tempfile
import time

from lptest import (Session, Soft, check, check_eq, check_leaks, json_reports_in_text, main,
                    prog, run, sites_with)

HOST = prog("sym_host")


def leak_frames(rep, function):
    return [f for s in sites_with(rep, function) for f in s["stack"] if f["function"] == function]


def named_by_helper(soft, what, rep):
    frames = leak_frames(rep, "leak_static")
    soft(check, frames and all((f["file"] or "").endswith("sym_host.c") and f["line"] > 0
                               for f in frames),
         f"{what}: leak_static not named with file:line (the helper did not run?): "
         f"{frames[:1]}; warnings {rep.get('warnings')}")


def same_as_plain(soft, what, r, plain):
    soft(check_eq, r.stdout, plain.stdout, f"{what}: stdout (vs without the shim)")
    soft(check_eq, r.rc, plain.rc, f"{what}: exit code")


def invisible(soft):
    for mode in ("waiter", "ignore"):
        plain = run([HOST, mode], shim=False)
        r = run([HOST, mode])
        same_as_plain(soft, mode, r, plain)
        soft(check_eq, r.warnings(), [], f"{mode}: warnings")
        soft(check, "reaped other" not in r.stdout and "EINTR" not in r.stdout,
             f"{mode}: {r.stdout!r}")
        for rep in r.reports:
            named_by_helper(soft, f"{mode} report {rep['seq']} ({rep['reason']})", rep)
        soft(check_eq, sorted(x["reason"] for x in r.reports),
             ["api", "api", "exit"] if mode == "waiter" else ["api", "exit"], f"{mode}: reports")
        print(f"{mode}: {r.stdout.strip()}")

    # Its own SIGCHLD handler, through two API reports and a signal report.
    plain = run([HOST, "sigchld"], shim=False, input=b"\n")
    with Session([HOST, "sigchld"]) as s:
        s.expect("ready")
        os.kill(s.pid, signal.SIGUSR1)
        s.wait_report(3)
        s.send("\n")
        r = s.finish()
    same_as_plain(soft, "sigchld", r, plain)
    soft(check, "sigchld 1\n" in plain.stdout, f"without the shim: {plain.stdout!r}")
    soft(check_eq, sorted(x["reason"] for x in r.reports), ["api", "api", "exit", "signal"],
         "sigchld: reports")
    for rep in r.reports:
        named_by_helper(soft, f"sigchld report {rep['seq']} ({rep['reason']})", rep)
    print(f"sigchld: {r.stdout.strip()!r}")


def signals_open(soft, tmp):
    """While the report thread waits for the helper its signals stay open:
    two SIGUSR2 sent 100 ms apart during an API report (the helper takes
    1.5 s) both reach the program's handler (blocked, they would merge
    into one)."""
    link = os.path.join(tmp, "slow")
    os.symlink(prog("fake_symbolizer"), link)
    work = os.path.join(tmp, "slow-cwd")
    os.mkdir(work)
    with Session([HOST, "signals", work], env={"LEAKPROBE_SYMBOLIZER": link}) as s:
        s.expect("ready")
        deadline = time.monotonic() + 10
        while not os.path.exists(os.path.join(work, "slow.pid")):
            check(time.monotonic() < deadline, "the slow helper did not start within 10 s")
            time.sleep(0.005)
        for _ in range(2):
            os.kill(s.pid, signal.SIGUSR2)
            time.sleep(0.1)
        r = s.finish()
    soft(check_eq, r.stdout.splitlines()[-1:], ["usr2 2"],
         "SIGUSR2 sent twice while the report waited for the helper")


def exact_leaks(soft, what, rep, truth):
    """leak_exported by its (dladdr) name; leak_static, which has none
    without the helper, as the one site of its blocks and bytes whose
    first frame is in the program (module+offset)."""
    soft(check_leaks, rep, [l for l in truth["leaks"] if l["function"] == "leak_exported"], what)
    static = next(l for l in truth["leaks"] if l["function"] == "leak_static")
    hits = [x for x in rep["sites"] if (x["blocks"], x["bytes"]) == (static["blocks"], static["bytes"])
            and (x["stack"][0]["module"] or "").endswith("/sym_host")]
    soft(check_eq, len(hits), 1, f"{what}: sites of leak_static's {static['blocks']} blocks, "
                                 f"{static['bytes']} bytes in sym_host")


def fallback_report(soft, what, r, warned=True, dladdr=True):
    """Written, exact, module+offset everywhere, dladdr names; one warning."""
    soft(check_eq, r.rc, 0, f"{what}: exit code")
    rep = r.report("exit")
    if dladdr:
        exact_leaks(soft, what, rep, r.truth)
    frames = [f for s in rep["sites"] for f in s["stack"]]
    soft(check, frames and all(f["module"] and f["offset"] for f in frames),
         f"{what}: a frame without module+offset")
    if dladdr:
        soft(check, leak_frames(rep, "leak_exported"), f"{what}: leak_exported not named by dladdr")
    warns = r.warnings()
    if warned:
        soft(check_eq, len(warns), 1, f"{what}: warnings on stderr {warns}")
        soft(check_eq, len(rep["warnings"]), 1, f"{what}: the report's warnings")
    else:
        soft(check_eq, warns + rep["warnings"], [], f"{what}: warnings")
    return rep


def nproc(soft):
    """RLIMIT_NPROC reached (as nobody: root is exempt): clone fails.  The
    limit of 2 leaves room for the program and the shim's report thread.
    Only the program is preloaded (setpriv itself is not under test)."""
    tools = [shutil.which(t) for t in ("prlimit", "setpriv", "env")]
    if os.geteuid() != 0 or not all(tools):
        print("RLIMIT_NPROC: not checked (needs root, prlimit and setpriv)")
        return
    out = tempfile.mkdtemp(prefix="lptest.nproc.")
    os.chmod(out, 0o1777)
    try:
        e = {"LEAKPROBE_FORMAT": "json", "LEAKPROBE_OUTPUT": os.path.join(out, "r.%p.json"),
             "LP_TRUTH": os.path.join(out, "truth.json"), "LD_PRELOAD": os.environ["LP_SHIM"]}
        argv = [tools[0], "--nproc=2:2", tools[1], "--reuid=65534", "--regid=65534",
                "--clear-groups", "--", tools[2]] + [f"{k}={v}" for k, v in e.items()] + [HOST]
        r = run(argv, shim=False, tmp=out)
        rep = fallback_report(soft, "RLIMIT_NPROC", r)
        soft(check, "EAGAIN" in " ".join(rep["warnings"]), f"RLIMIT_NPROC: {rep['warnings']}")
    finally:
        shutil.rmtree(out, ignore_errors=True)


def fallbacks(soft, tmp):
    r = run([HOST], env={"LEAKPROBE_SYMBOLIZER": os.path.join(tmp, "nowhere")})
    rep = fallback_report(soft, "missing helper", r)
    soft(check, "not found" in " ".join(rep["warnings"]), f"missing: {rep['warnings']}")

    fallback_report(soft, "LEAKPROBE_SYMBOLIZER=none", run([HOST], env={"LEAKPROBE_SYMBOLIZER": "none"}),
                    warned=False)

    noexec = os.path.join(tmp, "noexec")
    shutil.copy(os.environ["LP_SYMBOLIZER"], noexec)
    os.chmod(noexec, 0o644)
    rep = fallback_report(soft, "not executable", run([HOST], env={"LEAKPROBE_SYMBOLIZER": noexec}))
    soft(check, "EACCES" in " ".join(rep["warnings"]), f"not executable: {rep['warnings']}")

    r = run([HOST, "seccomp"])
    if "seccomp unavailable" in r.stdout:
        print(f"seccomp: {r.stdout.strip()}: not checked")
    else:
        rep = fallback_report(soft, "execve refused (seccomp)", r)
        soft(check, "EPERM" in " ".join(rep["warnings"]), f"seccomp: {rep['warnings']}")

    # RLIMIT_FSIZE below the request: writing it would raise SIGXFSZ in
    # the program.  The report goes to stderr (a pipe: no limit there).
    def small_fsize():
        resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))
    r = run([HOST], json_reports=False, preexec_fn=small_fsize,
            env={"LEAKPROBE_FORMAT": "json", "LP_TRUTH": "/dev/null"})
    soft(check_eq, r.rc, 0, f"RLIMIT_FSIZE 100: exit code ({r.stderr[-300:]})")
    reps = json_reports_in_text(r.stderr)
    soft(check_eq, len(reps), 1, "RLIMIT_FSIZE 100: reports on stderr")
    if reps:
        soft(check, "RLIMIT_FSIZE" in " ".join(reps[0]["warnings"]),
             f"RLIMIT_FSIZE 100: warnings {reps[0]['warnings']}")
        soft(check_leaks, reps[0], [{"function": "leak_exported", "blocks": 3, "bytes": 48}],
             "RLIMIT_FSIZE 100")

    nproc(soft)

    fake = prog("fake_symbolizer")
    links = {}
    for mode in ("hang", "garbage", "half", "crash"):
        links[mode] = os.path.join(tmp, mode)
        os.symlink(fake, links[mode])

    # Hangs: killed after the timeout; the second report does not run it.
    work = os.path.join(tmp, "cwd")
    os.mkdir(work)
    t0 = time.monotonic()
    r = run([HOST, "waiter"], cwd=work, timeout=60,
            env={"LEAKPROBE_SYMBOLIZER": links["hang"], "LEAKPROBE_SYMBOLIZER_TIMEOUT": "300"})
    took = time.monotonic() - t0
    soft(check, took < 5, f"hang: the run took {took:.1f} s with a 300 ms timeout")
    soft(check_eq, r.rc, 0, "hang: exit code")
    soft(check_eq, len(r.reports), 3, "hang: reports written")
    notes = [x["warnings"] for x in sorted(r.reports, key=lambda x: x["seq"])]
    soft(check, "killed" in " ".join(notes[0]), f"hang: first report's warnings {notes[0]}")
    soft(check, all("not run" in " ".join(n) for n in notes[1:]), f"hang: later reports {notes[1:]}")
    for rep in r.reports:
        exact_leaks(soft, f"hang report {rep['seq']}", rep, r.truth)
    soft(check_eq, len(r.warnings()), 3, f"hang: one warning per report: {r.warnings()}")
    with open(os.path.join(work, "fake.pid")) as fh:
        pid = int(fh.read())
    soft(check, not os.path.exists(f"/proc/{pid}"), f"hang: the helper {pid} is still there")

    rep = fallback_report(soft, "garbage", run([HOST], env={"LEAKPROBE_SYMBOLIZER": links["garbage"]}))
    rep = fallback_report(soft, "half", run([HOST], env={"LEAKPROBE_SYMBOLIZER": links["half"]}),
                          dladdr=False)
    names = [f["function"] for s in rep["sites"] for f in s["stack"]]
    soft(check, "fake_name" in names, f"half: the answers it gave are not used: {names[:8]}")
    soft(check, "answered for" in " ".join(rep["warnings"]), f"half: {rep['warnings']}")
    rep = fallback_report(soft, "crash", run([HOST], env={"LEAKPROBE_SYMBOLIZER": links["crash"]}))
    soft(check, "signal 6" in " ".join(rep["warnings"]), f"crash: {rep['warnings']}")


def test():
    check(os.path.exists(os.environ.get("LP_SYMBOLIZER", "")), "LP_SYMBOLIZER is not built")
    tmp = tempfile.mkdtemp(prefix="lptest.symproc.")
    soft = Soft()
    try:
        invisible(soft)
        signals_open(soft, tmp)
        fallbacks(soft, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    soft.done()


main(test)
