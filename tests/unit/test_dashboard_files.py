"""Grafana dashboards as files: the committed JSON is what grafana/generate.py writes, every
panel is described and has a unit, links and provisioning hold. No Prometheus needed, so a stale
dashboard fails the fast tier, not only CI; tests/e2e/test_dashboards.py proves the queries."""
from __future__ import annotations

import re
import subprocess
import sys

from support import grafana_sim as gs
from support.stack import REPO

CONTRACT_UIDS = {"polo-overview", "polo-resources", "polo-diagram", "polo-costs", "polo-budget",
                 "polo-actions", "polo-analytics", "polo-exporter", "polo-showback", "polo-commitments"}
BOARDS = gs.load_dashboards()
METRIC = re.compile(r"(?<![:\w])polo_[a-z0-9_]+(?![:\w])")  # not inside a recording rule's name


def generator():
    sys.path.insert(0, str(REPO / "grafana"))
    import generate
    return generate


def all_exprs(board: dict) -> list[str]:
    exprs = [t["expr"] for p in gs.panels(board) for t in p.get("targets", [])]
    return exprs + [v["query"] for v in board["templating"].get("list", []) if v["type"] == "query"]


def test_committed_json_is_what_the_generator_writes(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "grafana" / "generate.py"), "--out", str(tmp_path)],
                            capture_output=True, text=True, check=True)
    assert "wrote 10 dashboards" in result.stdout
    written = {p.name: p.read_bytes() for p in tmp_path.glob("*.json")}
    committed = {p.name: p.read_bytes() for p in gs.DASHBOARDS.glob("*.json")}
    assert written == committed, "run: python grafana/generate.py"


def test_check_mode_names_a_file_that_differs(tmp_path):
    generator().main(["--out", str(tmp_path)])
    (tmp_path / "polo-costs.json").write_text("{}\n")
    result = subprocess.run([sys.executable, str(REPO / "grafana" / "generate.py"), "--check", "--out", str(tmp_path)],
                            check=False, capture_output=True, text=True)
    assert result.returncode == 1
    assert "polo-costs.json" in result.stderr and "polo-budget.json" not in result.stderr


def test_uids_tags_links_and_time_ranges_are_fixed():
    assert {b["uid"] for b in BOARDS.values()} == CONTRACT_UIDS
    for name, board in BOARDS.items():
        assert name == board["uid"], "file name follows the uid"
        assert "polo" in board["tags"] and len(board["tags"]) >= 2
        assert board["time"]["to"] == "now"
        links = board["links"]
        assert links and all(link["includeVars"] and link["keepTime"] for link in links)
        ids = [p["id"] for p in board["panels"]]
        assert ids == list(range(1, len(ids) + 1))


def test_every_panel_has_a_description_a_unit_and_the_fixed_datasource():
    for board in BOARDS.values():
        for panel in gs.panels(board):
            where = f"{board['uid']} / {panel['title']}"
            assert len(panel.get("description", "")) > 20, where
            assert panel["fieldConfig"]["defaults"].get("unit"), where
            assert panel["datasource"] == {"type": "prometheus", "uid": "polo-prometheus"}, where
            assert panel["targets"], where
    for variable in (v for b in BOARDS.values() for v in b["templating"].get("list", []) if v["type"] == "query"):
        assert variable["datasource"]["uid"] == "polo-prometheus"


def test_overview_stats_link_to_the_dashboard_behind_them():
    for panel in gs.panels(BOARDS["polo-overview"]):
        urls = [link["url"] for link in panel.get("links", [])]
        assert len(urls) == 1, panel["title"]
        uid = re.match(r"/d/([\w-]+)\?", urls[0]).group(1)
        assert uid in CONTRACT_UIDS - {"polo-overview"}
        assert "${__all_variables}" in urls[0] and "${__url_time_range}" in urls[0]


def test_queries_read_only_documented_metrics():
    documented = set(re.findall(r"^\| `(polo_[a-z0-9_]+)`", (REPO / "docs" / "metrics.md").read_text(), re.MULTILINE))
    assert len(documented) > 30
    used = {m for b in BOARDS.values() for e in all_exprs(b) for m in METRIC.findall(e)}
    assert used - documented == set()
    assert len(used) > 25


def test_provisioning_points_at_the_dashboards_and_the_fixed_datasource():
    import yaml

    datasource = yaml.safe_load((REPO / "grafana/provisioning/datasources/polo.yml").read_text())["datasources"][0]
    assert (datasource["uid"], datasource["type"], datasource["url"]) == (
        "polo-prometheus", "prometheus", "http://prometheus:9090")
    assert datasource["jsonData"]["timeInterval"] == f"{int(gs.SCRAPE_INTERVAL)}s"
    provider = yaml.safe_load((REPO / "grafana/provisioning/dashboards/polo.yml").read_text())["providers"][0]
    assert provider["folder"] == "Polo" and provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/polo"
