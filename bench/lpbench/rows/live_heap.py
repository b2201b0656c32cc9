# SPDX-License-Identifier: MIT
"""live.c in wait mode, shared by rows 3 and 4: it allocates n blocks of 32
bytes from 4 sites, says "ready", and keeps them live until its stdin
closes, so the runner can look at (or signal) a process with a known heap."""

import threading


def vm_rss_kb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def wait_ready(p, timeout):
    """Read the 'ready' line of live.c in wait mode."""
    box = {}

    def reader():
        box["line"] = p.stdout.readline()
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    th.join(timeout)
    line = box.get("line", b"")
    if not line.startswith(b"ready"):
        raise RuntimeError(f"live: no ready line ({line!r})")


def live_run(h, exe, n, env, action, mode="wait"):
    """Start live.c in wait (or tick) mode, let action(p) run once it is
    ready, then close its stdin so it exits.  action's dict lands on the
    Sample."""
    argv = [str(exe), str(n), "32", "4", mode]

    def converse(p):
        try:
            wait_ready(p, h.timeout)
            return action(p)
        finally:
            p.stdin.close()
            p.stdout.close()
    return h.measure_conversing(argv, env, converse)
