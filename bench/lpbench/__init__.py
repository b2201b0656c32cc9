# SPDX-License-Identifier: MIT
"""lpbench - the pieces of bench/run, leakprobe's overhead benchmark.

config      where things are, the sizes of a full and a --quick run, the targets
harness     running one child (wall, CPU, max RSS from wait4), medians,
            timeouts, interleaved configurations, quiet-machine checks
provenance  what was measured: machine, shim build, tool versions
exit_report what leakprobe's exit report says about itself (uptime, cost)
rows/       one module per row: run(harness, params) -> results
markdown    results -> the Markdown document (also for saved results)

Python 3 standard library only.
"""
