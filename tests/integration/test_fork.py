"""fork: the parent leaks before fork and after; a child (forked while
other threads are busy in malloc/realloc/free) leaks and exits normally.
Each process writes its own report (its pid, seq 1): a child's has what it
leaked and what it inherited still live; the parent's has none of the
children's.  Then 16 children forked in a row under 3 churning threads:
no deadlock, every child reports exactly."""
from lptest import Soft, check, check_consistent, check_eq, check_leaks, main, prog, run, sites_by_function


def check_family(r, soft, what):
    parent_truth = r.truth
    n = int(parent_truth["facts"]["children"])
    ppid = int(parent_truth["facts"]["pid"])
    expected_files = [f"r.{ppid}.1.json"]
    parent = r.report(pid=ppid)
    soft(check_eq, (parent["reason"], parent["seq"]), ("exit", 1), f"{what}: parent report (reason, seq)")
    soft(check_consistent, parent)
    soft(check_leaks, parent, parent_truth["leaks"], f"{what}: parent report")
    soft(check_eq, sites_by_function(parent, "leak_child"), (0, 0), f"{what}: parent report: leak_child")
    for k in range(1, n + 1):
        ct = r.truths.get(f"child{k}")
        if not ct:
            soft.errors.append(f"{what}: child {k} wrote no truth")
            continue
        cpid = int(ct["facts"]["pid"])
        soft(check_eq, int(parent_truth["facts"][f"child{k}_pid"]), cpid,
             f"{what}: child {k} pid as the parent saw it")
        soft(check_eq, int(parent_truth["facts"][f"child{k}_status"]), 0, f"{what}: child {k} exit status")
        expected_files.append(f"r.{cpid}.1.json")
        creps = [x for x in r.reports if x["pid"] == cpid]
        if len(creps) != 1:
            soft.errors.append(f"{what}: child {k} (pid {cpid}): {len(creps)} reports, expected 1")
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
    r = run([prog("forking"), "16", "3"], timeout=90)
    check_eq(r.rc, 0, f"16 children: exit code; stderr:\n{r.stderr[-800:]}")
    check_family(r, soft, "16 children")
    soft.done()


main(test)
