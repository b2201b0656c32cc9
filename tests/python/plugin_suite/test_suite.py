"""The pytest plugin's own test suite (run by tests/python/test_pytest_plugin.py
under `leakprobe run -- python3 -m pytest -p leakprobe.pytest_plugin
--leakprobe`).  Each test's name says what the plugin must decide; the
leaking ones leave a number of leaks known by construction
(LP_CYCLES groups; LP_LOST_BLOCKS blocks of LP_LOST_SIZE bytes)."""
import ctypes
import gc
import os

import pytest

CYCLES = int(os.environ.get("LP_CYCLES", "7"))
LOST_BLOCKS = int(os.environ.get("LP_LOST_BLOCKS", "50"))
LOST_SIZE = int(os.environ.get("LP_LOST_SIZE", "4000"))
CACHE = []


class Handler:
    pass


class Request:
    pass


def make_cycles(n):
    for _ in range(n):
        h, q = Handler(), Request()
        h.request, q.handler = q, h


# Loaded once: a CDLL object dropped is itself a garbage cycle.
EXT = ctypes.CDLL(os.environ["LP_LEAKY_EXT"])
EXT.leak_bytes.argtypes = [ctypes.c_size_t]
EXT.leak_bytes.restype = None


# Kept since import, then promoted to the oldest generation: a test that
# drops them leaves old objects as garbage.
OLD = []


def make_old_cycles(n):
    for _ in range(n):
        h, q = Handler(), Request()
        h.request, q.handler = q, h
        OLD.append(h)
    gc.collect()


def test_clean_passes():
    data = [dict(i=i) for i in range(1000)]
    assert len(data) == 1000


def test_cache_passes():
    # Held by a module: reachable, not a leak.
    CACHE.append([Handler() for _ in range(100)])


def test_cycles_fails():
    make_cycles(CYCLES)


def leak_blocks():
    for _ in range(LOST_BLOCKS):
        EXT.leak_bytes(LOST_SIZE)


def test_old_objects_dropped_fails():
    make_old_cycles(CYCLES)  # as a fixture of a broader scope would
    OLD.clear()


def test_native_leak_fails():
    leak_blocks()


@pytest.mark.leakprobe(cycles=CYCLES)
def test_cycles_allowed_passes():
    make_cycles(CYCLES)


@pytest.mark.leakprobe(cycles=CYCLES - 1)
def test_cycles_over_limit_fails():
    make_cycles(CYCLES)


@pytest.mark.leakprobe(lost_bytes=LOST_BLOCKS * LOST_SIZE)
def test_native_allowed_passes():
    leak_blocks()


def test_own_failure_kept_fails():
    make_cycles(CYCLES)
    assert False, "the test's own failure"
