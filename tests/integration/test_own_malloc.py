"""An executable that defines malloc/free itself (a bump allocator): the
shim's hooks are never called for it.  The shim says so once on stderr
(naming malloc and the executable), the report's "warnings" carries it (and
the text report's header), and the program works as without the shim."""
import os
import re

from lptest import Soft, check, check_eq, main, prog, run


def test():
    exe = prog("own_malloc")
    plain = run([exe], shim=False)
    check_eq(plain.rc, 4, f"exit code without the shim; stderr {plain.stderr[-300:]}")
    check("own malloc used: yes" in plain.stdout, f"the program's malloc is used: {plain.stdout!r}")
    soft = Soft()
    r = run([exe])
    soft(check_eq, r.rc, plain.rc, "exit code under the shim (vs without)")
    soft(check_eq, r.stdout, plain.stdout, "stdout under the shim (vs without)")
    warns = r.warnings()
    soft(check_eq, len(warns), 1, f"warning lines on stderr {warns}")
    soft(check, any("malloc" in w and os.path.basename(exe) in w for w in warns),
         f"a warning naming malloc and {os.path.basename(exe)}: {warns}")
    rep = r.report("exit")
    soft(check, len(rep["warnings"]) == 1 and "malloc" in rep["warnings"][0],
         f"report warnings: expected one mentioning malloc, seen {rep['warnings']}")
    t = run([exe], json_reports=False)
    soft(check, re.search(r"^==\d+== WARNING: .*malloc", t.stderr, re.M),
         f"text report: no WARNING line about malloc:\n{t.stderr[:600]}")
    soft.done()


main(test)
