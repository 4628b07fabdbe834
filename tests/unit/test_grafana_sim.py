"""The proof tests' model of Grafana (tests/support/grafana_sim.py) on known cases, so a wrong model
cannot make a dashboard look proven."""
from __future__ import annotations

from support import grafana_sim as gs


def test_interpolation_formats_variables_as_the_prometheus_data_source_does():
    values = {"account": ["prod", "marqtune_prod"], "region": ["us-east-1"], "env": ".*", "search": "a.b"}
    expr = 'x{account=~"$account", region=~"${region}", environment=~"[[env]]", name=~".*$search.*"}'
    assert gs.interpolate(expr, values) == (
        'x{account=~"(prod|marqtune_prod)", region=~"us-east-1", environment=~".*", name=~".*a.b.*"}')
    assert gs.interpolate('x{v=~"$v"}', {"v": ["a.b"]}) == 'x{v=~"a\\\\.b"}'
    assert gs.interpolate('label_replace(x, "l", "$1", "s", "(.*)") ${2}', values) == (
        'label_replace(x, "l", "$1", "s", "(.*)") ${2}')


def test_intervals_follow_grafanas_rounding():
    day = gs.DAY
    assert gs.interval_for(0, 90 * day, None) == 3600  # 90 days / 1000 points -> 1h
    assert gs.interval_for(0, day, None) == 60  # 86 s rounds to 1m
    assert gs.interval_for(0, 7 * day, "5m") == 600
    assert gs.interval_for(0, 3600, None) == gs.SCRAPE_INTERVAL  # never below the scrape interval
    assert gs.interval_for(0, 90 * day, "1d") == day
    assert gs.builtins(0, 7 * day, 60)["__rate_interval"] == "240s"
    assert gs.builtins(0, 7 * day, 600)["__rate_interval"] == "660s"


def test_merge_joins_rows_on_the_fields_every_frame_has():
    a = gs.Frame("A", {"Time": [1, 1], "key": ["k1", "k2"], "name": ["one", "two"], "Value #A": [1.0, 1.0]})
    b = gs.Frame("B", {"Time": [1], "key": ["k2"], "Value #B": [5.0]})
    c = gs.Frame("C", {"Time": [1, 1], "key": ["k1", "k3"], "Value #C": [7.0, 9.0]})
    (merged,) = gs.merge([a, b, c])
    assert merged.rows() == [
        {"Time": 1, "key": "k1", "name": "one", "Value #A": 1.0, "Value #B": None, "Value #C": 7.0},
        {"Time": 1, "key": "k2", "name": "two", "Value #A": 1.0, "Value #B": 5.0, "Value #C": None},
        {"Time": 1, "key": "k3", "name": None, "Value #A": None, "Value #B": None, "Value #C": 9.0},
    ]


def test_transformations_filter_by_query_and_name_fields_like_grafana():
    nodes = gs.table_frame("nodes", [{"metric": {"id": "a", "title": "A"}, "value": [1, "2.5"]}], True)
    edges = gs.table_frame("edges", [{"metric": {"id": "a->b", "source": "a", "target": "b"}, "value": [1, "1"]}], True)
    out = gs.transform([nodes, edges], [
        {"id": "calculateField", "filter": {"id": "byRefId", "options": "nodes"},
         "options": {"mode": "reduceRow", "alias": "mainstat",
                     "reduce": {"reducer": "sum", "include": ["Value #nodes"]}}},
        {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {"title": "mainstat2"}}},
        {"id": "filterFieldsByName", "filter": {"id": "byRefId", "options": "edges"},
         "options": {"include": {"names": ["id", "source", "target"]}}},
    ])
    assert list(out[0].fields) == ["id", "title", "Value #nodes", "mainstat"]  # a rename is display only
    assert out[0].fields["mainstat"] == [2.5]
    assert list(out[1].fields) == ["id", "source", "target"]


def test_the_regex_format_escapes_as_grafana_does():
    assert gs.interpolate("`.*${search:regex}.*`", {"search": "a(b)/c.d"}) == "`.*a\\(b\\)\\/c\\.d.*`"


def test_a_repeated_panel_runs_once_per_selected_value():
    query = gs.Query("b", "Missing $tag", "bargauge", "A", 'x{$tag=""}', True, False, None, repeat="tag")
    copies = gs.repeated(query, {"tag": ["tag_a", "tag_b"], "other": ".*"})
    assert [c["tag"] for c in copies] == [["tag_a"], ["tag_b"]] and all(c["other"] == ".*" for c in copies)
