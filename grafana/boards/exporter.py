"""Exporter health: is Polo's picture of AWS complete and fresh? Sweep duration, collectors by
account and region, AWS API calls and errors, Cost Explorer requests and what they cost, and
where list prices come from (the Price List API or the shipped table)."""
from __future__ import annotations

from grafana_foundation_sdk.models import common as cm

from boards.common import (
    ACCOUNT,
    COUNT,
    SECONDS,
    USD,
    account_var,
    environment_var,
    green_red,
    instant,
    new_dashboard,
    organize,
    override,
    region_var,
    series,
    stat_panel,
    table_panel,
    timeseries_panel,
)

COLLECTOR = ACCOUNT + ', region=~"$region"'
SELECTED = f"on (account_id) group_left () polo_account_info{{{ACCOUNT}}}"  # counters carry only account_id


def build():
    board = new_dashboard(
        "exporter", "Exporter health", "Polo itself: sweep duration, collectors by account and region, AWS "
        "API calls and error codes, Cost Explorer requests and their cost, list prices, and how fresh the data is.",
        "now-24h", ["polo-exporter"], [environment_var(), account_var(), region_var()])
    panels = [
        stat_panel("Since the last successful sweep", "Age of the last sweep in which a collector succeeded. "
                   "Orange after 15 minutes (3 sweeps), red after 30: /healthz fails at 3 sweep intervals.",
                   SECONDS, [instant("time() - max(polo_sweep_last_success_timestamp_seconds)")],
                   thresholds=green_red(1800, 900), width=6),
        stat_panel("Oldest collector data", "Age of the oldest last success among the selected collectors: "
                   "a failing collector's resources are this old. Orange after 15 minutes, red after an hour.",
                   SECONDS, [instant(f"time() - min(polo_collector_last_success_timestamp_seconds{{{COLLECTOR}}})")],
                   thresholds=green_red(3600, 900), width=6),
        stat_panel("Since the last Cost Explorer refresh", "Age of the last successful cost refresh (every 6 h "
                   "by default). Orange after 7 hours, red after 13 (two refreshes missed).", SECONDS,
                   [instant("time() - max(polo_cost_explorer_last_success_timestamp_seconds)")],
                   thresholds=green_red(13 * 3600, 7 * 3600), width=6),
        stat_panel("Failing collectors", "Selected collector tasks whose last listing failed. Red when any.",
                   COUNT, [instant(f"count(polo_collector_up{{{COLLECTOR}}} == 0) or vector(0)")],
                   thresholds=green_red(1), width=6),
        timeseries_panel("Sweep duration", "Wall time of each completed sweep. The sweep interval is 5 minutes "
                         "by default: a sweep longer than that delays the next.", SECONDS,
                         [series("max(polo_sweep_duration_seconds)", "sweep")], thresholds=green_red(300, 150)),
        timeseries_panel("Slowest collectors", "The ten longest collector runs (account, region, collector) "
                         "of the last sweep, over time.", SECONDS,
                         [series(f"topk(10, polo_collector_duration_seconds{{{COLLECTOR}}})",
                                 "{{account}} {{region}} {{collector}}")]),
        override(table_panel(
            "Collectors", "Every selected collector task: up (1) or failing (0, with the error code while it "
            "fails), its duration and the resources it holds.", "none",
            [instant(f"polo_collector_up{{{COLLECTOR}}}", ref="A", table_format=True),
             instant(f"polo_collector_duration_seconds{{{COLLECTOR}}}", ref="B", table_format=True),
             instant(f"polo_collector_resources{{{COLLECTOR}}}", ref="C", table_format=True),
             instant(f'count by (account_id, account, environment, region, collector, error) '
                     f'(polo_collector_error_info{{{COLLECTOR}}}) or count by (account_id, account, environment, '
                     f'region, collector) (polo_collector_up{{{COLLECTOR}}} == 1) * 0', ref="D", table_format=True)],
            thresholds=green_red(1), height=12,
            transformations=[{"id": "merge", "options": {}}, organize(
                exclude=["Time", "__name__", "job", "instance", "account_id", "Value #D"],
                rename={"account": "Account", "region": "Region", "collector": "Collector", "Value #A": "Up",
                        "error": "Error", "Value #B": "Duration", "Value #C": "Resources",
                        "environment": "Environment"},
                order=["account", "region", "collector", "Value #A", "error", "Value #B", "Value #C"])],
            sort_by=("Up", False)), "Duration", unit=SECONDS),
        timeseries_panel("AWS API calls by service", "AWS API attempts per second (retries included), by "
                         "service, in the selected accounts.", "reqps",
                         [series(f"sum by (service) (rate(polo_aws_api_calls_total[$__rate_interval]) * {SELECTED})",
                                 "{{service}}")]),
        timeseries_panel("AWS API errors by code", "Failed AWS API attempts per second by error code and "
                         "operation. Throttling codes mean the sweep is too aggressive for the account; "
                         "NoSuch... codes are normal answers (a bucket without tags).", "reqps",
                         [series(f"sum by (error_code, operation) (rate(polo_aws_api_errors_total[$__rate_interval]) "
                                 f"* {SELECTED})", "{{error_code}} {{operation}}")]),
        timeseries_panel("Cost Explorer requests", "Cost Explorer requests over the interval, by operation; "
                         "each page is one request, failed ones included.", COUNT,
                         [series("sum by (operation) (increase(polo_cost_explorer_requests_total"
                                 "[$__rate_interval]))", "{{operation}}")]),
        stat_panel("Cost Explorer charges", "Estimated Cost Explorer API charges ($0.01 a request) over the "
                   "time range (since the exporter started if it started later). Orange from $1.",
                   USD, [instant("sum(increase(polo_cost_explorer_request_cost_usd_total[$__range]))")],
                   thresholds=green_red(5, 1), width=6, height=8),
        stat_panel("List prices' age", "Age of the oldest list price in use from the AWS Price List API "
                   "(refreshed weekly). Orange after 8 days, red after 30: PoloPricesStale.", SECONDS,
                   [instant("time() - min(polo_price_list_oldest_price_timestamp_seconds)")],
                   thresholds=green_red(30 * 86400, 8 * 86400), width=6, height=8),
        stat_panel("Unpriced resources", "Resources with no list price from the Price List API nor the "
                   "shipped table: their cost and savings are missing from every total. Red when any.", COUNT,
                   [instant("sum(polo_resource_price_missing) or vector(0)")], thresholds=green_red(1),
                   width=6, height=8),
        timeseries_panel("Price List requests", "AWS Price List GetProducts requests over the interval by "
                         "result (each page is one): a few per new instance type, class or region, then a "
                         "refresh a week. throttled and denied leave the cached prices in use.", COUNT,
                         [series("sum by (result) (increase(polo_price_list_requests_total[$__rate_interval]))",
                                 "{{result}}")]),
        table_panel("Price sources", "Which source priced each resource type in each selected region: "
                    "price_list (the AWS Price List API), table (the shipped table, us-east-1 and us-west-2 "
                    "only) or both (a resource needing several prices got some from each).", "none",
                    [instant('polo_price_source_info{region=~"$region"}', ref="A", table_format=True)],
                    transformations=[organize(exclude=["Time", "__name__", "job", "instance", "Value"],
                                              rename={"resource_type": "Type", "region": "Region",
                                                      "source": "Source"},
                                              order=["resource_type", "region", "source"])]),
        stat_panel("Exporter version", "polo_exporter_build_info: the running Polo and Python versions.",
                   "none", [instant("polo_exporter_build_info", "{{version}} (Python {{python_version}})")],
                   width=6, height=8, text_mode=cm.BigValueTextMode.NAME),
    ]
    for panel in panels:
        board = board.with_panel(panel)
    return board

