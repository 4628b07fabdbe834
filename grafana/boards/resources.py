"""Resources (v1 /data): every resource Polo found, filterable and searchable, with its tags,
age and estimated monthly cost, each row linking to the resource in the AWS console."""
from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import dashboard as dm

from boards.common import (
    COUNT,
    DATASOURCE,
    DATE_MS,
    IDENTITY,
    INVENTORY,
    USD,
    account_var,
    bar_gauge_panel,
    environment_var,
    instant,
    new_dashboard,
    organize,
    override,
    region_var,
    resource_type_var,
    search_var,
    state_var,
    table_panel,
    warn_from,
)
from boards.console import with_console_url

FILTERS = INVENTORY + ', state=~"$state"'
SELECTED = f"polo_resource_info{{{FILTERS}}}"
# PromQL has no OR across two labels in one selector: the union of two selections. What is typed
# is matched literally: Grafana's :regex format escapes it, and a raw (backtick) PromQL string
# keeps those backslashes (in double quotes `\(` is an invalid escape: typing `(` was an error).
TYPED = "`(?i).*${search:regex}.*`"
SEARCHED = (f"(polo_resource_info{{{FILTERS}, name=~{TYPED}}} "
            f"or polo_resource_info{{{FILTERS}, resource_id=~{TYPED}}})")


def keyed(expr: str) -> str:
    """One `key` label (account_id/region/type/id): what the table's Merge joins rows on."""
    return f'label_join({expr}, "key", "/", "account_id", "region", "resource_type", "resource_id")'


COLUMNS = {
    "name": "Name", "resource_id": "Id", "resource_type": "Type", "account": "Account",
    "environment": "Environment", "region": "Region", "state": "State", "resource_class": "Class",
    "vpc_id": "VPC", "Value #B": "Created", "Value #C": "Monthly cost", "Value #D": "Billed this month",
}
# The allow-listed tags (config tags.labels) are whatever tag_* labels the data has: a column
# each, after the fixed ones, shown as "<key> tag".
TAG_COLUMNS = {"id": "renameByRegex", "options": {"regex": "^tag_(.+)$", "renamePattern": "$1 tag"}}


def tag_key_var():
    """The tag keys Polo exports, read from the data: other tags.labels need no dashboard edit."""
    return (dashboard.QueryVariable("tag").label("Tag key").datasource(DATASOURCE)
            .query("label_values(polo_resource_tag_label_info, label)")
            .description("Allow-listed tag keys (tags.labels in Polo's config), as polo_resource_info's tag_* labels")
            .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dm.VariableSort.ALPHABETICAL_ASC)
            .multi(True).include_all(True).current(dm.VariableOption(text="All", value="$__all", selected=True)))
HIDDEN = ["Time", "Value #A", "key", "__name__", "job", "instance", "account_id", "parent_id",
          "subnet_id"]


def resource_table():
    info = with_console_url(keyed(SEARCHED))
    created = (f"max by (key) ({keyed(f'polo_resource_created_timestamp_seconds{{{INVENTORY}}}')}"
               f" and on (key) {keyed(SEARCHED)}) * 1000")
    cost = (f"max by (key) ({keyed(f'polo_resource_monthly_cost_usd{{{INVENTORY}}}')}"
            f" and on (key) {keyed(SEARCHED)})")
    billed = (f"max by (key) ({keyed(f'polo_resource_billed_cost_usd{{{INVENTORY}}}')}"
              f" and on (key) {keyed(SEARCHED)})")
    panel = table_panel(
        "Resources", "One row per resource (polo_resource_info) matching the filters and the search "
        "(a case-insensitive match on name or id), with its allow-listed tags, when AWS says it was created "
        "(blank for types AWS does not date), its estimated monthly cost at list prices (blank where "
        "Polo does not price the type) and, with a billing export, what it was billed this month so far "
        "(discounts and usage charges included). The name links to the resource in the AWS console.",
        "none",
        [instant(info, ref="A", table_format=True), instant(created, ref="B", table_format=True),
         instant(cost, ref="C", table_format=True), instant(billed, ref="D", table_format=True)],
        height=20,
        transformations=[{"id": "merge", "options": {}},
                         organize(exclude=HIDDEN, rename=COLUMNS, order=list(COLUMNS)), TAG_COLUMNS],
        sort_by=("Monthly cost", True))
    panel = override(panel, "Created", unit=DATE_MS)
    panel = override(panel, "Monthly cost", unit=USD, decimals=2)
    panel = override(panel, "Billed this month", unit=USD, decimals=2)
    panel = override(panel, "console_url", **{"custom.hidden": True})
    panel = override(panel, "Name", links=[{"title": "Open ${__data.fields.Id} in the AWS console",
                                            "url": "${__data.fields.console_url}", "targetBlank": True}])
    return panel


def build():
    board = new_dashboard(
        "resources", "Resources", "Every resource in every account and region (v1's /data page): "
        "filter by account, environment, region, type and state, search by name or id, open in the AWS console.",
        "now-24h", ["inventory"],
        [environment_var(), account_var(), region_var(), resource_type_var(), state_var(), search_var(),
         tag_key_var()])
    board = board.with_panel(bar_gauge_panel(
        "Matching resources by type", "How many resources match the filters and the search, by type.", COUNT,
        [instant(f"sort_desc(count by (resource_type) ({SEARCHED}))", "{{resource_type}}")], width=12, height=7))
    board = board.with_panel(bar_gauge_panel(
        "Estimated monthly cost by type", "Monthly list-price estimate of the matching resources, by type "
        "(types Polo does not price are absent).", USD,
        [instant(f"sort_desc(sum by (resource_type) (polo_resource_monthly_cost_usd{{{INVENTORY}}} "
                 f"and on ({IDENTITY}) {SEARCHED}))", "{{resource_type}}")], width=12, height=7))
    board = board.with_panel(bar_gauge_panel(
        "Missing $tag", "Matching resources without this allow-listed tag (an empty $tag label), by type; "
        "one panel per tag key selected in 'Tag key'. Orange from one: every resource should say who owns it.",
        COUNT, [instant(f'sort_desc(count by (resource_type) ({SEARCHED} and on ({IDENTITY}) '
                        f'polo_resource_info{{$tag=""}}))', "{{resource_type}}")],
        thresholds=warn_from(1), width=8, height=7).repeat("tag").repeat_direction("h").max_per_row(3))
    return board.with_panel(resource_table())
