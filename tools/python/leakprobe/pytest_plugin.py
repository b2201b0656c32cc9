"""pytest plugin: fail a test that leaves leaks behind it.

    leakprobe run -- python3 -m pytest -p leakprobe.pytest_plugin --leakprobe

With --leakprobe, each test's call is followed by one quiet leakprobe
report with a leak verdict (nothing written, no frame named, only the
lost sites); the test fails when it holds what the call left:

  - new unreachable cycles: garbage that only CPython's collector would
    free (grouped by member types), made during the call.  The youngest
    generation is collected before the call and the automatic collector
    paused during it, so that the verdict does not depend on when it last
    ran;
  - new definitely-lost native blocks (a C extension's malloc whose
    pointer was dropped): per allocation stack, against the previous
    test's report, so a test's setup and teardown count with it.

Interpreter caches and anything a module or fixture still holds are
reachable and never count.  Per test, as pytest-memray's limit_leaks:

    @pytest.mark.leakprobe(cycles=3, lost_bytes=4096)

allows that much (cycles: new unreachable groups; lost_bytes: new
definitely-lost bytes); `--leakprobe-cycles N` and `--leakprobe-lost-bytes
N` set the defaults (0).  A test that fails on its own keeps its own
failure.  Without the shim in the process, --leakprobe is an error."""
import gc
from collections import Counter

import pytest

import leakprobe

MARKER = "leakprobe"
_STASH_KEY = "_leakprobe_verdict"


def pytest_addoption(parser):
    group = parser.getgroup("leakprobe", "leak verdicts from libleakprobe.so")
    group.addoption("--leakprobe", action="store_true", default=False,
                    help="fail tests that leave new unreachable cycles or new "
                         "definitely-lost native blocks behind them")
    group.addoption("--leakprobe-cycles", type=int, default=0, metavar="N",
                    help="new unreachable groups a test may leave (default 0)")
    group.addoption("--leakprobe-lost-bytes", type=int, default=0, metavar="N",
                    help="new definitely-lost native bytes a test may leave (default 0)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"{MARKER}(cycles=0, lost_bytes=0): the leaks this test may leave "
        "behind it under --leakprobe")
    if not config.getoption("leakprobe"):
        return
    if not leakprobe.active():
        raise pytest.UsageError(
            "--leakprobe: libleakprobe.so does not track this process; run pytest "
            "under it: leakprobe run -- python3 -m pytest ...")
    config.pluginmanager.register(_LeakCheck(config), "leakprobe-check")


class _Snapshot:
    """What one quiet report says: unreachable groups by their member
    types, definitely-lost bytes and blocks by allocation stack."""

    def __init__(self, rep):
        # Groups with a member in the youngest generation were made during
        # the call (the collector is paused for it, so nothing it makes
        # is promoted); old groups (objects the call only let go of) are
        # new when the previous report did not have them.
        self.young, self.old = Counter(), Counter()
        for g in rep.get("unreachable") or []:
            types = tuple(sorted(o["type"] for o in g["objects"]))
            young = any(o.get("generation") == 0 for o in g["objects"])
            (self.young if young else self.old)[types] += 1
        self.lost = {}
        for s in rep.get("sites") or []:
            if s["kind"] == "definitely_lost":
                key = _stack_key(s["stack"])
                blocks, size = self.lost.get(key, (0, 0))
                self.lost[key] = (blocks + s["blocks"], size + s["bytes"])


def _stack_key(stack):
    return tuple((f.get("module"), f.get("offset")) for f in stack)


def _quiet_report(label, named=False):
    rep = leakprobe.report(label, classify=True, named=named, write=False, leaks_only=True)
    if rep is None:
        raise RuntimeError("leakprobe: the report could not be taken (see stderr)")
    return rep


