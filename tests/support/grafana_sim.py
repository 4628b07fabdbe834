"""What Grafana does with a dashboard's queries before and after Prometheus answers, for the
proof tests: variable values and interpolation, $__interval / $__rate_interval / $__range,
the Prometheus data source's table frames, and the few transformations Polo's panels use.

Only the behaviour Polo's dashboards rely on is modelled, after Grafana 11's source
(public/app/features/templating, plugins/datasource/prometheus, packages/grafana-data
transformers); anything else fails loudly rather than being guessed."""
from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field

from support.stack import REPO

DASHBOARDS = REPO / "grafana" / "dashboards"
SCRAPE_INTERVAL = 60.0  # the data source's timeInterval (grafana/provisioning/datasources/polo.yml)
MAX_DATA_POINTS = 1000  # a wide panel
DAY = 86400.0


def load_dashboards() -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels(board: dict) -> list[dict]:
    return [p for p in board["panels"] if p.get("type") != "row"]


# --- time -----------------------------------------------------------------------------------------

UNITS = {"s": 1, "m": 60, "h": 3600, "d": DAY, "w": 7 * DAY, "y": 365 * DAY}


def parse_duration(text: str) -> float:
    match = re.fullmatch(r"(\d+)([smhdwy])", text)
    assert match, f"unsupported duration {text!r}"
    return int(match.group(1)) * UNITS[match.group(2)]


def time_range(board: dict, now: float) -> tuple[float, float]:
    """The dashboard's default range (`now-90d`, `now/M` ...) in UTC, as epoch seconds."""
    start = board["time"]["from"]
    assert board["time"]["to"] == "now", board["time"]
    if start == "now/M":
        t = time.gmtime(now)
        return float(time.mktime((t.tm_year, t.tm_mon, 1, 0, 0, 0, 0, 0, 0)) - time.timezone), now
    match = re.fullmatch(r"now-(\w+)", start)
    assert match, f"unsupported time range {start!r}"
    return now - parse_duration(match.group(1)), now


# Grafana's kbn.roundInterval: (upper bound ms, interval ms).
ROUNDING = [(10, 1), (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
            (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000), (45000, 30000),
            (90000, 60000), (210000, 120000), (450000, 300000), (1050000, 600000), (2100000, 900000),
            (4500000, 1800000), (9000000, 3600000), (17100000, 10800000), (43200000, 21600000),
            (86400000, 43200000), (604800000, 86400000), (1814400000, 604800000), (3628800000, 2592000000)]


def round_interval(ms: float) -> float:
    for bound, interval in ROUNDING:
        if ms < bound:
            return interval
    return 31536000000


def interval_for(start: float, end: float, min_interval: str | None) -> float:
    """$__interval in seconds: the range over max data points, rounded, at least the minimum
    (the target's interval, else the data source's scrape interval)."""
    low = parse_duration(min_interval) if min_interval else SCRAPE_INTERVAL
    return max(round_interval((end - start) * 1000 / MAX_DATA_POINTS) / 1000, low)


def seconds_text(value: float) -> str:
    return f"{int(value)}s"


# --- variables --------------------------------------------------------------------------------------

VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]")
LABEL_VALUES = re.compile(r"label_values\((.*),\s*(\w+)\)\s*$", re.DOTALL)
REGEX_SPECIAL = re.compile(r"([\\^$*+?.()|{}\[\]])")


def regex_escape(value: str) -> str:
    """The Prometheus data source escapes regex metacharacters in variable values."""
    return REGEX_SPECIAL.sub(r"\\\\\1", value)


GRAFANA_REGEX_SPECIAL = re.compile(r"([\\^$*+?.()|\[\]{}/])")


def interpolate(text: str, values: dict[str, list[str] | str]) -> str:
    """Replace $var / ${var} / [[var]] as Grafana does for Prometheus: several values become
    `(a|b)`, a single one its escaped self, text box values are used as typed; the `:regex`
    format escapes a value with one backslash (Grafana's escapeRegex). Unknown names (e.g. `$1`
    in label_replace) are left alone."""
    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        if name not in values:
            return match.group(0)
        value = values[name]
        if match.group(3) is not None:
            assert match.group(3) == "regex" and isinstance(value, str), f"unmodelled format {match.group(0)}"
            return GRAFANA_REGEX_SPECIAL.sub(r"\\\1", value)
        if isinstance(value, str):
            return value
        escaped = [regex_escape(v) for v in value]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
    return VARIABLE.sub(replace, text)


