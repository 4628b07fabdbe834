"""What every Polo dashboard shares: the data source, the standard variables (named as the
alert links expect: account, environment, region, resource_type, state, vpc), links that carry
them and the time range, units, thresholds, and small panel constructors that insist on a
description and a unit."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from grafana_foundation_sdk.builders import (
    bargauge,
    dashboard,
    piechart,
    stat,
    table,
    timeseries,
)
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import piechart as pm
from grafana_foundation_sdk.models import prometheus as promm

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="polo-prometheus")
TAGS = ["polo"]

USD, BYTES, SECONDS, COUNT, PERCENT = "currencyUSD", "bytes", "s", "short", "percentunit"
DATE_MS = "dateTimeAsIso"  # Grafana's date units read milliseconds since the epoch

UIDS = {
    "overview": "polo-overview", "resources": "polo-resources", "diagram": "polo-diagram",
    "costs": "polo-costs", "budget": "polo-budget", "actions": "polo-actions",
    "analytics": "polo-analytics", "exporter": "polo-exporter", "showback": "polo-showback",
    "commitments": "polo-commitments",
}

# Label filters for the standard variables, by metric family.
ACCOUNT = 'account=~"$account", environment=~"$environment"'
INVENTORY = ACCOUNT + ', region=~"$region", resource_type=~"$resource_type"'
IDENTITY = "account_id, region, resource_type, resource_id"

# Daily cost, one value per UTC day. Backfilled history is one sample per day at 23:59:59
# (and, written by promtool, has no job label); the live series repeats the last complete
# day every scrape. `last_over_time(...[1d])` on a 1-day step reads one day per point; where
# both exist for an (account, service), the backfilled sample wins so a day never counts twice.
COST_DAILY = ("(last_over_time(polo_cost_daily_usd{job=\"\", %(f)s}[1d])"
              " or ignoring (job, instance) last_over_time(polo_cost_daily_usd{%(f)s}[1d]))")


def daily_cost(filters: str = ACCOUNT) -> str:
    return COST_DAILY % {"f": filters}


def green_red(limit: float, warn: float | None = None) -> cogbuilder.Builder[dm.ThresholdsConfig]:
    """Green below `limit` (orange from `warn`), red from it."""
    steps = [dm.Threshold(value=None, color="green")]
    if warn is not None:
        steps.append(dm.Threshold(value=warn, color="orange"))
    steps.append(dm.Threshold(value=limit, color="red"))
    return dashboard.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(steps)


def red_green(orange_from: float, green_from: float) -> cogbuilder.Builder[dm.ThresholdsConfig]:
    """Red below `orange_from`, orange below `green_from`, green from it: for shares that should
    be high (coverage, utilization)."""
    steps = [dm.Threshold(value=None, color="red"), dm.Threshold(value=orange_from, color="orange"),
             dm.Threshold(value=green_from, color="green")]
    return dashboard.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(steps)


def warn_from(value: float) -> cogbuilder.Builder[dm.ThresholdsConfig]:
    """Green below `value`, orange from it: worth a look, not an emergency."""
    return dashboard.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(
        [dm.Threshold(value=None, color="green"), dm.Threshold(value=value, color="orange")])


def neutral() -> cogbuilder.Builder[dm.ThresholdsConfig]:
    """A single colour: the number means nothing good or bad by itself."""
    return dashboard.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(
        [dm.Threshold(value=None, color="blue")])


# --- variables ----------------------------------------------------------------------------------

def query_variable(name: str, label: str, query: str, multi: bool = True) -> dashboard.QueryVariable:
    variable = (dashboard.QueryVariable(name).label(label).datasource(DATASOURCE).query(query)
                .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dm.VariableSort.ALPHABETICAL_ASC))
    if multi:  # "All" by default, sent as .* (labels a resource lacks, such as state, match too)
        variable = (variable.multi(True).include_all(True).all_value(".*")
                    .current(dm.VariableOption(text="All", value="$__all", selected=True)))
    return variable


def environment_var():
    return query_variable("environment", "Environment", "label_values(polo_account_info, environment)")


def account_var():
    return query_variable("account", "Account",
                          'label_values(polo_account_info{environment=~"$environment"}, account)')


def region_var():
    return query_variable("region", "Region",
                          'label_values(polo_resource_info{account=~"$account"}, region)')


def resource_type_var():
    return query_variable("resource_type", "Type", 'label_values(polo_resource_info{account=~"$account", '
                          'region=~"$region"}, resource_type)')


def state_var():
    return query_variable("state", "State", 'label_values(polo_resource_info{account=~"$account", '
                          'region=~"$region", resource_type=~"$resource_type"}, state)')


def vpc_var():
    return query_variable("vpc", "VPC", 'label_values(polo_resource_info{account=~"$account", '
                          'region=~"$region", resource_type="vpc"}, resource_id)')


def search_var():
    return (dashboard.TextBoxVariable("search").label("Search name or id")
            .description("Case-insensitive substring of the resource's name or id (a regular expression)"))


# --- dashboards and links -----------------------------------------------------------------------

def new_dashboard(key: str, title: str, description: str, time_from: str, tags: Iterable[str],
                  variables: Iterable[Any]) -> dashboard.Dashboard:
    board = (dashboard.Dashboard(f"Polo / {title}").uid(UIDS[key]).description(description)
             .tags(TAGS + list(tags)).time(time_from, "now").timezone("utc").refresh("5m")
             .tooltip(dm.DashboardCursorSync.CROSSHAIR)
             .link(dashboard.DashboardLink("Polo dashboards").type(dm.DashboardLinkType.DASHBOARDS)
                   .tags(TAGS).as_dropdown(True).include_vars(True).keep_time(True)))
    for variable in variables:
        board = board.with_variable(variable)
    return board


def link_to(key: str, title: str) -> cogbuilder.Builder[dm.DashboardLink]:
    """A panel link to another Polo dashboard, carrying the variables and the time range."""
    return (dashboard.DashboardLink(title).type(dm.DashboardLinkType.LINK)
            .url(f"/d/{UIDS[key]}?${{__all_variables}}&${{__url_time_range}}"))


# --- queries ------------------------------------------------------------------------------------

def series(expr: str, legend: str = "", ref: str = "A", interval: str | None = None) -> prom.Dataquery:
    """A range query for time series panels."""
    query = prom.Dataquery().expr(expr).range().ref_id(ref).datasource(DATASOURCE)
    if legend:
        query = query.legend_format(legend)
    if interval:
        query = query.interval(interval)
    return query


def instant(expr: str, legend: str = "", ref: str = "A", table_format: bool = False) -> prom.Dataquery:
    """An instant query for stats, gauges and tables."""
    query = prom.Dataquery().expr(expr).instant().ref_id(ref).datasource(DATASOURCE)
    if legend:
        query = query.legend_format(legend)
    if table_format:
        query = query.format(promm.PromQueryFormat.TABLE)
    return query


# --- panels -------------------------------------------------------------------------------------

def _common(panel, title: str, description: str, unit: str, thresholds, width: int, height: int):
    return (panel.title(title).description(description).unit(unit).datasource(DATASOURCE)
            .thresholds(thresholds or neutral()).span(width).height(height))


def _with_targets(panel, targets: list, link: tuple[str, str] | None = None):
    """The panel's queries, and its link to the dashboard behind it if it has one."""
    if link:
        panel = panel.links([link_to(*link)])
    for target in targets:
        panel = panel.with_target(target)
    return panel


