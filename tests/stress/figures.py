"""Sum the figures the hostile-environment tests wrote.

usage: python3 tests/stress/figures.py [BUILD_DIR]   (default: build)
after `meson test -C BUILD_DIR --suite stress --suite fuzz`.  Each test
writes BUILD_DIR/tests/stress/figures/<test>.json: processes run (with and
without the shim), signals sent to processes under the shim, forks and
threads they made, reports collected, reports lost (expected but never
written), runs that hung (killed at their timeout), fuzz inputs."""
import glob
import json
import os
import sys

build = sys.argv[1] if len(sys.argv) > 1 else "build"
files = sorted(glob.glob(os.path.join(build, "tests", "stress", "figures", "*.json")))
if not files:
    sys.exit(f"no figures under {build}/tests/stress/figures: run the suites first")
total = {}
print(f"{'test':32} " + " ".join(f"{k:>10}" for k in
                                  ("runs", "shim_runs", "signals", "forks", "threads", "reports",
                                   "lost", "hangs", "fuzz_inputs")))
for f in files:
    with open(f) as fh:
        d = json.load(fh)
    for k, v in d.items():
        total[k] = total.get(k, 0) + v
    print(f"{os.path.basename(f)[:-5]:32} " + " ".join(
        f"{d.get(k, 0):>10}" for k in ("runs", "shim_runs", "signals", "forks", "threads",
                                        "reports", "lost", "hangs", "fuzz_inputs")))
print(f"{'total':32} " + " ".join(f"{total.get(k, 0):>10}" for k in
                                   ("runs", "shim_runs", "signals", "forks", "threads", "reports",
                                    "lost", "hangs", "fuzz_inputs")))
