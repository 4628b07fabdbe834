"""Grafana dashboards on real data: every query of every panel and variable answers with data
from a real Prometheus scraping the demo, with the cost history backfilled since the golden date.
The checks on the files alone are in tests/unit/test_dashboard_files.py."""
from __future__ import annotations

import sys
import time

import pytest
from support import grafana_sim as gs
from support.stack import REPO

CONTRACT_UIDS = {"polo-overview", "polo-resources", "polo-diagram", "polo-costs", "polo-budget",
                 "polo-actions", "polo-analytics", "polo-exporter", "polo-showback", "polo-commitments"}
BOARDS = gs.load_dashboards()
NODE_FIELDS = {"id", "title", "subtitle", "mainstat", "color", "detail__account", "detail__region",
               "detail__state", "detail__resource_id"}
EDGE_FIELDS = {"id", "source", "target"}


# --- proof on real data -------------------------------------------------------------------------------

# Panels listing problems the demo does not have: with every option selected they must be empty.
EMPTY_WHEN_HEALTHY = {("polo-actions", "Findings that cannot be priced")}


def prove(prometheus, board: dict, pick: str, need_data: bool) -> int:
    """Run every query of `board` as Grafana would; returns how many ran."""
    now = time.time()
    start, end = gs.time_range(board, now)
    values = gs.variable_values(prometheus, board, start, end, pick)
    failures = []
    ran = 0
    for query in gs.queries(board):
        for copy in gs.repeated(query, values):
            ran += 1
            try:
                result = gs.run(prometheus, query, copy, start, end)
            except AssertionError as err:
                failures.append(f"{query.panel} [{query.ref}]: rejected: {err}")
                continue
            if need_data and (board["uid"], query.panel) in EMPTY_WHEN_HEALTHY:
                if result:  # the demo prices every finding: this panel lists the gaps
                    failures.append(f"{query.panel} [{query.ref}]: data where the demo has none: {result[:3]}")
            elif need_data and not result:
                failures.append(f"{query.panel} [{query.ref}]: no data for {query.expr}")
    assert not failures, f"{board['uid']} ({pick} values):\n" + "\n".join(failures)
    return ran


@pytest.fixture(scope="module")
def prometheus(demo_prometheus):
    gs.wait_for_churn(demo_prometheus)  # Analytics shows deletions
    return demo_prometheus


@pytest.mark.parametrize("uid", sorted(CONTRACT_UIDS))
def test_every_query_returns_data_with_every_option_selected(prometheus, uid):
    assert prove(prometheus, BOARDS[uid], "all", need_data=True) > 0


@pytest.mark.parametrize("uid", sorted(CONTRACT_UIDS))
def test_every_query_is_accepted_with_the_first_option_of_each_variable(prometheus, uid):
    prove(prometheus, BOARDS[uid], "first", need_data=False)


def test_variables_have_real_values(prometheus):
    for board in BOARDS.values():
        start, end = gs.time_range(board, time.time())
        for name, value in gs.variable_values(prometheus, board, start, end).items():
            assert isinstance(value, str) or value, f"{board['uid']}: ${name}"


def node_graph(prometheus, values=None):
    board = BOARDS["polo-diagram"]
    (panel,) = gs.panels(board)
    start, end = gs.time_range(board, time.time())
    values = values or gs.variable_values(prometheus, board, start, end)
    frames = {f.ref: f for f in gs.panel_frames(prometheus, board, panel, values, start, end)}
    return frames["nodes"], frames["edges"]


def test_node_graph_frames_have_the_exact_fields_and_edges_join_nodes(prometheus):
    nodes, edges = node_graph(prometheus)
    assert set(nodes.fields) == NODE_FIELDS
    assert set(edges.fields) == EDGE_FIELDS
    ids = nodes.fields["id"]
    assert len(ids) == len(set(ids)) and 0 < len(ids) <= 1500
    assert all(isinstance(v, float) for v in nodes.fields["mainstat"]) and max(nodes.fields["mainstat"]) > 0
    assert all(nodes.fields["title"]) and all(c.startswith("#") for c in nodes.fields["color"])
    assert edges.length == len(ids) - len({r["id"] for r in nodes.rows() if r["subtitle"].startswith("account")})
    known = set(ids)
    for edge in edges.rows():
        assert edge["source"] in known and edge["target"] in known, edge
    kinds = {r["subtitle"].split()[0] for r in nodes.rows()}
    assert kinds == {"account", "vpc", "subnet", "ec2_instance", "ebs_volume", "nat_gateway", "load_balancer",
                     "rds_instance"}


def test_node_graph_follows_the_account_and_vpc_variables(prometheus):
    vpc = prometheus.query('polo_resource_info{resource_type="vpc", account="controller", region="us-east-1"}')[0]
    values = {"environment": ["prod"], "account": ["controller"], "region": ".*",
              "vpc": [vpc["metric"]["resource_id"]]}
    nodes, edges = node_graph(prometheus, values)
    assert 5 < nodes.length < 100
    assert set(nodes.fields["detail__account"]) == {"controller"}
    assert {r["detail__resource_id"] for r in nodes.rows() if r["subtitle"].startswith("vpc")} == {
        vpc["metric"]["resource_id"]}
    assert {e["source"] for e in edges.rows()} <= set(nodes.fields["id"])


def resources_table(prometheus, search: str = ""):
    board = BOARDS["polo-resources"]
    panel = next(p for p in gs.panels(board) if p["type"] == "table")
    start, end = gs.time_range(board, time.time())
    values = {**gs.variable_values(prometheus, board, start, end), "search": search}
    (frame,) = gs.panel_frames(prometheus, board, panel, values, start, end)
    return panel, frame


