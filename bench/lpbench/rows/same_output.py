# SPDX-License-Identifier: MIT
"""A check shared by the Python rows: an instrumented run must print what
the plain run printed, or its figures time something else."""


def same_output_check(problems):
    """check(name, sample) for Harness.run_configs: the config named "plain"
    (run first) sets the expected last line; every other config must print
    it among its lines (heaptrack adds its own) and exit 0."""
    expected = {}

    def check(name, s):
        last = s.stdout.strip().splitlines()[-1] if s.stdout.strip() else ""
        if name == "plain":
            expected.setdefault("out", last)
        elif (expected.get("out") is not None and expected["out"] not in
              s.stdout.splitlines()):
            problems.append(f"{name}: output {last!r} differs from plain "
                            f"{expected['out']!r}")
        if s.rc:
            problems.append(f"{name}: exit status {s.rc}")
    return check
