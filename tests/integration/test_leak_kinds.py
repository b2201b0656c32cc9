"""Leak verdicts against valgrind: for every case_* allocation function of
leak_kinds.c and cxx_kinds.cpp (a lost block, a lost list, a lost 2-cycle, a self-pointing
block, held by a global, only by an interior pointer, only from the
program's own mmap, only on a blocked thread's stack and in its TLS, only
in a register of a thread spinning in a loop (sampled through perf events;
where they are refused, the report says so), only in a dlopen()ed module's
TLS (and lost once dropped from there), in a forked child (what it
inherited and what it made),
allocated by a thread that has exited, the memalign family; C++ new[] of a
class with a destructor, multiple inheritance, std::string), the bytes
and blocks per kind that leakprobe's exit report gives equal valgrind
3.19's `--leak-check=full --show-leak-kinds=all` on the same program.
The text report leads with the verdict and ends with LeakSanitizer's
SUMMARY line; LEAKPROBE_EXITCODE turns the leaks into an exit status."""
import os
import re
import shutil
import subprocess
import tempfile

from lptest import check, check_consistent, check_eq, clean_env, main, prog, run, skip

KIND_WORDS = {"definitely lost": "definitely_lost", "indirectly lost": "indirectly_lost",
              "possibly lost": "possibly_lost", "still reachable": "reachable"}
# "144 (48 direct, 96 indirect) bytes in 1 blocks are definitely lost": the
# block's own bytes are the direct ones.
RECORD = re.compile(r"^==\d+== ([\d,]+) (?:\(([\d,]+) direct, [\d,]+ indirect\) )?bytes in ([\d,]+) "
                    r"blocks are (definitely lost|indirectly lost|possibly lost|still reachable)")
FRAME = re.compile(r"^==\d+==    (?:at|by) 0x[0-9A-F]+: (\w+)")


def per_case_valgrind_text(text):
    """(kind, case) -> (bytes, blocks) from valgrind's leak records."""
    cur, cases = None, {}
    for line in text.splitlines():
        m = RECORD.match(line)
        if m:
            own = m.group(2) or m.group(1)
            cur = [KIND_WORDS[m.group(4)], int(own.replace(",", "")),
                   int(m.group(3).replace(",", ""))]
            continue
        m = FRAME.match(line)
        if cur and m and m.group(1).startswith("case_"):
            key = (cur[0], m.group(1))
            b, n = cases.get(key, (0, 0))
            cases[key] = (b + cur[1], n + cur[2])
            cur = None
        elif not line.strip("=0123456789 "):
            cur = None
    return cases


VALGRIND = ["valgrind", "--run-libc-freeres=no", "--leak-check=full", "--show-leak-kinds=all"]


def per_case_valgrind(argv, extra_env=None):
    env = clean_env(shim=False)
    env.update(extra_env or {})
    v = subprocess.run(VALGRIND + argv, env=env, capture_output=True, timeout=300, text=True)
    return per_case_valgrind_text(v.stderr)


def forked_child_against_valgrind():
    """In a forked child, the blocks it inherited and its own, against
    valgrind's verdict on the same child (valgrind follows a fork)."""
    argv = [prog("fork_kinds")]
    r = run(argv, env={"LEAKPROBE_CLASSIFY": "exit"})
    check_eq(r.rc, 0, "fork_kinds: exit status")
    children = [x for x in r.reports if x["reason"] == "exit" and x["pid"] != r.pid]
    check_eq(len(children), 1, "fork_kinds: the child's exit report")
    ours = per_case_leakprobe(children[0])
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(VALGRIND + [f"--log-file={d}/vg.%p"] + argv, env=clean_env(shim=False),
                       capture_output=True, timeout=300)
        logs = [open(os.path.join(d, f)).read() for f in sorted(os.listdir(d))]
    child_logs = [t for t in logs if "case_child_" in t]
    check_eq(len(child_logs), 1, "valgrind's log of the child")
    theirs = per_case_valgrind_text(child_logs[0])
    for key in sorted(set(ours) | set(theirs)):
        print(f"forked child {key}: leakprobe {ours.get(key)}, valgrind {theirs.get(key)}")
    check(len(theirs) == 5, f"valgrind's records of the child not parsed: {theirs}")
    check_eq(ours, theirs, "forked child: bytes and blocks per (kind, case) against valgrind")