def builtins(start: float, end: float, interval: float) -> dict[str, str]:
    span = end - start
    return {"__interval": seconds_text(interval), "__interval_ms": str(int(interval * 1000)),
            "__rate_interval": seconds_text(max(interval + SCRAPE_INTERVAL, 4 * SCRAPE_INTERVAL)),
            "__range": seconds_text(span), "__range_s": str(int(span)), "__range_ms": str(int(span * 1000))}


def variable_values(prometheus, board: dict, start: float, end: float,
                    pick: str = "all") -> dict[str, list[str] | str]:
    """Each variable's values, resolved in order like Grafana: `label_values(selector, label)`
    through the series API over the time range. pick="all" selects "All" (the variable's
    allValue, as Grafana sends it), "first" the first option (sorted as the variable says); a
    single-select variable always holds its first option. Either way the variable's query must
    return options. Text boxes keep their default."""
    values: dict[str, list[str] | str] = {}
    for variable in board.get("templating", {}).get("list", []):
        name, kind = variable["name"], variable["type"]
        if kind == "textbox":
            values[name] = variable.get("query", "") or ""
            continue
        assert kind == "query", f"{board['uid']}: unsupported variable type {kind}"
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        match = LABEL_VALUES.fullmatch(interpolate(query, values).strip())
        assert match, f"{board['uid']}: ${name}: unsupported variable query {query!r}"
        assert "$" not in match.group(1), f"{board['uid']}: ${name}: unknown variable in {query!r}"
        assert not variable.get("regex"), f"{board['uid']}: ${name}: variable regex is not modelled"
        selector, label = match.groups()
        series = prometheus.api("series", **{"match[]": selector, "start": start, "end": end})
        options = sorted({s[label] for s in series if s.get(label)})
        assert options, f"{board['uid']}: ${name} ({query}) has no values"
        if not variable.get("multi"):  # a single-select variable holds one option, the first by default
            values[name] = options[:1]
        elif pick == "all" and variable.get("includeAll"):  # Grafana sends every option without allValue
            values[name] = variable.get("allValue") or options
        else:
            values[name] = options if pick == "all" else options[:1]
    return values


# --- queries ----------------------------------------------------------------------------------------

@dataclass
class Query:
    board: str
    panel: str
    panel_type: str
    ref: str
    expr: str
    instant: bool
    table: bool
    interval: str | None
    repeat: str | None = None  # the variable a repeated panel runs once per value of


def queries(board: dict) -> list[Query]:
    found = []
    for panel in panels(board):
        for target in panel.get("targets", []):
            found.append(Query(board["uid"], panel["title"], panel["type"], target["refId"], target["expr"],
                               bool(target.get("instant")), target.get("format") == "table",
                               target.get("interval") or panel.get("interval"), panel.get("repeat")))
    return found


def repeated(query: Query, values: dict) -> list[dict]:
    """The variable values each copy of the query's panel runs with: a repeated panel is one
    copy per selected value of its variable, holding that value alone."""
    if query.repeat is None:
        return [values]
    chosen = values[query.repeat]
    assert isinstance(chosen, list), f"{query.panel}: repeat over ${query.repeat}, which has no option list"
    return [{**values, query.repeat: [value]} for value in chosen]


def run(prometheus, query: Query, values: dict, start: float, end: float) -> list[dict]:
    """The query as Grafana would send it: instant at the end of the range, or a range query
    with Grafana's step over the dashboard's range. Grafana aligns the points to multiples of
    the step; here the last point is `now` instead, so that a Prometheus only minutes old (the
    live series) is proven over the same range as the backfilled history."""
    interval = interval_for(start, end, query.interval)
    expr = interpolate(query.expr, {**values, **builtins(start, end, interval)})
    assert "$" not in re.sub(r"\$\{?\d+\}?", "", expr), f"uninterpolated variable in {expr}"
    if query.instant:
        return prometheus.query(expr, time=end)
    points = math.ceil((end - start) / interval)
    return prometheus.query_range(expr, end - points * interval, end, interval)


# --- frames and transformations -------------------------------------------------------------------

@dataclass
class Frame:
    ref: str
    fields: dict[str, list] = field(default_factory=dict)  # name -> values, in order

    @property
    def length(self) -> int:
        return len(next(iter(self.fields.values()), []))

    def rows(self) -> list[dict]:
        return [{name: values[i] for name, values in self.fields.items()} for i in range(self.length)]


