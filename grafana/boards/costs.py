"""Costs (v1 /dashboards): daily spend by account and by service from the backfilled history
onward, the top services, week-over-week change, each account against its golden-date baseline,
and the previous month.

Per-day panels read one value per UTC day (`daily_cost()`, 1-day interval): the point at
midnight D+1 holds day D, so bars are aligned "before" the point and cover the day they measure.
Days known only from the live series sit one day late (see docs/queries.md); a new backfill
puts them in place."""
from __future__ import annotations

from grafana_foundation_sdk.models import common as cm

from boards.common import (
    ACCOUNT,
    IDENTITY,
    PERCENT,
    USD,
    account_var,
    bar_gauge_panel,
    daily_cost,
    environment_var,
    green_red,
    instant,
    new_dashboard,
    series,
    stat_panel,
    timeseries_panel,
)

DAILY = daily_cost()


def day_bars(panel):
    return panel.bar_alignment(cm.BarAlignment.BEFORE)


def week(offset: str = "") -> str:
    """Spend of the last 7 complete days (before `offset`): seven daily values summed."""
    return f"sum(sum_over_time({DAILY}[7d:1d]{offset}))"


def build():
    board = new_dashboard(
        "costs", "Costs", "What the organisation spends, day by day, per account and AWS service (Cost "
        "Explorer, backfilled from the golden date), against last week and the golden-date baseline.",
        "now-90d", ["costs"], [environment_var(), account_var()])
    panels = [
        day_bars(timeseries_panel(
            "Daily cost by account", "Cost Explorer spend per UTC day, stacked by account. Each bar covers the "
            "day it measures (history from `polo-exporter backfill`, then the live last complete day).", USD,
            [series(f"sum by (account) ({DAILY})", "{{account}}", interval="1d")], width=24, height=10,
            bars=True, stacked=True)),
        day_bars(timeseries_panel(
            "Daily cost by service", "Spend per UTC day, stacked by AWS service (Cost Explorer's service "
            "names), in the selected accounts.", USD,
            [series(f"sum by (service) ({DAILY})", "{{service}}", interval="1d")], width=24, height=10,
            bars=True, stacked=True)),
        bar_gauge_panel(
            "Top services over the time range", "The ten services that cost most over the dashboard's time "
            "range (whole UTC days), selected accounts.", USD,
            [instant(f"sort_desc(topk(10, sum by (service) (sum_over_time({DAILY}[$__range:1d]))))", "{{service}}")],
            width=12, height=10),
        bar_gauge_panel(
            "Previous month by account", "Cost of the previous calendar month per account "
            "(polo_cost_previous_month_usd).", USD,
            [instant(f"sort_desc(sum by (account) (polo_cost_previous_month_usd{{{ACCOUNT}}}))", "{{account}}")],
            width=12, height=10),
        stat_panel(
            "Last 7 days", "Spend of the last seven complete UTC days, selected accounts.", USD,
            [instant(week())], width=6),
        stat_panel(
            "Week over week", "Change of the last seven complete days against the seven before. Orange from "
            "+5%, red from +15%.", PERCENT, [instant(f"{week()} / {week(' offset 7d')} - 1")],
            thresholds=green_red(0.15, 0.05), width=6),
        stat_panel(
            "Since the golden date", "Spend from the golden date (budget.golden_date) to yesterday, selected "
            "accounts (polo_cost_since_golden_date_usd).", USD,
            [instant(f"sum(polo_cost_since_golden_date_usd{{{ACCOUNT}}})")], width=6),
        stat_panel(
            "Golden-date day", "Spend on the golden date itself, the baseline day, selected accounts "
            "(polo_cost_golden_baseline_usd: from the billing export, Cost Explorer or the config, whichever "
            "reaches that day; its source label says which).", USD,
            [instant(f"sum(polo_cost_golden_baseline_usd{{{ACCOUNT}}})")], width=6),
        timeseries_panel(
            "Each account against its golden-date baseline", "Daily spend of each account divided by its "
            "spend on the golden date (as exported at the end of the range): 100% is the baseline. Above "
            "the red line at 120% an account grew by a fifth.", PERCENT,
            [series(f"sum by (account) ({DAILY}) / on (account) sum by (account) "
                    f"(polo_cost_golden_baseline_usd{{{ACCOUNT}}} @ end())", "{{account}}", interval="1d")],
            thresholds=green_red(1.2), width=24, height=10),
        bar_gauge_panel(
            "Where this month's bill goes, against the estimates", "The billing export's billed cost this month "
            "(selected accounts), split by what Polo can say about it: on resources it lists and prices, on "
            "resources it lists without a list price (S3, Lambda...), on resource ids it does not list, on no "
            "resource at all (requests, data transfer, support), then tax, credits and commitment fees. "
            "Only the first is in the per-resource estimates, which are list prices before discounts.", USD,
            [instant(f"sum(polo_resource_billed_cost_usd{{{ACCOUNT}}} and on ({IDENTITY}) "
                     "polo_resource_monthly_cost_usd)", "priced resources", ref="A"),
             instant(f"sum(polo_resource_billed_cost_usd{{{ACCOUNT}}} unless on ({IDENTITY}) "
                     "polo_resource_monthly_cost_usd)", "listed, no list price", ref="B"),
             instant(f"sum(polo_billing_export_unmatched_cost_usd{{{ACCOUNT}}})", "resource ids not listed", ref="C"),
             instant(f'sum(polo_billed_cost_month_to_date_usd{{{ACCOUNT}, charge_category="Usage"}}) '
                     f"- sum(polo_resource_billed_cost_usd{{{ACCOUNT}}}) "
                     f"- sum(polo_billing_export_unmatched_cost_usd{{{ACCOUNT}}})", "no resource", ref="D"),
             instant(f'sum by (charge_category) (polo_billed_cost_month_to_date_usd{{{ACCOUNT}, '
                     'charge_category!="Usage"})', "{{charge_category}}", ref="E")],
            width=24, height=9),
    ]
    for panel in panels:
        board = board.with_panel(panel)
    return board
