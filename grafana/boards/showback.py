"""Showback: who spends what, from the billing export. Spend by the value of an allow-listed
tag (tags.labels) and by AWS cost category, the untagged share and its trend, and the
resources that cost most this month, billed next to their list-price estimate."""
from __future__ import annotations

from boards.common import (
    ACCOUNT,
    IDENTITY,
    PERCENT,
    USD,
    account_var,
    bar_gauge_panel,
    environment_var,
    green_red,
    instant,
    new_dashboard,
    query_variable,
    series,
    stat_panel,
    table_panel,
    timeseries_panel,
)

TAG = 'kind="tag", tag_key="$tag_key"'
# An empty tag value is the spend without the tag: name it so a legend can show it.
NAMED = 'label_replace({expr}, "tag_value", "(untagged)", "tag_value", "")'


def tag_key_var():
    return query_variable("tag_key", "Tag", 'label_values(polo_cost_allocation_usd{kind="tag"}, tag_key)',
                          multi=False)


def untagged_share(family: str) -> str:
    return f'sum({family}{{{TAG}, tag_value=""}}) / sum({family}{{{TAG}}})'


def build():
    board = new_dashboard(
        "showback", "Showback", "Who spends what this month, from the AWS billing export: billed cost by the "
        "value of an allow-listed tag, the untagged share, and the resources that cost most.", "now-30d",
        ["costs"], [environment_var(), account_var(), tag_key_var()])
    panels = [
        stat_panel("Billed this month", "Billed cost from the 1st (UTC) to yesterday in the selected accounts, "
                   "from the billing export (polo_billed_cost_month_to_date_usd).", USD,
                   [instant(f"sum(polo_billed_cost_month_to_date_usd{{{ACCOUNT}}})")], width=6),
        stat_panel("Untagged share", "Share of this month's bill (all accounts) without the selected tag: "
                   "spend no team owns yet. Orange from 10%, red from 25%.", PERCENT,
                   [instant(untagged_share("polo_cost_allocation_usd"))], thresholds=green_red(0.25, 0.10),
                   width=6),
        stat_panel("Billed on listed resources", "Share of this month's bill on resources in Polo's inventory "
                   "(the rest: requests, data transfer, tax, fees, resources Polo does not list).", PERCENT,
                   [instant(f"sum(polo_resource_billed_cost_usd{{{ACCOUNT}}}) / "
                            f"sum(polo_billed_cost_month_to_date_usd{{{ACCOUNT}}})")], width=6),
        stat_panel("Billed on unknown resource ids", "Billed cost this month on resource ids that match nothing "
                   "in the inventory: deleted resources, or types Polo does not list.", USD,
                   [instant(f"sum(polo_billing_export_unmatched_cost_usd{{{ACCOUNT}}})")], width=6),
        bar_gauge_panel("Spend by tag value this month", "Billed cost this month (all accounts) by the value of "
                        "the selected tag; (untagged) is the spend without it. The values add up to the bill.", USD,
                        [instant("sort_desc(" + NAMED.format(
                            expr=f"sum by (tag_value) (polo_cost_allocation_usd{{{TAG}}})") + ")", "{{tag_value}}")],
                        width=12, height=10),
        timeseries_panel("Untagged share, day by day", "Share of each day's bill without the selected tag, "
                         "as the export's last complete day showed it.", PERCENT,
                         [series(untagged_share("polo_cost_allocation_daily_usd"), "untagged")],
                         thresholds=green_red(0.25, 0.10), width=12, height=10),
        bar_gauge_panel("Spend by cost category this month", "Billed cost this month (all accounts) by AWS cost "
                        "category value, for each category in billing_export.cost_categories; (untagged) is "
                        "the spend the category leaves uncategorised.", USD,
                        [instant("sort_desc(" + NAMED.format(
                            expr='sum by (tag_key, tag_value) (polo_cost_allocation_usd{kind="cost_category"})') + ")",
                            "{{tag_key}}: {{tag_value}}")], width=24, height=6),
        timeseries_panel("Daily spend by tag value", "Billed cost of the export's last complete day by the value "
                         "of the selected tag, as it moved.", USD,
                         [series(NAMED.format(expr=f"sum by (tag_value) (polo_cost_allocation_daily_usd{{{TAG}}})"),
                                 "{{tag_value}}")], width=24, height=9, stacked=True),
        table_panel("Top resources by billed cost this month", "The 20 resources of the selected accounts that "
                    "cost most this month in the billing export, next to their list-price estimate for a month "
                    "(empty where Polo has no price).", USD,
                    [instant(f"topk(20, sum by ({IDENTITY}, account) (polo_resource_billed_cost_usd{{{ACCOUNT}}}))",
                             ref="A", table_format=True),
                     instant(f"sum by ({IDENTITY}, account) (polo_resource_monthly_cost_usd{{{ACCOUNT}}})",
                             ref="B", table_format=True)],
                    width=24, height=12),
    ]
    for panel in panels:
        board = board.with_panel(panel)
    return board
