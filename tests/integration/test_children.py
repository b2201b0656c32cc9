"""LEAKPROBE_CHILDREN: a program runs a child that leaks, by fork+execv and
by system().  By default the child is traced and reports its leaks; with
LEAKPROBE_CHILDREN=0 the child writes no report, its LD_PRELOAD no longer
names libleakprobe (other preloaded libraries stay), and the parent still
reports, also when LD_PRELOAD is long (over 4 KiB: many preloaded
libraries, or long paths).  A report signal the program was started with
ignored (SIG_IGN, as nohup does for SIGHUP) stays ignored in the children
it execs, as without the shim (exec keeps SIG_IGN, resets handlers)."""
import os
import signal

from lptest import SHIM, Soft, check, check_eq, check_leaks, main, prog, run

# A harmless second preload that must survive the clean-up.
OTHER = next((p for p in ("/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6")
              if os.path.exists(p)), None)


def test():
    soft = Soft()
    for how in ("exec", "system"):
        argv = [prog("exec_parent"), how, prog("leaky_child")]
        # Default: the child is traced.
        r = run(argv)
        check_eq(r.rc, 0, f"{how}: exit code; stderr:\n{r.stderr[-800:]}")
        child = r.truths.get("child")
        check(child, f"{how}: the child ran (it states its truth); stdout {r.stdout!r}")
        ppid, cpid = int(r.truth["facts"]["pid"]), int(child["facts"]["pid"])
        soft(check, "libleakprobe" in child["facts"]["ld_preload"],
             f"{how}, default: the child's LD_PRELOAD {child['facts']['ld_preload']!r} names the shim")
        creps = [x for x in r.reports if x["pid"] == cpid]
        soft(check_eq, len(creps), 1, f"{how}, default: reports from the child")
        if creps:
            soft(check_leaks, creps[0], child["leaks"], f"{how}, default: the child's report")
        preps = [x for x in r.reports if x["pid"] == ppid]
        soft(check_eq, len(preps), 1, f"{how}, default: reports from the parent")

        # CHILDREN=0 (and another preloaded library that must stay).
        env = {"LEAKPROBE_CHILDREN": "0"}
        if OTHER:
            env["LD_PRELOAD"] = f"{SHIM}:{OTHER}"
        r = run(argv, env=env)
        check_eq(r.rc, 0, f"{how}, CHILDREN=0: exit code; stderr:\n{r.stderr[-800:]}")
        child = r.truths.get("child")
        check(child, f"{how}, CHILDREN=0: the child ran")
        ppid, cpid = int(r.truth["facts"]["pid"]), int(child["facts"]["pid"])
        soft(check_eq, [x["pid"] for x in r.reports], [ppid],
             f"{how}, CHILDREN=0: pids of the processes that reported (parent {ppid}, child {cpid})")
        soft(check_eq, child["facts"]["ld_preload"], OTHER or "",
             f"{how}, CHILDREN=0: the child's LD_PRELOAD")
        preps = [x for x in r.reports if x["pid"] == ppid]
        if preps:
            soft(check_leaks, preps[0], r.truth["leaks"], f"{how}, CHILDREN=0: the parent's report")

    # CHILDREN=0 with a long LD_PRELOAD: still no report from the child.
    if OTHER:
        long_rest = ":".join([OTHER] * (4200 // len(OTHER) + 1))
        r = run([prog("exec_parent"), "exec", prog("leaky_child")],
                env={"LEAKPROBE_CHILDREN": "0", "LD_PRELOAD": f"{SHIM}:{long_rest}"})
        check_eq(r.rc, 0, f"long LD_PRELOAD: exit code; stderr:\n{r.stderr[-800:]}")
        child = r.truths.get("child")
        check(child, "long LD_PRELOAD: the child ran")
        ppid, cpid = int(r.truth["facts"]["pid"]), int(child["facts"]["pid"])
        soft(check_eq, [x["pid"] for x in r.reports], [ppid],
             f"CHILDREN=0 with LD_PRELOAD of {len(SHIM) + 1 + len(long_rest)} bytes: pids that "
             f"reported (parent {ppid}, child {cpid})")
        soft(check, "libleakprobe" not in child["facts"]["ld_preload"],
             f"CHILDREN=0 with a long LD_PRELOAD: the child's LD_PRELOAD still names the shim "
             f"({child['facts']['ld_preload'][:80]}...)")

    # SIGUSR1 ignored from the start: the exec'd child inherits SIG_IGN.
    def ignore_usr1():
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)

    argv = [prog("exec_parent"), "exec", prog("leaky_child")]
    plain = run(argv, shim=False, preexec_fn=ignore_usr1)
    want = plain.truths["child"]["facts"]["usr1_disposition"]
    check_eq(want, "SIG_IGN", "the child's SIGUSR1 disposition without the shim")
    for children in ("1", "0"):
        r = run(argv, env={"LEAKPROBE_CHILDREN": children}, preexec_fn=ignore_usr1)
        child = r.truths.get("child")
        check(child, f"SIGUSR1 ignored, CHILDREN={children}: the child ran")
        soft(check_eq, child["facts"]["usr1_disposition"], want,
             f"SIGUSR1 ignored by the parent, CHILDREN={children}: the disposition the exec'd "
             f"child inherited (as its sigaction(SIGUSR1, NULL, &old) says)")
    soft.done()


main(test)
