# SPDX-License-Identifier: MIT
"""Where the benchmark's inputs are, how big each row is, and its targets."""

from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent
WORKLOADS = BENCH / "workloads"
RESULTS = BENCH / "results"
LSAN_LIB = "/usr/lib/x86_64-linux-gnu/liblsan.so.0"

# Defaults: the whole run takes ~5-8 minutes on a quiet 2-core machine.
FULL = dict(w1_n=200_000, valgrind_n=20_000, churn_n=1_000_000,
            live_n=1_000_000, runs=3, churn_runs=5, w2_n=1_000_000, w2_k=10_000)
# --quick: ~1 minute.  Rows 3 and 4 are defined at 1 M live blocks and are
# cheap, so they keep their size.
QUICK = dict(w1_n=50_000, valgrind_n=5_000, churn_n=300_000,
             live_n=1_000_000, runs=3, churn_runs=3, w2_n=1_000_000, w2_k=10_000)

TARGETS = {
    "w1_full": 1.3,        # W1 wall time ratio vs plain, full stacks
    "w1_depth0": 1.1,      # W1 wall time ratio vs plain, capture off
    "churn_scaling": 1.8,  # 2-thread / 1-thread throughput, leakprobe
    "table_bytes": 32.0,   # heap.table_bytes / heap.live_blocks
    "latency_s": 1.0,      # SIGUSR1 -> report file, 1 M live blocks
    "w1p": 1.05,           # W1 with pymalloc, wall time ratio vs plain
    "w2": 1.2,             # detector time / gc.collect() time on W2
    "pytest_ms": 50.0,     # pytest --leakprobe, ms added per small test
}


def params(quick, runs=None, **sizes):
    """The sizes and run counts of this invocation: --quick or full, with
    the command line's overrides (None = not given).  --runs sets churn's
    count too."""
    p = dict(QUICK if quick else FULL)
    for k, v in sizes.items():
        if k in p and v is not None:
            p[k] = v
    if runs is not None:
        p["runs"] = p["churn_runs"] = runs
    return p
