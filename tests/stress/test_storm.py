"""Storm: 8 threads x 200k random malloc/calloc/realloc/posix_memalign/
aligned_alloc/free (1 B - 2 KiB, some 64 MiB), forks from the workers
mid-storm, 25 SIGUSR1 during the storm; four times (default unwinder,
libunwind only, 1 KiB large threshold, no block headers).  No crash, no deadlock, the same
output as without the shim, the program's own SIGUSR1 handler still
called, every report consistent, the blocks leaked on purpose reported
exactly (parent and every child)."""
from lptest.stress import (Soft, check, check_consistent, check_seqs, check_truth, count,
                           main, no_tmp_left, plain, prog, run, same_output)

THREADS, OPS, SIGNALS, FORKS = 8, 200000, 25, 2


# Four storms: the default unwinder; libunwind only; a 1 KiB "large"
# threshold, so that half the blocks also go through the large table and
# its single lock (and reallocs cross between headered and headerless
# blocks); and every block in the side table (no headers).
VARIANTS = [("default", {}), ("LEAKPROBE_UNWIND=1", {"LEAKPROBE_UNWIND": "1"}),
            ("LEAKPROBE_LARGE=1K", {"LEAKPROBE_LARGE": "1K"}),
            ("LEAKPROBE_HEADERS=0", {"LEAKPROBE_HEADERS": "0"})]


def test():
    argv = [prog("storm"), str(THREADS), str(OPS), str(SIGNALS), str(FORKS)]
    ref = plain(argv, timeout=60)
    check(ref.rc == 0, f"plain run failed ({ref.rc}): {ref.stderr[-500:]}")
    soft = Soft()
    for name, env in VARIANTS:
        with soft(name):
            one(argv, ref, env)
    soft.done()


def one(argv, ref, env):
    r = run(argv, timeout=150, env=env)
    count(threads=THREADS, forks=THREADS * FORKS, signals=SIGNALS)
    print(f"plain {ref.elapsed:.1f} s, shim {r.elapsed:.1f} s")
    check(r.rc == 0, f"exit status {r.rc}; stderr:\n{r.stderr[-2000:]}")
    same_output(ref, r, "storm")
    check(" bad 0" in r.stdout and r.stdout.count(" bad 0") == THREADS,
          f"user memory corrupted or an allocation failed:\n{r.stdout}")

    handled = int(r.stderr.split("usr1 ")[-1].split()[0])
    check(handled >= SIGNALS * 4 // 5,
          f"the program's own SIGUSR1 handler ran {handled} times for {SIGNALS} signals "
          f"(chaining broken?)")

    parent = r.by_pid()
    sig = [x for x in parent if x["reason"] == "signal"]
    ex = r.exit_report()
    check(1 <= len(sig) <= handled, f"{len(sig)} signal reports for {handled} signals")
    check(ex["seq"] == max(x["seq"] for x in parent),
          f"a report was written after the exit report: seqs {[x['seq'] for x in parent]}")
    for x in parent:
        check_consistent(x, f"parent report {x['seq']} ({x['reason']})")
    check_truth(ex, r.truth)
    check(not ex.get("warnings"), f"warnings in the exit report: {ex.get('warnings')}")

    children = {x["pid"] for x in r.all_reports} - {r.pid}
    nforks = THREADS * FORKS
    count(lost=max(0, nforks - len(children)))
    check(len(children) == nforks,
          f"{len(children)} children wrote a report, {nforks} forked")
    check(set(r.child_truths) == children, "children with truth != children with reports")
    for pid in children:
        reps = r.by_pid(pid)
        check([x["reason"] for x in reps] == ["exit"] and reps[0]["seq"] == 1,
              f"child {pid}: reports {[(x['reason'], x['seq']) for x in reps]}")
        check_consistent(reps[0], f"child {pid}")
        check_truth(reps[0], r.child_truths[pid])
    check_seqs(r.all_reports, "storm")
    no_tmp_left(r, "storm")
    print(f"{len(sig)} signal reports, {len(children)} child reports, usr1 handled {handled}")


main(test)