def test_resource_table_joins_created_time_and_cost_and_links_every_row_to_its_console_page(prometheus):
    sys.path.insert(0, str(REPO / "grafana"))
    from boards.console import PAGES, console_page

    panel, frame = resources_table(prometheus)
    rows = frame.rows()
    assert len(rows) == len(prometheus.query("polo_resource_info"))
    types = {r["resource_type"] for r in rows}
    assert types == set(PAGES), "every demo resource type is in the table and has a console page"
    account_ids = {s["metric"]["account"]: s["metric"]["account_id"] for s in prometheus.query("polo_account_info")}
    for row in rows:
        url = console_page(row["resource_type"], row["region"], account_ids[row["account"]], row["resource_id"])
        assert row["console_url"] == url, row
        assert url.startswith("https://") and row["region"] in url
    instance = next(r for r in rows if r["resource_type"] == "ec2_instance")
    assert instance["console_url"] == (f"https://{instance['region']}.console.aws.amazon.com/ec2/home?region="
                                       f"{instance['region']}#InstanceDetails:instanceId={instance['resource_id']}")
    names = gs.display_names(panel)
    created, cost, billed = (next(n for n, shown in names.items() if shown == s)
                             for s in ("Created", "Monthly cost", "Billed this month"))
    dated = [r for r in rows if r["resource_type"] == "ebs_volume"]
    assert dated and all(r[created] and r[created] > 1e12 for r in dated), "created time in ms"
    assert all(r[cost] is not None for r in rows if r["resource_type"] == "ec2_instance")
    assert all(r[cost] is None for r in rows if r["resource_type"] == "vpc")
    estimated = [r for r in rows if r[cost] is not None]
    assert len([r for r in estimated if r[billed] is not None]) >= 0.9 * len(estimated), "billed beside estimated"
    tags = {name for name in frame.fields if name.startswith("tag_")}  # whatever tag labels the data has
    assert tags == {"tag_team", "tag_service"}  # no demo resource has an Environment tag
    assert {gs.regex_renames(panel, name) for name in tags} == {"team tag", "service tag"}
    link = next(o for o in panel["fieldConfig"]["overrides"] if o["matcher"]["options"] == "Name")
    assert link["properties"][0]["value"][0]["url"] == "${__data.fields.console_url}"


def test_resource_search_matches_name_or_id_case_insensitively(prometheus):
    _, by_name = resources_table(prometheus, "API")
    assert by_name.length and all("api" in (r["name"] + r["resource_id"]).lower() for r in by_name.rows())
    rows = by_name.rows()

    def matches(tail: str) -> int:
        return sum(tail in (r["name"] + r["resource_id"]).lower() for r in rows)

    # the id whose tail is rarest among the matches (ids of one service can share long suffixes)
    some_id = min((r["resource_id"] for r in rows), key=lambda i: matches(i[-8:].lower()))
    _, by_id = resources_table(prometheus, some_id[-8:])
    assert some_id in by_id.fields["resource_id"]
    assert by_id.length < by_name.length


@pytest.mark.parametrize("typed", ["(", "[a", "a.b", 'a"b', "x\\y", "/", "*", "+api", "{1"])
def test_resource_search_takes_regex_characters_literally(prometheus, typed):
    """Typing `(` once made every query of the dashboard a PromQL parse error."""
    board = BOARDS["polo-resources"]
    start, end = gs.time_range(board, time.time())
    values = {**gs.variable_values(prometheus, board, start, end), "search": typed}
    for query in gs.queries(board):
        for copy in gs.repeated(query, values):
            gs.run(prometheus, query, copy, start, end)  # accepted by Prometheus
    _, found = resources_table(prometheus, typed)
    assert all(typed.lower() in (r["name"] + r["resource_id"]).lower() for r in found.rows()), typed


def test_the_missing_tag_panels_follow_the_tag_keys_in_the_data(prometheus):
    board = BOARDS["polo-resources"]
    start, end = gs.time_range(board, time.time())
    values = gs.variable_values(prometheus, board, start, end)
    # the demo's tags.labels, Environment too, though no resource carries it (Prometheus keeps
    # no empty label, so label_names(polo_resource_info) would miss the most missing tag)
    assert values["tag"] == ["tag_Environment", "tag_service", "tag_team"]
    [query] = [q for q in gs.queries(board) if q.repeat == "tag"]
    for copy in gs.repeated(query, values):
        (tag,) = copy["tag"]
        missing = {s["metric"]["resource_type"]: float(s["value"][1])
                   for s in gs.run(prometheus, query, copy, start, end)}
        assert sum(missing.values()) == len(prometheus.query(f'polo_resource_info{{{tag}=""}}')) > 0, tag


def test_daily_cost_panels_read_each_backfilled_day_once(prometheus):
    """The per-day expression on its 1-day step gives, at midnight D+1, exactly day D's
    backfilled total; the live series (yesterday's figure) agrees with yesterday's history, so
    the seam between the two neither doubles nor drops a day."""
    sys.path.insert(0, str(REPO / "grafana"))
    from boards.common import daily_cost

    today = time.time() // gs.DAY * gs.DAY
    days = 60
    every_account = 'account=~".*"'
    series = prometheus.query_range(f"sum({daily_cost(every_account)})", today - days * gs.DAY, today, gs.DAY)
    (points,) = [s["values"] for s in series]
    assert len(points) == days + 1
    for midnight, value in points:
        day_total = prometheus.query('sum(polo_cost_daily_usd{job=""})', time=midnight - 1)
        assert float(value) == pytest.approx(float(day_total[0]["value"][1]), rel=1e-9)
    live = prometheus.query('sum(polo_cost_daily_usd{job="polo"})')
    assert float(live[0]["value"][1]) == pytest.approx(float(points[-1][1]), rel=1e-6)
