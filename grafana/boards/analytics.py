"""Analytics (v1 /stats): how the estate changes: counts over time by type and account,
resources created and deleted (tombstones) per day, net growth, the age distribution and the
oldest dev resources."""
from __future__ import annotations

from grafana_foundation_sdk.builders import histogram

from boards.common import (
    COUNT,
    DATASOURCE,
    IDENTITY,
    INVENTORY,
    SECONDS,
    account_var,
    environment_var,
    instant,
    neutral,
    new_dashboard,
    organize,
    region_var,
    resource_type_var,
    series,
    table_panel,
    timeseries_panel,
)

INFO = f"polo_resource_info{{{INVENTORY}}}"
CREATED = f"polo_resource_created_timestamp_seconds{{{INVENTORY}}}"
DELETED = f"polo_resource_deleted_timestamp_seconds{{{INVENTORY}}}"
DAY = 86400
CREATED_24H = f"count by (resource_type) ({CREATED} > time() - {DAY})"
DELETED_24H = f"count by (resource_type) ({DELETED} > time() - {DAY})"


def age_histogram():
    panel = (histogram.Panel().title("Age distribution")
             .description("How old the selected resources are (now - the creation time AWS reports; types AWS "
                          "does not date are left out), in buckets of a day.")
             .datasource(DATASOURCE).unit(SECONDS).thresholds(neutral()).span(12).height(9)
             .bucket_size(DAY)
             .with_target(instant(f"time() - {CREATED}", table_format=True)))
    return panel


def build():
    board = new_dashboard(
        "analytics", "Analytics", "How the estate changes (v1's /stats page): resources over time, what "
        "was created and deleted, growth, ages, and the dev resources that have run longest.",
        "now-7d", ["inventory"], [environment_var(), account_var(), region_var(), resource_type_var()])
    panels = [
        timeseries_panel("Resources by type", "Resources Polo found, over time, by type.", COUNT,
                         [series(f"count by (resource_type) ({INFO})", "{{resource_type}}")], stacked=True),
        timeseries_panel("Resources by account", "Resources Polo found, over time, by account.", COUNT,
                         [series(f"count by (account) ({INFO})", "{{account}}")], stacked=True),
        timeseries_panel("Created in the last 24 hours", "Resources whose AWS creation time is within the 24 "
                         "hours before each point, by type (rolling window).", COUNT,
                         [series(CREATED_24H, "{{resource_type}}", interval="5m")]),
        timeseries_panel("Deleted in the last 24 hours", "Resources that vanished from a successful listing "
                         "within the 24 hours before each point (their tombstones, "
                         "polo_resource_deleted_timestamp_seconds), by type.", COUNT,
                         [series(DELETED_24H, "{{resource_type}}", interval="5m")]),
        timeseries_panel("Net growth over 24 hours", "Created minus deleted in the 24 hours before each point, "
                         "by type: positive, the estate grows.", COUNT,
                         [series(f"({CREATED_24H} or {DELETED_24H} * 0) - ({DELETED_24H} or {CREATED_24H} * 0)",
                                 "{{resource_type}}", interval="5m")]),
        age_histogram(),
        table_panel("Oldest dev resources", "The 20 longest-running resources in dev accounts (age from "
                    "the AWS creation time), with name and state: candidates for a clean-up conversation.",
                    SECONDS,
                    [instant(f'topk(20, (time() - polo_resource_created_timestamp_seconds{{{INVENTORY}, '
                             f'environment="dev"}}) * on ({IDENTITY}) group_left (name, state) polo_resource_info)',
                             table_format=True)],
                    sort_by=("Age", True),
                    transformations=[organize(
                        exclude=["Time", "__name__", "job", "instance", "account_id"],
                        rename={"Value": "Age", "name": "Name", "resource_id": "Id", "resource_type": "Type",
                                "account": "Account", "region": "Region", "state": "State",
                                "environment": "Environment"},
                        order=["Value", "name", "resource_id", "resource_type", "account", "region", "state"])]),
    ]
    for panel in panels:
        board = board.with_panel(panel)
    return board
