"""Planted links at the report's path: a symlink at the final name (to a
file, dangling), a symlink at the temporary name <final>.tmp.<pid> (to a
file, dangling; planted while the program waits, once its pid is known),
a hard link or a directory at the final name.  The link's target is never written,
truncated or created; the report is still delivered (as a regular file
that replaced the link, or on stderr with one warning naming the path);
a report file is mode 0600 even under umask 0; no temporary file is left."""
import json
import os
import shutil
import stat
import tempfile

from lptest import Session, Soft, check, check_eq, check_leaks, json_reports_in_text, main, prog

PRECIOUS = "precious data, not a report\n"


def make_victim(d):
    victim = os.path.join(d, "victim")
    with open(victim, "w") as fh:
        fh.write(PRECIOUS)
    os.chmod(victim, 0o644)
    return victim


def run_knobs(d, plant_before=None, plant_after_start=None):
    """knobs waits after start-up: plant_after_start(pid) runs then."""
    final = os.path.join(d, "r.json")
    if plant_before:
        plant_before(final)
    with Session([prog("knobs"), "wait"], output=final, umask=0) as s:
        s.expect("knobs: start")
        s.expect("ready")
        if plant_after_start:
            plant_after_start(final, s.pid)
        s.send("\n")
        r = s.finish()
    return r, final


def delivered(soft, what, r, final, d):
    """The report is a regular 0600 file at final, or on stderr + 1 warning."""
    warns = r.warnings()
    soft(check_eq, r.rc, 7, f"{what}: exit code")
    if os.path.isfile(final) and not os.path.islink(final) and not warns:
        mode = stat.S_IMODE(os.lstat(final).st_mode)
        soft(check_eq, oct(mode), oct(0o600), f"{what}: mode of the report file")
        with open(final) as fh:
            try:
                rep = json.load(fh)
            except json.JSONDecodeError as ex:
                soft.failures.append(f"{what}: {final} is not a JSON report: {ex}")
                return
    else:
        soft(check_eq, len(warns), 1, f"{what}: warning lines (the report did not go to the file)")
        soft(check, any(final in w for w in warns), f"{what}: a warning naming {final}: {warns}")
        reps = json_reports_in_text(r.stderr)
        if len(reps) != 1:
            soft.failures.append(f"{what}: expected the report on stderr, found {len(reps)}; "
                               f"stderr:\n{r.stderr[-800:]}")
            return
        rep = reps[0]
    soft(check_leaks, rep, r.truth["leaks"], f"{what}: the delivered report")
    leftovers = [f for f in os.listdir(d) if ".tmp." in f]
    soft(check_eq, leftovers, [], f"{what}: temporary files left behind")


def victim_intact(soft, what, victim):
    st = os.stat(victim)
    with open(victim) as fh:
        soft(check_eq, fh.read(), PRECIOUS, f"{what}: content of the link's target")
    soft(check_eq, oct(stat.S_IMODE(st.st_mode)), oct(0o644), f"{what}: mode of the link's target")


def test():
    soft = Soft()
    top = tempfile.mkdtemp(prefix="lptest.symlink.")
    try:
        def case(name):
            d = os.path.join(top, name.replace(" ", "_"))
            os.mkdir(d)
            return d

        # 0. No link at all: a 0600 file (umask 0), nothing left behind.
        d = case("plain")
        r, final = run_knobs(d)
        soft(check, os.path.isfile(final), f"plain: no report file {final}; stderr:\n{r.stderr[-500:]}")
        delivered(soft, "plain", r, final, d)
        soft(check_eq, r.warnings(), [], "plain: warnings")

        # 1. Symlink at the final name -> a file.
        d = case("final symlink")
        victim = make_victim(d)
        r, final = run_knobs(d, plant_before=lambda f: os.symlink(victim, f))
        victim_intact(soft, "symlink at the final name", victim)
        delivered(soft, "symlink at the final name", r, final, d)

        # 2. Dangling symlink at the final name: its target is not created.
        d = case("final dangling")
        target = os.path.join(d, "must-not-exist")
        r, final = run_knobs(d, plant_before=lambda f: os.symlink(target, f))
        soft(check, not os.path.lexists(target), f"dangling symlink at the final name: "
                                                 f"its target {target} was created")
        delivered(soft, "dangling symlink at the final name", r, final, d)

        # 3. Symlink at the temporary name -> a file (planted once the pid is known).
        d = case("tmp symlink")
        victim = make_victim(d)
        r, final = run_knobs(d, plant_after_start=lambda f, pid: os.symlink(victim, f"{f}.tmp.{pid}"))
        victim_intact(soft, "symlink at the temporary name", victim)
        delivered(soft, "symlink at the temporary name", r, final, d)

        # 4. Dangling symlink at the temporary name.
        d = case("tmp dangling")
        target = os.path.join(d, "must-not-exist")
        r, final = run_knobs(d, plant_after_start=lambda f, pid: os.symlink(target, f"{f}.tmp.{pid}"))
        soft(check, not os.path.lexists(target), f"dangling symlink at the temporary name: "
                                                 f"its target {target} was created")
        delivered(soft, "dangling symlink at the temporary name", r, final, d)

        # 5. Hard link at the final name: the other name keeps its content.
        d = case("final hardlink")
        victim = make_victim(d)
        r, final = run_knobs(d, plant_before=lambda f: os.link(victim, f))
        victim_intact(soft, "hard link at the final name", victim)
        delivered(soft, "hard link at the final name", r, final, d)

        # 6. A directory at the final name: left as it is, with what it holds.
        d = case("final directory")
        r, final = run_knobs(d, plant_before=lambda f: (os.mkdir(f), make_victim(f)))
        soft(check, os.path.isdir(final), "directory at the final name: it is gone")
        victim_intact(soft, "directory at the final name", os.path.join(final, "victim"))
        delivered(soft, "directory at the final name", r, final, d)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    soft.done()


main(test)
