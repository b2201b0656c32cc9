"""The public API from a program built with -DLEAKPROBE_WEAK_API: under the
shim leakprobe_report("after warm-up") writes a report at that point
(reason "api", the label, seq 1, the leaks of that moment only), then the
exit report (seq 2); text reports show the label in their header, and a
label with a newline or control characters keeps every line of the text
report prefixed with ==PID== (JSON carries it exactly).
Without the shim leakprobe_report is NULL and the program runs; with the
shim inert (LEAKPROBE_PID of another process) it returns -1, no report."""
import re

from lptest import Soft, check, check_consistent, check_eq, check_leaks, main, prog, run, sites_by_function

LABEL = "after warm-up"


def test():
    soft = Soft()
    plain = run([prog("api_user")], shim=False)
    check_eq(plain.rc, 0, f"exit code without the shim; stderr {plain.stderr[-500:]}")
    check_eq(plain.stdout, "api absent\n", "stdout without the shim")

    r = run([prog("api_user")])
    check_eq(r.rc, 0, f"exit code under the shim; stderr {r.stderr[-500:]}")
    soft(check_eq, r.stdout, "api present, rc 0\n", "stdout under the shim")
    soft(check_eq, [(x["reason"], x["seq"]) for x in r.reports], [("api", 1), ("exit", 2)],
         "(reason, seq) of the reports")
    api = [x for x in r.reports if x["reason"] == "api"]
    if api:
        soft(check_eq, api[0]["label"], LABEL, "label of the api report")
        soft(check_consistent, api[0])
        soft(check_leaks, api[0], r.truth["checkpoints"]["api"], "api report")
        soft(check_eq, sites_by_function(api[0], "leak_later"), (0, 0),
             "api report: leak_later (leaked after the call)")
    ex = [x for x in r.reports if x["reason"] == "exit"]
    if ex:
        soft(check_eq, ex[0]["label"], None, "label of the exit report")
        soft(check_leaks, ex[0], r.truth["leaks"], "exit report")

    t = run([prog("api_user")], json_reports=False)
    soft(check, re.search(rf"^==\d+== leakprobe report 1 \(api: {re.escape(LABEL)}\)", t.stderr, re.M),
         f"text header with the label; stderr:\n{t.stderr[:400]}")

    odd = "two\nlines\x01 \"quoted\""
    t = run([prog("api_user"), odd], json_reports=False)
    pid = re.search(r"^==(\d+)== ", t.stderr, re.M)
    if pid:
        stray = [l for l in t.stderr.splitlines() if l and not l.startswith(f"=={pid.group(1)}== ")]
        soft(check_eq, stray, [], "text report lines without the ==PID== prefix (a label with a newline)")
    else:
        soft.failures.append(f"no text report for the odd label:\n{t.stderr[:400]}")
    j = run([prog("api_user"), odd])
    soft(check_eq, [x["label"] for x in j.reports if x["reason"] == "api"], [odd], "odd label in JSON")

    inert = run([prog("api_user")], env={"LEAKPROBE_PID": "1"})
    soft(check_eq, inert.stdout, "api present, rc -1\n", "stdout with the shim inert (LEAKPROBE_PID=1)")
    soft(check_eq, inert.reports, [], "reports with the shim inert")
    soft.done()


main(test)
