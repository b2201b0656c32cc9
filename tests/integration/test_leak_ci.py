"""Leaks fail a CI job the way LeakSanitizer's do: a shell step running
`leakprobe run --exitcode 23 -- PROG` fails on leak_kinds.c's leaks and
passes once they are suppressed (LeakSanitizer's suppression format); a
program that fails on its own keeps its status; the report lists each
suppression used with its count and bytes, which equal the sites it took
out of the verdict (the program's construction: leak_kinds.c); a bad
line is one warning naming the file and line, the rest still applies."""
import json
import os
import subprocess
import tempfile

from lptest import SHIM, SRC, Soft, check, check_consistent, check_eq, clean_env, main, prog

LAUNCHER = os.path.join(SRC, "tools", "leakprobe")
# leak_kinds.c's definitely and indirectly lost blocks, by allocation function.
LOST = ["case_lost_block", "case_list_head", "case_list_rest", "case_cycle", "case_self",
        "case_exited_thread", "case_memalign_lost", "case_rbp_across_malloc", "case_global"]


def step(script, d):
    """A CI step: bash -e, the launcher on PATH, as a job would run it."""
    env = clean_env(shim=False, json_reports=False)
    env["LEAKPROBE_LIB"] = SHIM
    env["PATH"] = os.path.dirname(LAUNCHER) + ":" + env.get("PATH", "")
    path = os.path.join(d, "step.sh")
    with open(path, "w") as fh:
        fh.write("set -e\n" + script + "\necho step-passed\n")
    return subprocess.run(["bash", path], env=env, capture_output=True, text=True, timeout=120,
                          cwd=d)


def test():
    soft = Soft()
    d = tempfile.mkdtemp(prefix="lpci.")
    exe = prog("leak_kinds")
    supp = os.path.join(d, "lsan.supp")
    with open(supp, "w") as fh:
        fh.write("# what this program leaks on purpose\n")
        fh.write("\n".join(f"leak:{fn}" for fn in LOST[:-1]) + "\n")
        fh.write("this line is not a suppression\n")
        fh.write("leak:^case_global$\n")

    p = step(f"leakprobe run --exitcode 23 -- {exe}", d)
    soft(check_eq, p.returncode, 23, f"the step fails on the leaks: {p.stderr[-400:]}")
    soft(check, "step-passed" not in p.stdout, "the step went on after the leak")
    soft(check, "SUMMARY: leakprobe: " in p.stderr.splitlines()[-2] or
         any(l.startswith("leakprobe: warning: exit status 23") for l in p.stderr.splitlines()),
         f"the log says why: {p.stderr[-300:]}")

    p = step(f"leakprobe run --exitcode 23 --suppressions {supp} -- {exe}", d)
    soft(check_eq, p.returncode, 0, f"the step passes once suppressed: {p.stderr[-600:]}")
    soft(check, "step-passed" in p.stdout, "the step ran to its end")
    warns = [l for l in p.stderr.splitlines() if l.startswith("leakprobe: warning:")]
    soft(check, len(warns) == 1 and f"{supp}:{len(LOST) + 1}:" in warns[0],
         f"one warning naming the bad line ({supp}:{len(LOST) + 1}): {warns}")
    soft(check, "SUMMARY: leakprobe: 0 byte(s) leaked in 0 allocation(s)." in p.stderr,
         "the SUMMARY line after suppressions")

    p = step(f"leakprobe run --exitcode 23 -- {exe} 3 || test $? = 3", d)
    soft(check, "step-passed" in p.stdout, f"a program's own failure keeps its status 3: "
                                           f"{p.returncode} {p.stderr[-300:]}")

    # The JSON: each suppression's count and bytes are the sites it took.
    out = os.path.join(d, "r.json")
    env = clean_env(shim=True, json_reports=False)
    env.update(LEAKPROBE_FORMAT="json", LEAKPROBE_OUTPUT=out, LEAKPROBE_SUPPRESSIONS=supp)
    subprocess.run([exe], env=env, capture_output=True, timeout=60)
    with open(out) as fh:
        rep = json.load(fh)
    check_consistent(rep, "suppressed report")
    used = {s["pattern"]: s for s in rep["suppressions"] if not s["builtin"]}
    for fn in LOST:
        pat = fn if fn != "case_global" else "^case_global$"
        sites = [s for s in rep["sites"] if s.get("suppressed") == pat]
        soft(check, sites and all(any(f["function"] == fn for f in s["stack"]) for s in sites),
             f"{pat}: the sites it suppressed")
        got = used.get(pat, {})
        soft(check_eq, (got.get("count"), got.get("bytes")),
             (sum(s["blocks"] for s in sites), sum(s["bytes"] for s in sites)),
             f"{pat}: count and bytes against its sites")
    lost = rep["heap"]["lost"]
    soft(check_eq, (lost["definitely"]["bytes"], lost["indirectly"]["bytes"]), (0, 0),
         "nothing definitely or indirectly lost is left")
    soft.done()


if __name__ == "__main__":
    main(test)
