"""heap.peak_bytes of Python programs whose threads free what another
thread allocated (tests/python/peak.py: a handoff loop, and http.server's
ThreadingHTTPServer, a thread per request), against two oracles:

- the same program without the shim: the peak of the bytes it asked for
  cannot exceed its max RSS (every block here is written when made);
- tracemalloc's peak (get_traced_memory()[1]) in a separate run with
  PYTHONTRACEMALLOC=1.  What is comparable: with PYTHONMALLOC=malloc every
  Python block is one malloc of the size tracemalloc records (with
  pymalloc, small objects live in arenas mmap()ed by CPython, which the
  shim never sees).  tracemalloc does not see what the interpreter
  allocates before it starts, nor C code calling malloc directly (libc,
  ld.so); the shim does not run in the traced process, whose trace
  tables (malloc()ed, untraced) it would count.  So the peaks differ by
  what tracemalloc does not see, which is also what the live bytes at the
  end differ by: that is checked, to 128 KiB + 1 %.

Before the fix, a thread's pending change died with it: the peak climbed
by up to 64 KiB per ended thread (53 MB after 4000 requests, live 2.7 MB)."""
import json
import sys

from lptest import SRC, Soft, check, main, run

PY = "/usr/bin/python3"
SCRIPT = f"{SRC}/tests/python/peak.py"
WORKLOADS = [["handoff", "400"], ["httpd", "1200"]]
ENV = {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0", "PYTHONPATH": None,
       "PYTHONTRACEMALLOC": None, "PYTHONDEVMODE": None}
# Two threads besides the one at the peak may hold a pending change (64 KiB
# each): the server's and a request's; plus 1 % for the runs' own noise.
FLUSH = 64 * 1024


def out_of(r, what):
    check(r.rc == 0, f"{what}: exit code {r.rc}; stderr:\n{r.stderr[-2000:]}")
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    check(lines, f"{what}: no result line; stdout:\n{r.stdout[-1000:]}")
    return json.loads(lines[-1])


def one(work):
    what = " ".join(work)
    argv = [PY, "-S", SCRIPT] + work
    plain = out_of(run(argv, env=ENV, shim=False, timeout=300), f"{what} (plain)")
    traced = out_of(run(argv, env=dict(ENV, PYTHONTRACEMALLOC="1"), shim=False,
                        timeout=300), f"{what} (tracemalloc)")
    r = run(argv, env=ENV, timeout=300)
    out_of(r, f"{what} (shim)")
    end = [x for x in r.reports if x.get("label") == "end"]
    check(end, f"{what}: no report 'end'; reports {[x['_file'] for x in r.reports]}")
    peak, live = end[-1]["heap"]["peak_bytes"], end[-1]["heap"]["live_bytes"]
    tm_peak, tm_now = traced["tm_peak"], traced["tm_current"]
    # What tracemalloc cannot see is the same at the peak as at the end
    # (interpreter start-up, libc): the peaks differ by what the live
    # bytes differ by.
    off = (peak - tm_peak) - (live - tm_now)
    slack = 2 * FLUSH + tm_peak // 100
    print(f"{what}: peak_bytes {peak} (live {live}), tracemalloc peak {tm_peak} (current "
          f"{tm_now}): unseen by tracemalloc {peak - tm_peak} at the peak, {live - tm_now} at "
          f"the end; plain max RSS {plain['maxrss']}")
    soft = Soft()
    soft(check, peak <= plain["maxrss"],
         f"{what}: peak_bytes {peak} above the plain program's max RSS {plain['maxrss']}")
    soft(check, abs(off) <= slack,
         f"{what}: peak_bytes {peak} - tracemalloc's peak {tm_peak} = {peak - tm_peak}, but "
         f"live_bytes {live} - tracemalloc's current {tm_now} = {live - tm_now}: the peaks "
         f"differ by {off} more than the live bytes do (allowed {slack})")
    soft.done()


def test():
    soft = Soft()
    for work in WORKLOADS:
        soft(one, work)
    soft.done()


main(test)
