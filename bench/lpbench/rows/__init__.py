# SPDX-License-Identifier: MIT
"""The rows, in the document's order.  Each module's run(harness, params)
measures one row and returns its results (plain data, saved as JSON);
markdown.py renders them."""

from . import churn, latency, pytest_plugin, table, verdict, w1, w1p, w2

# key -> module; the keys name the rows on the command line, in the saved
# results and in the document.
ROWS = {"w1": w1, "churn": churn, "table": table, "latency": latency,
        "w1p": w1p, "w2": w2, "verdict": verdict, "pytest": pytest_plugin}
# --rows also takes the rows' numbers.
ALIASES = {str(i): key for i, key in enumerate(ROWS, 1)}
