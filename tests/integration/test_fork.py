"""fork: the parent leaks before fork and after; a child (forked while
other threads are busy in malloc/realloc/free) leaks and exits normally.
Each process writes its own reports under its pid: the parent an "api"
report before forking (seq 1) and its exit report (seq 2), each child its
exit report numbered from 1 again, with what it leaked and what it
inherited still live; the parent's reports have none of the children's.  A child has its own report thread: the report signal sent
to it gives its report (seq 1) before its exit report (seq 2).  Then 8
children forked in a row under 2 churning threads:
no deadlock, every child reports exactly."""
import os
import signal
import time

from lptest import Session, Soft, check, check_consistent, check_eq, check_leaks, main, prog, run, sites_by_function


def check_family(r, soft, what):
    parent_truth = r.truth
    n = int(parent_truth["facts"]["children"])
    ppid = int(parent_truth["facts"]["pid"])
    expected_files = [f"r.{ppid}.1.json", f"r.{ppid}.2.json"]
    check_eq(int(parent_truth["facts"]["api_rc"]), 0, f"{what}: leakprobe_report before fork")
    before = r.report(pid=ppid, reason="api")
    soft(check_eq, before["seq"], 1, f"{what}: parent's api report seq")
    soft(check_leaks, before, parent_truth["checkpoints"]["before_fork"], f"{what}: parent's api report")
    parent = r.report(pid=ppid, reason="exit")
    soft(check_eq, parent["seq"], 2, f"{what}: parent's exit report seq")
    soft(check_consistent, parent)
    soft(check_leaks, parent, parent_truth["leaks"], f"{what}: parent report")
    soft(check_eq, sites_by_function(parent, "leak_child"), (0, 0), f"{what}: parent report: leak_child")
    for k in range(1, n + 1):
        ct = r.truths.get(f"child{k}")
        if not ct:
            soft.failures.append(f"{what}: child {k} wrote no truth")
            continue
        cpid = int(ct["facts"]["pid"])
        soft(check_eq, int(parent_truth["facts"][f"child{k}_pid"]), cpid,
             f"{what}: child {k} pid as the parent saw it")
        soft(check_eq, int(parent_truth["facts"][f"child{k}_status"]), 0, f"{what}: child {k} exit status")
        expected_files.append(f"r.{cpid}.1.json")
        creps = [x for x in r.reports if x["pid"] == cpid]
        if len(creps) != 1:
            soft.failures.append(f"{what}: child {k} (pid {cpid}): {len(creps)} reports, expected 1")
            continue
        c = creps[0]
        soft(check_eq, (c["reason"], c["seq"]), ("exit", 1), f"{what}: child {k} report (reason, seq)")
        soft(check_consistent, c)
        soft(check_leaks, c, ct["leaks"], f"{what}: child {k} report")
        soft(check_eq, sites_by_function(c, "leak_parent_after"), (0, 0),
             f"{what}: child {k} report: leak_parent_after")
    soft(check_eq, sorted(x["_file"] for x in r.reports), sorted(expected_files), f"{what}: report files")


def test():
    soft = Soft()
    r = run([prog("forking"), "1", "1"], timeout=60)
    check_eq(r.rc, 0, f"exit code; stderr:\n{r.stderr[-800:]}")
    check_family(r, soft, "one child")

    # The report signal to a child.
    with Session([prog("forking"), "1", "1", "signal"]) as s:
        s.expect("child ready")
        cpid = None
        for _ in range(500):  # the child is the parent's only child process
            kids = open(f"/proc/{s.pid}/task/{s.pid}/children").read().split()
            if kids:
                cpid = int(kids[0])
                break
            time.sleep(0.01)
        check(cpid, "no child process found")
        os.kill(cpid, signal.SIGUSR1)
        snap = s.wait_report(1, pid=cpid)
        s.send("\n")
        r = s.finish(timeout=60)
    check_eq(r.rc, 0, f"signal to a child: exit code; stderr:\n{r.stderr[-800:]}")
    ct = r.truths.get("child1")
    check(ct and int(ct["facts"]["pid"]) == cpid, "signal to a child: the child's truth")
    soft(check_eq, (snap["reason"], snap["seq"], snap["pid"]), ("signal", 1, cpid),
         "signal to a child: its report (reason, seq, pid)")
    soft(check_leaks, snap, ct["checkpoints"]["child_signal"], "signal to a child: its signal report")
    cexit = [x for x in r.reports if x["pid"] == cpid and x["reason"] == "exit"]
    soft(check_eq, [x["seq"] for x in cexit], [2], "signal to a child: seq of its exit report")

    r = run([prog("forking"), "8", "2"], timeout=90)
    check_eq(r.rc, 0, f"8 children: exit code; stderr:\n{r.stderr[-800:]}")
    check_family(r, soft, "8 children")
    soft.done()


main(test)
