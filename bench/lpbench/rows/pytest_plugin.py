# SPDX-License-Identifier: MIT
"""Row 8, the pytest plugin: what `--leakprobe` adds per test, on a
suite of small tests (workloads/pytest_suite.py): pytest under the shim
with the plugin's verdicts against the same run without them, and
plain pytest (no shim) for scale."""

from ..config import ROOT, WORKLOADS
from ..harness import log, med

TESTS = 200


def run(h, params):
    runs = params["runs"]
    log(f"row 8: the pytest plugin over {TESTS} small tests")
    suite = h.tmp / "pytest_suite"
    suite.mkdir(exist_ok=True)
    (suite / "test_suite.py").write_text((WORKLOADS / "pytest_suite.py").read_text())
    argv = [h.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
            "leakprobe.pytest_plugin", str(suite / "test_suite.py")]
    base = {"LP_PYTEST_TESTS": str(TESTS), "PYTHONPATH": str(ROOT / "tools" / "python"),
            "LEAKPROBE_CLASSIFY": "never"}
    res = {"tests": TESTS, "problems": []}
    for name, extra, env in (("plain", [], base), ("shim", [], h.lp_env(base)),
                             ("plugin", ["--leakprobe"], h.lp_env(base))):
        ok = []
        for r in range(runs):
            m = h.measure(argv + extra, env)
            if m.rc != 0:
                res["problems"].append(f"{name} run {r + 1}: exit status {m.rc}: "
                                       f"{(m.stderr or '')[-300:]}")
                continue
            ok.append(m)
        res[name] = med(ok, "wall")
        log(f"  {name}: {res[name]} s")
    if res.get("plugin") and res.get("shim"):
        res["per_test_ms"] = (res["plugin"] - res["shim"]) / TESTS * 1000
    return res