class _LeakCheck:
    def __init__(self, config):
        self.cycles = config.getoption("leakprobe_cycles")
        self.lost_bytes = config.getoption("leakprobe_lost_bytes")
        # The report after the previous test's call: native blocks lost
        # since then are this test's (its fixtures' included).
        self.previous = None

    def _limits(self, item):
        mark = item.get_closest_marker(MARKER)
        kw = mark.kwargs if mark else {}
        unknown = set(kw) - {"cycles", "lost_bytes"}
        if unknown or (mark and mark.args):
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.{MARKER} takes cycles= and lost_bytes= "
                f"only, not {sorted(unknown) or mark.args}")
        return kw.get("cycles", self.cycles), kw.get("lost_bytes", self.lost_bytes)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        limits = self._limits(item)
        was_enabled = gc.isenabled()
        # The youngest generation is collected now (the setup's garbage,
        # cheap) and the collector paused: what the call makes stays young.
        gc.collect(0)
        gc.disable()
        try:
            if self.previous is None:
                self.previous = _Snapshot(_quiet_report("before " + item.nodeid))
            outcome = yield
            after = _Snapshot(_quiet_report("after " + item.nodeid))
            before, self.previous = self.previous, after
            if outcome.excinfo is None:
                verdict = _verdict(before, after, limits)
                if verdict:
                    setattr(item, _STASH_KEY, verdict)
        finally:
            if was_enabled:
                gc.enable()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        verdict = getattr(item, _STASH_KEY, None)
        if call.when != "call" or verdict is None:
            return
        rep = outcome.get_result()
        rep.outcome = "failed"
        rep.longrepr = _describe(verdict, item)


def _verdict(before, after, limits):
    """What the test left that its limits do not allow, or None."""
    max_cycles, max_lost = limits
    new_groups = after.young + (after.old - before.old)
    new_lost = {}
    for key, (blocks, size) in after.lost.items():
        b0, s0 = before.lost.get(key, (0, 0))
        if size > s0:
            new_lost[key] = (blocks - b0, size - s0)
    n_groups = sum(new_groups.values())
    n_lost = sum(size for _, size in new_lost.values())
    if n_groups <= max_cycles and n_lost <= max_lost:
        return None
    return {"groups": new_groups, "lost": new_lost, "limits": limits}


def _describe(verdict, item):
    max_cycles, max_lost = verdict["limits"]
    lines = []
    groups = verdict["groups"]
    n_groups = sum(groups.values())
    if n_groups > max_cycles:
        objects = sum(len(t) * n for t, n in groups.items())
        lines.append(f"leakprobe: {item.nodeid} left {n_groups} new unreachable "
                     f"group(s) of {objects} object(s) behind it (allowed: {max_cycles}); "
                     "only a gc.collect() would free them:")
        for types, n in groups.most_common(10):
            members = Counter(types)
            names = ", ".join(t if k == 1 else f"{k} {t}" for t, k in sorted(members.items()))
            lines.append(f"    {n} x {{{names}}}")
    lost = verdict["lost"]
    n_lost = sum(size for _, size in lost.values())
    if n_lost > max_lost:
        lines.append(f"leakprobe: {item.nodeid} left {n_lost} byte(s) definitely lost "
                     f"in {sum(b for b, _ in lost.values())} native block(s) "
                     f"(allowed: {max_lost}):")
        names = _frame_names()
        for key, (blocks, size) in sorted(lost.items(), key=lambda kv: -kv[1][1])[:5]:
            lines.append(f"    {size} byte(s) in {blocks} block(s) allocated from:")
            for i, frame in enumerate(key[:12]):
                lines.append(f"        #{i} {names.get(frame, _unnamed(frame))}")
    return "\n".join(lines)


def _frame_names():
    """Frame names, asked once of a named report when a test has failed
    (the reports around each test name no frame: they stay cheap)."""
    names = {}
    rep = _quiet_report("naming", named=True)
    for s in rep.get("sites") or []:
        for f in s["stack"]:
            where = f"{f['file']}:{f['line']}" if f.get("file") else None
            text = " ".join(x for x in (f.get("function") or "??", where,
                                        f"({f.get('module')})") if x)
            names[(f.get("module"), f.get("offset"))] = text
    return names


def _unnamed(frame):
    module, offset = frame
    return f"?? ({module}+{offset})"
