"""tools/leakprobe run through a wrapper script (in the manner of a pyenv
shim) that runs helpers (cat, $(...) subshells, a pipeline, a small C
program that leaks) and then execs the real program: exactly one report,
from the real program, with its leaks.  With --children the helpers report
too (the C helper with its own leaks, cat).

The launcher is pointed (LEAKPROBE_BUILD_DIR) at a build directory holding
only a no-op build.ninja and a link to the shim under test, so it runs
exactly that shim and never rebuilds in the middle of the suite."""
import os
import shutil
import tempfile

from lptest import (SRC, Soft, check, check_eq, check_leaks, check_truth, launcher_build_dir,
                    main, program_source, prog, run, skip)


def launch(top, children):
    out = os.path.join(top, "out" + ("-children" if children else ""))
    os.mkdir(out)
    wrapper = os.path.join(top, "wrapper")  # executable, with its #! line
    if not os.path.exists(wrapper):
        shutil.copy(program_source("wrapper.sh"), wrapper)
        os.chmod(wrapper, 0o755)
    argv = [os.path.join(SRC, "tools", "leakprobe"), "run", "--format", "json",
            "--output", os.path.join(out, "r.%p.%n.json")]
    if children:
        argv.append("--children")
    argv += ["--", wrapper, prog("leaky_child"), prog("leak_sites")]
    env = {"LEAKPROBE_BUILD_DIR": os.path.join(top, "build")}
    return run(argv, shim=False, env=env, tmp=out)


def test():
    if not shutil.which("ninja"):
        skip("ninja is not installed (the launcher runs it)")
    top = tempfile.mkdtemp(prefix="lptest.launcher.")
    soft = Soft()
    try:
        launcher_build_dir(top)
        r = launch(top, children=False)
        check_eq(r.rc, 0, f"exit code of the launcher run; stderr:\n{r.stderr[-1500:]}")
        helper = r.truths.get("helper")
        check(helper, "the wrapper's C helper ran (it states its truth)")
        soft(check_eq, [x["_file"] for x in r.reports], [f"r.{x['pid']}.1.json" for x in r.reports],
             "report file names")
        soft(check_eq, len(r.reports), 1,
             f"reports without --children (commands: {[x['command'] for x in r.reports]})")
        real = [x for x in r.reports if x["command"].split(" ")[0].endswith("/leak_sites")]
        if len(real) == 1:
            soft(check_truth, real[0], r.truth)
            soft(check_eq, real[0]["reason"], "exit", "reason of the real program's report")
        else:
            soft.failures.append(f"reports from the real program: {len(real)}, expected 1")
        soft(check_eq, [x for x in r.reports if x["pid"] == int(helper["facts"]["pid"])], [],
             "reports from the C helper without --children")

        r = launch(top, children=True)
        check_eq(r.rc, 0, f"exit code of the --children run; stderr:\n{r.stderr[-1500:]}")
        helper = r.truths.get("helper")
        hpid = int(helper["facts"]["pid"])
        hrep = [x for x in r.reports if x["pid"] == hpid]
        soft(check_eq, len(hrep), 1, "reports from the C helper with --children")
        if hrep:
            soft(check_leaks, hrep[0], helper["leaks"], "the C helper's report")
        cats = [x for x in r.reports if x["command"].split(" ")[0] in ("cat", "/usr/bin/cat", "/bin/cat")]
        soft(check, cats, f"no report from cat with --children; commands: "
                          f"{[x['command'] for x in r.reports]}")
        real = [x for x in r.reports if x["command"].split(" ")[0].endswith("/leak_sites")]
        soft(check_eq, len(real), 1, "reports from the real program with --children")
        if real:
            soft(check_truth, real[0], r.truth)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    soft.done()


main(test)
