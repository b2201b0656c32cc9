"""Where reports without LEAKPROBE_OUTPUT, and our warnings, go: stderr as
it was when the program started (tests/programs/stream_uses.c).

Truth: the same program without the shim (its files' contents, its exit
status, when a reader of its stderr sees the end), and the block it leaks.

- Closed at start-up: nothing of ours lands in the file the program
  opens next on descriptor 2 (a bad option's warning neither).
- Closed before exit (close(2), or fclose(stderr) as coreutils do): the exit report still reaches the
  original stderr, and not the program's file now on descriptor 2.
- dup2() onto 2: the report follows stderr to the new file, after the
  program's own line.
- A daemon child that dup2()s /dev/null over 0-2: the parent's stderr
  pipe ends when the parent exits, as without the shim (our copy of it is
  released)."""
import os
import subprocess
import tempfile
import time

from lptest import SHIM, Soft, check, check_eq, clean_env, main, prog

LINE = "the program's own line\n"


def run(mode, shim, close_stderr=False, extra=None):
    d = tempfile.mkdtemp(prefix="lpstream.")
    path = os.path.join(d, "file")
    env = clean_env(shim=shim, json_reports=False)
    env.update(extra or {})
    t0 = time.monotonic()
    p = subprocess.Popen([prog("stream_uses"), mode, path], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL if close_stderr else subprocess.PIPE,
                         preexec_fn=(lambda: os.close(2)) if close_stderr else None)
    out, err = p.communicate(timeout=30)  # to the end of stdout and stderr
    seconds = time.monotonic() - t0
    try:
        with open(path) as fh:
            content = fh.read()
    except FileNotFoundError:
        content = None
    return p.returncode, out.decode(), (err or b"").decode(errors="replace"), content, seconds


def test():
    soft = Soft()
    report_mark = "leakprobe report 1 (exit)"

    rc0, _, _, file0, _ = run("reuse", shim=False, close_stderr=True)
    rc, _, _, content, _ = run("reuse", shim=True, close_stderr=True,
                               extra={"LEAKPROBE_TOP": "garbage"})
    soft(check_eq, (rc, content), (rc0, file0),
         "reuse: exit status and the program's file on descriptor 2 (stderr closed at start)")
    soft(check_eq, file0, LINE, "reuse: the plain run's file")

    for mode in ("close", "fclose"):
        rc0, _, err0, file0, _ = run(mode, shim=False)
        rc, _, err, content, _ = run(mode, shim=True)
        soft(check_eq, (rc, content), (rc0, file0), f"{mode}: exit status and the program's file")
        soft(check, report_mark in err and "leak_once" in err,
             f"{mode}: the exit report on the original stderr after the program closed it: "
             f"{err[-600:]!r}")

    rc0, _, _, file0, _ = run("moved", shim=False)
    rc, _, err, content, _ = run("moved", shim=True)
    soft(check_eq, rc, rc0, "moved: exit status")
    soft(check, content is not None and content.startswith(LINE) and report_mark in content
         and "leak_once" in content,
         f"moved: the program's line, then the exit report, in the file it dup2()ed onto 2: "
         f"{(content or '')[:300]!r}")
    soft(check, report_mark not in err, f"moved: the report on the old stderr: {err[-300:]!r}")

    rc0, out0, _, _, t_plain = run("daemon", shim=False)
    rc, out, err, _, t = run("daemon", shim=True)
    soft(check_eq, (rc, out), (rc0, out0), "daemon: exit status and stdout")
    soft(check, t_plain < 2.5, f"daemon: plain, the parent's pipes ended after {t_plain:.2f} s")
    soft(check, t < 2.5, f"daemon: under the shim the parent's stderr pipe ended after {t:.2f} s "
                         f"(the daemon child sleeps 3 s; plain {t_plain:.2f} s)")
    soft.done()


main(test)
