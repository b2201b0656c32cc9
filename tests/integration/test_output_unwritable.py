"""LEAKPROBE_OUTPUT that cannot be written: a missing directory, a path
under a regular file, a directory even root cannot write in (sysfs), a
name too long, a FIFO nobody reads, a device that fails every write
(/dev/full).  Each time: exactly one warning on stderr naming the path,
the report delivered on stderr (complete, with the program's leaks), the
program's stdout and exit code unchanged.  (The tests run as root, so
permission bits alone cannot make a path unwritable.)"""
import os
import shutil
import stat
import tempfile

from lptest import Soft, check, check_eq, check_leaks, json_reports_in_text, main, prog, run


def cases(tmp):
    regular = os.path.join(tmp, "a-regular-file")
    with open(regular, "w") as fh:
        fh.write("x")
    fifo = os.path.join(tmp, "fifo-without-reader")
    os.mkfifo(fifo)
    out = [
        ("missing directory", os.path.join(tmp, "no-such-dir", "r.json")),
        ("under a regular file", os.path.join(regular, "r.json")),
        ("name too long", os.path.join(tmp, "n" * 300 + ".json")),
        ("FIFO without a reader", fifo),
    ]
    # sysfs refuses new files even to root; make sure it does here.
    try:
        fd = os.open("/sys/leakprobe-probe", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink("/sys/leakprobe-probe")
        print("/sys is writable here: that case is left out")
    except OSError:
        out.append(("directory root cannot write (sysfs)", "/sys/r.%p.json"))
    if os.path.exists("/dev/full") and stat.S_ISCHR(os.stat("/dev/full").st_mode):
        out.append(("device failing every write (/dev/full)", "/dev/full"))
    return out


def test():
    plain = run([prog("knobs")], shim=False)
    check_eq(plain.rc, 7, "exit code without the shim")
    tmp = tempfile.mkdtemp(prefix="lptest.unwritable.")
    soft = Soft()
    try:
        for what, path in cases(tmp):
            r = run([prog("knobs")], output=path)
            soft(check_eq, r.rc, plain.rc, f"{what}: exit code")
            soft(check_eq, r.stdout, plain.stdout, f"{what}: stdout")
            # The warning names the expanded path (the program states its pid).
            shown = path.replace("%p", str(int(r.truth["facts"]["pid"])))
            warns = r.warnings()
            soft(check_eq, len(warns), 1, f"{what}: warning lines on stderr {warns}")
            soft(check, any(shown in w for w in warns),
                 f"{what}: a warning naming {shown!r}; seen {warns}")
            reps = json_reports_in_text(r.stderr)
            if not reps:
                soft.failures.append(f"{what}: no report on stderr; stderr:\n{r.stderr[-800:]}")
                continue
            soft(check_eq, len(reps), 1, f"{what}: reports on stderr")
            soft(check_eq, reps[0]["reason"], "exit", f"{what}: reason")
            soft(check_leaks, reps[0], r.truth["leaks"], f"{what}: report on stderr")
            soft(check_eq, sorted(os.listdir(tmp)),
                 sorted(["a-regular-file", "fifo-without-reader"]),
                 f"{what}: files left in the directory (no temporary file behind)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    soft.done()


main(test)
