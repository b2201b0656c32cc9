"""peak.py - workloads whose heap peak tracemalloc measures too
(driver: tests/integration/test_peak_python.py).

  peak.py handoff ROUNDS     the main thread builds ~2 MB of bytearrays,
                             a new thread drops them and ends, ROUNDS
                             times; then the main thread alone builds
                             ~6 MB and drops it
  peak.py httpd REQUESTS     http.server's ThreadingHTTPServer (a thread
                             per request) serves REQUESTS GETs of a small
                             file to a client in this process

At the end: leakprobe_report("end") when the shim is there, and one JSON
line on stdout: {"maxrss": bytes, "tm_peak": ..., "tm_current": ...} (the
tracemalloc figures when it traces: PYTHONTRACEMALLOC=1)."""
import ctypes
import json
import os
import resource
import sys
import threading
import tracemalloc

# PyDLL: the call keeps the GIL.
_report = getattr(ctypes.PyDLL(None), "leakprobe_report", None)


def build(nbytes):
    return [bytearray(4000) for _ in range(nbytes // 4000)]


def handoff(rounds):
    def one_round():
        held = [build(2_000_000)]
        t = threading.Thread(target=held.clear)
        t.start()
        t.join()

    for _ in range(rounds):
        one_round()
    big = build(6_000_000)
    del big


def httpd(requests):
    import http.server
    import tempfile
    import urllib.request

    root = tempfile.mkdtemp(prefix="lp-peak.")
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<p>" + "x" * 3000 + "</p>\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=root, **k)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever)
    t.start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/index.html"

    def get():
        with urllib.request.urlopen(url) as r:
            r.read()

    for _ in range(requests):
        get()
    srv.shutdown()
    t.join()
    srv.server_close()
    os.unlink(os.path.join(root, "index.html"))
    os.rmdir(root)


def main():
    what, n = sys.argv[1], int(sys.argv[2])
    {"handoff": handoff, "httpd": httpd}[what](n)
    out = {"maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    if tracemalloc.is_tracing():
        out["tm_current"], out["tm_peak"] = tracemalloc.get_traced_memory()
    if _report is not None:
        _report(b"end")
    print(json.dumps(out), flush=True)


main()
