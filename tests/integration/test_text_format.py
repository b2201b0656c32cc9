"""The default text report on stderr (leak_sites): every line prefixed with
==PID==; the header; per site "B bytes in N blocks live, allocated from:"
with frames "#0 0x... in leak_small .../leak_sites.c:LINE
(.../leak_sites+0x...)"; the SUMMARY line.  Figures equal the program's
truth; the summary equals the heap line and the sum of the sites.  The
cost line's total is within the time the test saw the process run (an
outside clock); that it is the sum of the phases it names is a format
check."""
import re
import time

from lptest import Failure, Soft, check, check_eq, main, prog, run

SITE = re.compile(r"^==(\d+)== (\d+) bytes in (\d+) blocks live, allocated from:$")
FRAME = re.compile(r"^==(\d+)==     #(\d+) (0x[0-9a-f]+)(?: in (.+?))?(?: (\S+):(\d+))? "
                   r"\((?:(\S+)\+(0x[0-9a-f]+)|<unknown module>)\)$")
COST = re.compile(r"^==\d+== This report took ([\d.]+) ms before it was written \(heap ([\d.]+), "
                  r"leak scan ([\d.]+), Python objects ([\d.]+), detector ([\d.]+), owners ([\d.]+), "
                  r"symbols ([\d.]+)\)\.$")
SUMMARY = re.compile(r"^==(\d+)== SUMMARY: leakprobe: (\d+) bytes live in (\d+) blocks "
                     r"from (\d+) sites; (\d+) large\.$")
HEAP = re.compile(r"^==(\d+)== heap: (\d+) live blocks, (\d+) live bytes, peak (\d+) bytes; "
                  r"(\d+) allocations, (\d+) frees$")


def parse(text):
    """[(bytes, blocks, [frames])], summary match, heap match, pid."""
    lines = [l for l in text.splitlines() if l.startswith("==")]
    check(lines, f"no text report on stderr:\n{text[-800:]}")
    m = re.match(r"^==(\d+)== leakprobe report 1 \(exit\), pid (\d+), uptime [\d.]+ s$", lines[0])
    check(m, f"header line: {lines[0]!r}")
    pid = m.group(1)
    check_eq(m.group(2), pid, "pid in the header vs the line prefix")
    bad = [l for l in lines if not l.startswith(f"=={pid}== ")]
    check(not bad, f"lines without the ==PID== prefix: {bad[:3]}")
    sites, summary, heap, cur, cost = [], None, None, None, None
    for l in lines:
        if SITE.match(l):
            g = SITE.match(l).groups()
            cur = (int(g[1]), int(g[2]), [])
            sites.append(cur)
        elif FRAME.match(l):
            check(cur is not None, f"a frame line outside a site: {l!r}")
            cur[2].append(FRAME.match(l).groups())
        elif "Lingering large allocations" in l:
            cur = None
        elif SUMMARY.match(l):
            summary = SUMMARY.match(l).groups()
        elif COST.match(l):
            g = [float(x) for x in COST.match(l).groups()]
            # Format: the total is the sum of the phases it names (one
            # decimal each).
            check(abs(g[0] - sum(g[1:])) < 0.4, f"report cost line does not add up: {l!r}")
            cost = g
        elif HEAP.match(l):
            heap = HEAP.match(l).groups()
        elif re.match(rf"^=={pid}==     #", l):
            raise Failure(f"a frame line in an unexpected form: {l!r}")
    check(summary, "no SUMMARY line")
    check(cost, "no 'This report took ... ms' line")
    check(heap, "no heap line")
    return sites, summary, heap, pid, cost


def test():
    t0 = time.monotonic()
    # The inventory (no verdict); the verdict's text: test_leak_kinds.
    r = run([prog("leak_sites")], json_reports=False, env={"LEAKPROBE_CLASSIFY": "never"})
    elapsed_ms = (time.monotonic() - t0) * 1e3
    check_eq(r.rc, 0, "exit code")
    soft = Soft()
    sites, summary, heap, pid, cost = parse(r.stderr)
    soft(check, 0 < cost[0] <= elapsed_ms, f"the report says it took {cost[0]} ms; the whole "
                                          f"process ran {elapsed_ms:.1f} ms")
    for leak in r.truth["leaks"]:
        mine = [s for s in sites if s[2] and s[2][0][3] == leak["function"]]
        soft(check_eq, len(mine), 1, f"{leak['function']}: sites whose #0 frame is it")
        if not mine:
            continue
        nbytes, blocks, frames = mine[0]
        soft(check_eq, (blocks, nbytes), (leak["blocks"], leak["bytes"]),
             f"{leak['function']}: (blocks, bytes) in the text report")
        _, idx, ip, func, path, line, module, off = frames[0]
        soft(check_eq, idx, "0", f"{leak['function']}: first frame index")
        soft(check, path and path.endswith("leak_sites.c"), f"{leak['function']}: file {path!r}")
        soft(check_eq, int(line or 0), leak["line"], f"{leak['function']}: line")
        soft(check, module and module.endswith("/leak_sites"), f"{leak['function']}: module {module!r}")
        soft(check, [int(f[1]) for f in frames] == list(range(len(frames))),
             f"{leak['function']}: frame numbers {[f[1] for f in frames]}")
        soft(check, any(f[3] == "main" for f in frames), f"{leak['function']}: no main frame")
    s_bytes, s_blocks, s_sites = int(summary[1]), int(summary[2]), int(summary[3])
    soft(check_eq, (s_bytes, s_blocks), (sum(s[0] for s in sites), sum(s[1] for s in sites)),
         "SUMMARY (bytes, blocks) vs the sites listed")
    soft(check_eq, s_sites, len(sites), "SUMMARY sites vs the sites listed")
    soft(check_eq, (s_blocks, s_bytes), (int(heap[1]), int(heap[2])),
         "SUMMARY (blocks, bytes) vs the heap line")
    # leak_sites frees everything but what it states (valgrind agrees: test_leak_sites).
    soft(check_eq, (s_bytes, s_blocks),
         (sum(l["bytes"] for l in r.truth["leaks"]), sum(l["blocks"] for l in r.truth["leaks"])),
         "SUMMARY (bytes, blocks) vs the program's truth")
    soft.done()


main(test)
