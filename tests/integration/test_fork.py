"""fork: the parent leaks before fork and after; the child (forked while
another thread is busy in malloc/free) leaks and exits normally.  Each
process writes its own report (its pid, seq 1): the child's has what it
leaked and what it inherited still live; the parent's has none of the
child's."""
from lptest import check, check_consistent, check_eq, check_leaks, main, prog, run, sites_by_function


def test():
    r = run([prog("forking")], timeout=60)
    check_eq(r.rc, 0, "exit code")
    parent_truth, child_truth = r.truth, r.truths.get("child")
    check(parent_truth and child_truth, f"both processes state their truth: {sorted(map(str, r.truths))}")
    ppid, cpid = int(parent_truth["facts"]["pid"]), int(child_truth["facts"]["pid"])
    check_eq(int(parent_truth["facts"]["child_pid"]), cpid, "the child's pid as the parent saw it")
    check_eq(int(parent_truth["facts"]["child_status"]), 0, "the child's exit status")
    check(ppid != cpid, "two processes")

    files = sorted(rep["_file"] for rep in r.reports)
    check_eq(files, sorted([f"r.{ppid}.1.json", f"r.{cpid}.1.json"]), "report files")
    parent, child = r.report(pid=ppid), r.report(pid=cpid)
    for who, rep in (("parent", parent), ("child", child)):
        check_eq(rep["reason"], "exit", f"{who} report reason")
        check_eq(rep["seq"], 1, f"{who} report seq")
        check_consistent(rep)

    check_leaks(child, child_truth["leaks"], "child report")
    check_leaks(parent, parent_truth["leaks"], "parent report")
    # Each side has nothing of the other's own leaks.
    check_eq(sites_by_function(parent, "leak_child"), (0, 0), "parent report: leak_child")
    check_eq(sites_by_function(child, "leak_parent_after"), (0, 0), "child report: leak_parent_after")


main(test)