def table_frame(ref: str, result: list[dict], several_queries: bool) -> Frame:
    """The Prometheus data source's table format: Time, one column per label (sorted), then the
    value, named "Value #<refId>" when the panel has several queries."""
    labels = sorted({k for s in result for k in s["metric"]})
    value_name = f"Value #{ref}" if several_queries else "Value"
    frame = Frame(ref, {"Time": [s["value"][0] for s in result]})
    for label in labels:
        frame.fields[label] = [s["metric"].get(label, "") for s in result]
    frame.fields[value_name] = [float(s["value"][1]) for s in result]
    return frame


def merge(frames: list[Frame]) -> list[Frame]:
    """Grafana's "merge": one table keyed on the fields every frame has; a row joins an earlier
    row with the same key when none of their values conflict, else it is a row of its own."""
    if len(frames) < 2:
        return frames
    names = list(dict.fromkeys(name for frame in frames for name in frame.fields))
    key_names = [n for n in names if all(n in frame.fields for frame in frames)]
    rows: list[dict] = []
    by_key: dict[tuple, list[dict]] = {}
    for frame in frames:
        for row in frame.rows():
            candidates = by_key.setdefault(tuple(row[n] for n in key_names), [])
            target = next((c for c in candidates
                           if all(c.get(n) in (None, v) for n, v in row.items())), None)
            if target is None:
                target = {}
                candidates.append(target)
                rows.append(target)
            target.update(row)
    return [Frame(frames[0].ref, {name: [row.get(name) for row in rows] for name in names})]


def transform(frames: list[Frame], transformations: list[dict]) -> list[Frame]:
    for spec in transformations:
        options = spec.get("options") or {}
        matcher = spec.get("filter")
        if matcher:
            assert matcher["id"] == "byRefId", matcher
        chosen = [f for f in frames if not matcher or f.ref == matcher["options"]]
        if spec["id"] == "merge":
            frames = merge(chosen) + [f for f in frames if f not in chosen]
            continue
        for frame in chosen:
            if spec["id"] == "organize":  # renames only change the display name: names stay
                for name, excluded in options.get("excludeByName", {}).items():
                    if excluded:
                        frame.fields.pop(name, None)
            elif spec["id"] == "renameByRegex":  # display names only, like organize's renames
                pass
            elif spec["id"] == "filterFieldsByName":
                keep = options["include"]["names"]
                frame.fields = {n: v for n, v in frame.fields.items() if n in keep}
            elif spec["id"] == "calculateField":
                assert options["mode"] == "reduceRow" and options["reduce"]["reducer"] == "sum", options
                sources = [frame.fields[n] for n in options["reduce"]["include"] if n in frame.fields]
                frame.fields[options["alias"]] = [sum(v) for v in zip(*sources)] if sources else []
            else:
                raise AssertionError(f"transformation {spec['id']} is not modelled")
    return frames


def panel_frames(prometheus, board: dict, panel: dict, values: dict, start: float, end: float) -> list[Frame]:
    """The frames a table or node graph panel shows: its instant table queries, transformed."""
    targets = panel["targets"]
    frames = []
    for target in targets:
        query = Query(board["uid"], panel["title"], panel["type"], target["refId"], target["expr"],
                      True, True, target.get("interval"))
        frames.append(table_frame(target["refId"], run(prometheus, query, values, start, end), len(targets) > 1))
    return transform(frames, panel.get("transformations", []))


def display_names(panel: dict) -> dict[str, str]:
    """Field name -> the name the table shows, from the panel's organize transformations."""
    renames: dict[str, str] = {}
    for spec in panel.get("transformations", []):
        if spec["id"] == "organize":
            renames.update(spec["options"].get("renameByName", {}))
    return renames


def regex_renames(panel: dict, field: str) -> str:
    """The name a field shows after the panel's renameByRegex transformations (JS replace: $1)."""
    for spec in panel.get("transformations", []):
        if spec["id"] == "renameByRegex":
            pattern, replacement = spec["options"]["regex"], spec["options"]["renamePattern"]
            field = re.sub(pattern, re.sub(r"\$(\d)", r"\\\1", replacement), field)
    return field


def wait_for_churn(prometheus) -> None:
    """Tombstones appear once the demo's churn (half a sweep interval after start) has deleted
    something and the exporter has swept again (the `demo_prometheus` demo sweeps every minute)."""
    prometheus.wait_for("polo_resource_deleted_timestamp_seconds", timeout=480)