def stat_panel(title: str, description: str, unit: str, targets: list, thresholds=None,
               width: int = 6, height: int = 4, link: tuple[str, str] | None = None,
               text_mode: cm.BigValueTextMode = cm.BigValueTextMode.AUTO) -> stat.Panel:
    panel = _common(stat.Panel(), title, description, unit, thresholds, width, height)
    panel = (panel.color_mode(cm.BigValueColorMode.BACKGROUND if thresholds else cm.BigValueColorMode.VALUE)
             .graph_mode(cm.BigValueGraphMode.NONE).text_mode(text_mode)
             .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False)))
    return _with_targets(panel, targets, link)


def timeseries_panel(title: str, description: str, unit: str, targets: list, thresholds=None,
                     width: int = 12, height: int = 8, bars: bool = False,
                     stacked: bool = False) -> timeseries.Panel:
    panel = _common(timeseries.Panel(), title, description, unit, thresholds, width, height)
    panel = panel.legend(cb.VizLegendOptions().display_mode(cm.LegendDisplayMode.TABLE)
                         .placement(cm.LegendPlacement.RIGHT).show_legend(True).calcs(["lastNotNull"]))
    if bars:
        panel = panel.draw_style(cm.GraphDrawStyle.BARS).fill_opacity(80).line_width(1)
    else:
        panel = panel.fill_opacity(10)
    if stacked:
        panel = panel.stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL))
    if thresholds:
        panel = panel.thresholds_style(cb.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.LINE))
    return _with_targets(panel, targets)


