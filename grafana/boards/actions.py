"""Actions (v1 /actions): every cleanup finding, most valuable first, with its reason and a
link to the resource in the AWS console; totals by action, account and environment; and the
findings Polo cannot price."""
from __future__ import annotations

from boards.common import (
    ACCOUNT,
    COUNT,
    IDENTITY,
    USD,
    account_var,
    bar_gauge_panel,
    environment_var,
    instant,
    new_dashboard,
    organize,
    override,
    query_variable,
    region_var,
    stat_panel,
    table_panel,
    warn_from,
)
from boards.console import with_console_url

FILTERS = ACCOUNT + ', region=~"$region", action=~"$action"'
SAVINGS = f"polo_action_monthly_savings_usd{{{FILTERS}}}"
FINDINGS = f"polo_action_info{{{FILTERS}}}"
UNPRICED = f"({FINDINGS} unless on ({IDENTITY}, action) polo_action_monthly_savings_usd)"
NAMES = f"on ({IDENTITY}) group_left (name) polo_resource_info"
COLUMNS = {"action": "Action", "Value": "Monthly savings", "name": "Name", "resource_id": "Id",
           "resource_type": "Type", "account": "Account", "environment": "Environment", "region": "Region",
           "reason": "Reason"}
HIDDEN = ["Time", "__name__", "job", "instance", "account_id", "console_url"]


def action_var():
    return query_variable("action", "Action",
                          'label_values(polo_action_info{account=~"$account"}, action)')


def findings_table(title: str, description: str, expr: str, unit: str, priced: bool):
    hidden = HIDDEN if priced else HIDDEN + ["Value"]  # an unpriced finding's value is just 1
    panel = table_panel(title, description, unit,
                        [instant(with_console_url(f"{expr} * {NAMES}"), table_format=True)],
                        height=14, sort_by=("Monthly savings", True) if priced else None,
                        transformations=[organize(exclude=hidden, rename=COLUMNS, order=list(COLUMNS))])
    panel = override(panel, "console_url", **{"custom.hidden": True})
    return override(panel, "Id", links=[{"title": "Open ${__data.fields.Id} in the AWS console",
                                         "url": "${__data.fields.console_url}", "targetBlank": True}])


def build():
    board = new_dashboard(
        "actions", "Actions", "What to clean up and what it saves (v1's /actions page): every finding "
        "with its reason, sorted by monthly savings at list prices, with totals and the findings Polo "
        "cannot price.", "now-24h", ["actions"],
        [environment_var(), account_var(), region_var(), action_var()])
    panels = [
        stat_panel("Savings on the table", "Estimated monthly savings of the selected findings (an upper bound "
                   "across actions: findings on one resource can overlap).", USD,
                   [instant(f"sum({SAVINGS})")], width=8),
        stat_panel("Findings", "Selected findings (polo_action_info).", COUNT,
                   [instant(f"count({FINDINGS})")], width=8),
        stat_panel("Findings without a price", "Findings whose resource has no list price (see "
                   "polo_resource_price_missing): their savings are unknown, not zero. Orange when any.", COUNT,
                   [instant(f"count({UNPRICED}) or vector(0)")], thresholds=warn_from(1), width=8),
        bar_gauge_panel("Savings by action", "Monthly savings per action (exact within one action).", USD,
                        [instant(f"sort_desc(sum by (action) ({SAVINGS}))", "{{action}}")], width=8, height=9),
        bar_gauge_panel("Savings by account", "Monthly savings per account.", USD,
                        [instant(f"sort_desc(sum by (account) ({SAVINGS}))", "{{account}}")], width=8, height=9),
        bar_gauge_panel("Findings by environment and action", "How many findings per environment and action "
                        "(hygiene findings such as missing_tags save nothing but count).", COUNT,
                        [instant(f"sort_desc(count by (environment, action) ({FINDINGS}))",
                                 "{{environment}} {{action}}")], width=8, height=9),
        findings_table("Findings by savings", "One row per finding (resource and action), most valuable "
                       "first, with Polo's reason. The id links to the resource in the AWS console.",
                       SAVINGS, USD, priced=True),
        findings_table("Findings that cannot be priced", "Findings with no savings figure because neither "
                       "the AWS Price List API nor Polo's shipped table prices the resource's type, class or "
                       "region. Empty when everything is priced, as on the demo.",
                       UNPRICED, "none", priced=False),
    ]
    for panel in panels:
        board = board.with_panel(panel)
    return board