def per_case_leakprobe(rep):
    cases = {}
    for s in rep["sites"]:
        fn = next((f["function"] for f in s["stack"] if (f["function"] or "").startswith("case_")),
                  None)
        if fn:
            key = (s["kind"], fn)
            b, n = cases.get(key, (0, 0))
            cases[key] = (b + s["bytes"], n + s["blocks"])
    return cases


def test():
    if not shutil.which("valgrind"):
        skip("valgrind is not installed: it is this test's truth")
    argv = [prog("leak_kinds")]
    r = run(argv, env={"LEAKPROBE_CLASSIFY": "exit"})
    check_eq(r.rc, 0, "exit status")
    rep = r.report("exit")
    check(rep["classify"] is not None, f"no verdict: {rep['warnings']}")
    check_consistent(rep, "exit report")
    ours, theirs = per_case_leakprobe(rep), per_case_valgrind(argv)
    check(len(theirs) >= 12, f"valgrind's records not parsed: {theirs}")
    unsampled = [w for w in rep["warnings"] if "perf_event_open" in w]
    if unsampled:  # this machine refuses perf events: that case cannot be had
        print(f"SKIP case_register_spin: {unsampled[0]}")
        for d in (ours, theirs):
            for key in [k for k in d if k[1] == "case_register_spin"]:
                del d[key]
    else:
        check_eq(rep["classify"]["threads_sampled"], 1, "the spinning thread's registers sampled")
        check_eq(rep["classify"]["threads_without_stack_pointer"], 0,
                 "every thread's stack pointer known")
    for key in sorted(set(ours) | set(theirs)):
        print(f"{key}: leakprobe {ours.get(key)}, valgrind {theirs.get(key)}")
    check_eq(ours, theirs, "bytes and blocks per (kind, case) against valgrind")
    # Every block in the side table (no headers): the same verdict.
    side = run(argv, env={"LEAKPROBE_CLASSIFY": "exit", "LEAKPROBE_HEADERS": "0"}).report("exit")
    check_eq({k: v for k, v in per_case_leakprobe(side).items()
              if not (unsampled and k[1] == "case_register_spin")},
             theirs, "LEAKPROBE_HEADERS=0: per (kind, case)")
    lost = rep["heap"]["lost"]
    check_eq(sum(s["bytes"] for s in rep["sites"]), rep["heap"]["live_bytes"], "sites sum")
    check_eq(sum(v["bytes"] for k, v in lost.items()
                 if k in ("definitely", "indirectly", "possibly", "reachable", "suppressed")),
             rep["heap"]["live_bytes"], "kinds and suppressed sum to the live bytes")

    # The module's TLS is what keeps its block: dropped from there, the
    # block is lost, for valgrind and for the scan.
    drop = {"LEAK_KINDS_DROP_MODULE_TLS": "1"}
    dropped = per_case_leakprobe(run(argv, env={"LEAKPROBE_CLASSIFY": "exit", **drop})
                                 .report("exit"))
    want = {k: v for k, v in per_case_valgrind(argv, drop).items() if k[1] == "case_dlopen_tls"}
    check_eq(want, {("definitely_lost", "case_dlopen_tls"): (111, 1)},
             "valgrind: the block dropped from the module's TLS is lost")
    check_eq({k: v for k, v in dropped.items() if k[1] == "case_dlopen_tls"}, want,
             "dropped from the module's TLS: as valgrind")

    # Where perf events are refused (seccomp, as in many containers): the
    # report says the running thread's registers were not read; the
    # program's status and output stay its own.
    d = run([prog("no_perf_events")] + argv, env={"LEAKPROBE_CLASSIFY": "exit"})
    check_eq(d.rc, 0, "exit status with perf events refused")
    dr = d.report("exit")
    check_eq((dr["classify"]["threads_sampled"], dr["classify"]["threads_without_stack_pointer"]),
             (0, 1), "perf events refused: no thread sampled, one without a stack pointer")
    check(any("registers of 1 running thread(s) were not read" in w for w in dr["warnings"]),
          f"perf events refused: no warning in {dr['warnings']}")

    # Text: the verdict first, LSan's SUMMARY last.
    t = run(argv, env={"LEAKPROBE_CLASSIFY": "exit"}, json_reports=False)
    lines = [l for l in t.stderr.splitlines() if l.startswith("==")]
    check(any(re.match(r"^==\d+== Direct leak of 100 byte\(s\) in 1 object\(s\) allocated from:$", l)
              for l in lines), "no 'Direct leak of 100 byte(s)' record")
    leaked = lost["definitely"]["bytes"] + lost["indirectly"]["bytes"]
    nleaked = lost["definitely"]["blocks"] + lost["indirectly"]["blocks"]
    check(re.match(rf"^==\d+== SUMMARY: leakprobe: {leaked} byte\(s\) leaked in {nleaked} "
                   r"allocation\(s\)\.$", lines[-1]), f"last line: {lines[-1]!r}")

    # LEAKPROBE_SHOW_REACHABLE=1: every reachable site with its stack, as
    # valgrind's --show-leak-kinds=all.
    t = run(argv, env={"LEAKPROBE_CLASSIFY": "exit", "LEAKPROBE_SHOW_REACHABLE": "1"},
            json_reports=False)
    shown = [l for l in t.stderr.splitlines()
             if re.match(r"^==\d+== \d+ bytes in \d+ blocks still reachable, allocated from:$", l)]
    check_eq(len(shown), sum(1 for s in rep["sites"] if s["kind"] == "reachable"),
             "reachable sites listed with their stacks under LEAKPROBE_SHOW_REACHABLE=1")

    # LEAKPROBE_CLASSIFY=never: the inventory, no verdict.
    n = run(argv, env={"LEAKPROBE_CLASSIFY": "never"}).report("exit")
    check(n["classify"] is None and {s["kind"] for s in n["sites"]} == {"live"},
          "LEAKPROBE_CLASSIFY=never: no verdict")

    # The exit status, as a CI job sees it; a program's own failure stays.
    e = run(argv, env={"LEAKPROBE_CLASSIFY": "exit", "LEAKPROBE_EXITCODE": "23"})
    check_eq(e.rc, 23, "LEAKPROBE_EXITCODE=23 with leaks")
    e = run(argv, env={"LEAKPROBE_CLASSIFY": "exit", "LEAKPROBE_EXITCODE": "23",
                       "LEAKPROBE_LEAK_KINDS": "possible"})
    check_eq(e.rc, 23, "possible leaks counted when asked for")
    e = run([prog("leak_sites")], env={"LEAKPROBE_CLASSIFY": "0", "LEAKPROBE_EXITCODE": "23"})
    check_eq(e.rc, 0, "no verdict, no changed status")

    forked_child_against_valgrind()

    # C++: memcheck's heuristics (new[] cookies, multiple inheritance) and
    # std::string, against valgrind too.
    argv = [prog("cxx_kinds")]
    rep = run(argv, env={"LEAKPROBE_CLASSIFY": "exit"}).report("exit")
    check_consistent(rep, "C++ exit report")
    ours, theirs = per_case_leakprobe(rep), per_case_valgrind(argv)
    for key in sorted(set(ours) | set(theirs)):
        print(f"C++ {key}: leakprobe {ours.get(key)}, valgrind {theirs.get(key)}")
    check(len(theirs) >= 5, f"valgrind's C++ records not parsed: {theirs}")
    check_eq(ours, theirs, "C++: bytes and blocks per (kind, case) against valgrind")
    check(rep["heap"]["lost"]["reachable_via_heuristic"]["blocks"] >= 2,
          f"C++: blocks reached through a heuristic: {rep['heap']['lost']}")


if __name__ == "__main__":
    main(test)
