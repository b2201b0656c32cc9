"""docs/options.md carries, between <!-- options-table-begin --> and
<!-- options-table-end -->, exactly the table the shim prints with
LEAKPROBE_HELP=1 (which is generated from src/options.def)."""
import difflib
import os
import subprocess

from lptest import SRC, check, clean_env, main

BEGIN, END = "<!-- options-table-begin -->", "<!-- options-table-end -->"


def test():
    env = clean_env(shim=True, json_reports=False)
    env["LEAKPROBE_HELP"] = "1"
    env["LEAKPROBE_OUTPUT"] = "/dev/null"  # keep the exit report out of stderr
    p = subprocess.run(["/bin/true"], env=env, capture_output=True, timeout=60)
    check(p.returncode == 0, f"/bin/true under the shim exited {p.returncode}: {p.stderr.decode()[-500:]}")
    printed = [l for l in p.stderr.decode().splitlines() if l.startswith("|")]
    check(len(printed) >= 3, f"LEAKPROBE_HELP=1 printed no table on stderr:\n{p.stderr.decode()[-800:]}")
    doc = os.path.join(SRC, "docs", "options.md")
    check(os.path.exists(doc), f"{doc} does not exist: it must hold the options table between "
                               f"{BEGIN} and {END}; the table is:\n" + "\n".join(printed))
    with open(doc) as fh:
        lines = fh.read().splitlines()
    check(lines.count(BEGIN) == 1 and lines.count(END) == 1,
          f"{doc}: expected exactly one line {BEGIN} and one line {END}")
    b, e = lines.index(BEGIN), lines.index(END)
    check(b < e, f"{doc}: {END} comes before {BEGIN}")
    documented = [l for l in lines[b + 1:e] if l.strip()]
    if documented != printed:
        diff = difflib.unified_diff(documented, printed, "docs/options.md", "LEAKPROBE_HELP=1",
                                    lineterm="")
        check(False, f"{doc}: the table differs from LEAKPROBE_HELP=1 output:\n" + "\n".join(diff))


main(test)
