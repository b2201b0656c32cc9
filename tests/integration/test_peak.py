"""heap.peak_bytes against a program that knows its own peak
(tests/programs/peak.c): exact where one thread reaches the peak, within
64 KiB per other thread holding a change of its own where several do
(docs/report-format.md); in every way of recording blocks: headers
(default), no headers (LEAKPROBE_HEADERS=0), and a 4 KiB large threshold
(most blocks headerless, reallocs crossing between the kinds)."""
from lptest import Soft, check, check_consistent, check_eq, main, prog, run

MODES = [{}, {"LEAKPROBE_HEADERS": "0"}, {"LEAKPROBE_LARGE": "4096"}]
PHASES = ["single", "handoff", "concurrent"]
FLUSH = 64 * 1024


def test():
    soft = Soft()
    for env in MODES:
        soft(one, env)
    soft.done()


def one(env):
    what = f"mode {env or 'default'}"
    print(what)
    r = run([prog("peak")], env=env, timeout=120)
    check(r.rc == 0, f"{what}: exit code {r.rc}; stderr:\n{r.stderr[-2000:]}")
    check(r.truth is not None, f"{what}: the program wrote no truth")
    facts = r.truth["facts"]
    by_label = {rep.get("label"): rep for rep in r.reports if rep["reason"] == "api"}
    soft = Soft()
    last = 0
    for phase in PHASES:
        pre, end = by_label.get("pre:" + phase), by_label.get("end:" + phase)
        check(pre and end, f"{what}: reports pre:{phase} and end:{phase} missing; "
                           f"have {sorted(k for k in by_label if k)}")
        for rep in (pre, end):
            soft(check_consistent, rep)
        # Others' blocks at the peak (libc, ld.so, the threads' TLS) are
        # what was live at "pre:" less the program's own; nothing but the
        # program changes the heap from there to its peak.
        others = pre["heap"]["live_bytes"] - int(facts[phase + ".own_pre"])
        want = others + int(facts[phase + ".own_peak"])
        seen = end["heap"]["peak_bytes"]
        threads = int(facts[phase + ".threads"])
        check(want > last, f"{what}: {phase}: the program must climb above the earlier "
                           f"phases ({want} <= {last})")
        if threads == 1:
            soft(check_eq, seen, want, f"{what}: {phase}: peak_bytes (one thread at the peak)")
        else:
            bound = (threads - 1) * FLUSH
            soft(check, abs(seen - want) < bound,
                 f"{what}: {phase}: peak_bytes {seen}, the program's peak {want} "
                 f"(off by {seen - want}; {threads} threads: within {bound})")
        last = want
    # Nothing climbs after the last phase: the exit report keeps its peak.
    ex = r.report("exit", pid=pre["pid"])
    soft(check_eq, ex["heap"]["peak_bytes"], by_label["end:concurrent"]["heap"]["peak_bytes"],
         f"{what}: exit report's peak_bytes")
    # A forked child, alone, climbs higher: exact, with the pending change
    # of a thread that did not follow it counted.
    child = {rep.get("label"): rep for rep in r.reports
             if rep["reason"] == "api" and rep["pid"] != pre["pid"]}
    cf = (r.truths.get("child") or {}).get("facts")
    have = bool(cf) and "pre:fork" in child and "end:fork" in child
    soft(check, have, f"{what}: the child's truth and reports pre:fork, end:fork; "
                      f"have {sorted(k for k in child if k)}")
    if have:
        want = child["pre:fork"]["heap"]["live_bytes"] - int(cf["fork.own_pre"]) + \
            int(cf["fork.own_peak"])
        soft(check, want > last, f"{what}: fork: the child must climb above the parent")
        soft(check_eq, child["end:fork"]["heap"]["peak_bytes"], want,
             f"{what}: fork: the child's peak_bytes")
    soft.done()


main(test)