def bar_gauge_panel(title: str, description: str, unit: str, targets: list, thresholds=None,
                    width: int = 12, height: int = 8, link: tuple[str, str] | None = None) -> bargauge.Panel:
    panel = _common(bargauge.Panel(), title, description, unit, thresholds, width, height)
    panel = (panel.orientation(cm.VizOrientation.HORIZONTAL).display_mode(cm.BarGaugeDisplayMode.BASIC)
             .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False)))
    return _with_targets(panel, targets, link)


def pie_panel(title: str, description: str, unit: str, targets: list, width: int = 8,
              height: int = 8, link: tuple[str, str] | None = None) -> piechart.Panel:
    panel = _common(piechart.Panel(), title, description, unit, None, width, height)
    legend = (piechart.PieChartLegendOptions().display_mode(cm.LegendDisplayMode.TABLE)
              .placement(cm.LegendPlacement.RIGHT).show_legend(True).values([pm.PieChartLegendValues.VALUE]))
    panel = (panel.pie_type(pm.PieChartType.DONUT).legend(legend)
             .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False)))
    return _with_targets(panel, targets, link)


def table_panel(title: str, description: str, unit: str, targets: list, thresholds=None,
                width: int = 24, height: int = 10, transformations: Iterable[dict] = (),
                sort_by: tuple[str, bool] | None = None) -> table.Panel:
    panel = _common(table.Panel(), title, description, unit, thresholds, width, height)
    panel = panel.footer(cb.TableFooterOptions().show(False).reducer(["sum"]))
    for spec in transformations:
        panel = panel.with_transformation(transformation(**spec))
    if sort_by:
        panel = panel.sort_by([cb.TableSortByFieldState().display_name(sort_by[0]).desc(sort_by[1])])
    return _with_targets(panel, targets)


def override(panel, field: str, **properties: Any):
    """Field override by (display) name: unit, links, hidden column, ..."""
    return panel.override_by_name(field, [dm.DynamicConfigValue(id_val=k, value=v) for k, v in properties.items()])


def transformation(id: str, options: dict, ref: str | None = None) -> dm.DataTransformerConfig:
    """A transformation, applied to the frames of query `ref` only when given."""
    matcher = dm.MatcherConfig(id_val="byRefId", options=ref) if ref else None
    return dm.DataTransformerConfig(id_val=id, options=options, filter_val=matcher)


def organize(exclude: Iterable[str] = (), rename: dict[str, str] | None = None,
             order: Iterable[str] = ()) -> dict:
    return {"id": "organize", "options": {
        "excludeByName": {name: True for name in exclude},
        "renameByName": dict(rename or {}),
        "indexByName": {name: i for i, name in enumerate(order)},
    }}
