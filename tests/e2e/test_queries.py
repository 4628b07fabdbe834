"""docs/queries.md: every ```promql block of the cookbook runs against a real Prometheus
scraping the demo (cost history backfilled) and returns data."""
from __future__ import annotations

import re

from support import grafana_sim as gs
import pytest
from support.stack import REPO

BLOCKS = re.findall(r"```promql\n(.*?)```", (REPO / "docs" / "queries.md").read_text(), re.DOTALL)


def test_the_cookbook_answers_the_v1_questions():
    text = (REPO / "docs" / "queries.md").read_text()
    for question in ("What runs in account X?", "What did service Y cost last week?",
                     "Which dev instances have run longest?", "What changed since yesterday?",
                     "Which resources lack an owner tag?"):
        assert f"## {question}" in text
    assert len(BLOCKS) >= 15


@pytest.fixture(scope="module")
def prometheus(demo_prometheus):
    gs.wait_for_churn(demo_prometheus)  # "what changed" reads tombstones
    return demo_prometheus


@pytest.mark.parametrize("expr", BLOCKS, ids=[f"query{n + 1}" for n in range(len(BLOCKS))])
def test_cookbook_query_returns_data(prometheus, expr):
    assert prometheus.query(expr), f"no data for:\n{expr}"
