"""Row 8's test suite, generated: TESTS small tests, each doing what a
unit test of a service does (build a few hundred objects, a dict of
results, a string), none leaving anything behind.  Collected by pytest
from this file; LP_PYTEST_TESTS sets the number."""
import os

import pytest

TESTS = int(os.environ.get("LP_PYTEST_TESTS", "200"))


@pytest.mark.parametrize("i", range(TESTS))
def test_small_unit(i):
    rows = [{"id": k, "name": f"item {k}", "tags": [k, k + i]} for k in range(300)]
    index = {r["id"]: r for r in rows}
    assert len(index) == 300 and ",".join(r["name"] for r in rows[:5])
