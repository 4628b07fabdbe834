"""Overview: the estate, its cost and its waste on one screen; every stat opens the dashboard
that explains it."""
from __future__ import annotations

from boards.common import (
    ACCOUNT,
    COUNT,
    PERCENT,
    USD,
    account_var,
    bar_gauge_panel,
    environment_var,
    green_red,
    instant,
    new_dashboard,
    pie_panel,
    stat_panel,
)


def build():
    board = new_dashboard(
        "overview", "Overview", "What Polo sees across the organisation: accounts, resources, cost "
        "against the budget, savings waiting to be taken, and whether the collectors are healthy.",
        "now-30d", ["overview"], [environment_var(), account_var()])
    panels = [
        pie_panel("Accounts by environment", "Configured accounts (polo_account_info), by environment.",
                  COUNT, [instant(f"count by (environment) (polo_account_info{{{ACCOUNT}}})", "{{environment}}")],
                  width=6, link=("resources", "Resources")),
        bar_gauge_panel("Resources by type", "Resources Polo found in the selected accounts, by type.",
                        COUNT, [instant(f"sort_desc(count by (resource_type) (polo_resource_info{{{ACCOUNT}}}))",
                                        "{{resource_type}}")],
                        width=18, link=("resources", "Resources")),
        stat_panel("Yesterday's cost", "Cost Explorer spend of the last complete UTC day in the selected "
                   "accounts (polo_cost_daily_usd).", USD,
                   [instant(f"sum(polo_cost_daily_usd{{{ACCOUNT}}})")], link=("costs", "Costs")),
        stat_panel("Yesterday against the daily target", "The last complete day's spend (selected accounts) "
                   "as a share of the organisation's daily target (monthly target * 12 / 365). Red above 100%.",
                   PERCENT, [instant(f"sum(polo_cost_daily_usd{{{ACCOUNT}}}) / scalar(polo_budget_daily_target_usd)")],
                   thresholds=green_red(1.0, 0.9), link=("budget", "Budget")),
        stat_panel("Month to date", "Spend from the 1st of this month to yesterday (0 on the 1st), selected "
                   "accounts.", USD, [instant(f"sum(polo_cost_month_to_date_usd{{{ACCOUNT}}})")],
                   link=("budget", "Budget")),
        stat_panel("Month to date against the target", "Month to date as a share of the monthly target. "
                   "Orange from 80%, red from 100%.", PERCENT,
                   [instant(f"sum(polo_cost_month_to_date_usd{{{ACCOUNT}}}) / scalar(polo_budget_monthly_target_usd)")],
                   thresholds=green_red(1.0, 0.8), link=("budget", "Budget")),
        stat_panel("Month-end forecast", "The organisation's forecast for this month (Cost Explorer's, or a "
                   "linear projection when unavailable: see the Budget dashboard for the method).", USD,
                   [instant("sum(polo_cost_month_forecast_usd)")], link=("budget", "Budget")),
        stat_panel("Forecast against the target", "Month-end forecast as a share of the monthly target. "
                   "Red when the month is forecast to overrun.", PERCENT,
                   [instant("sum(polo_cost_month_forecast_usd) / scalar(polo_budget_monthly_target_usd)")],
                   thresholds=green_red(1.0, 0.95), link=("budget", "Budget")),
        stat_panel("Savings on the table", "Estimated monthly savings of every open cleanup finding in the "
                   "selected accounts (an upper bound: findings on one resource can overlap).", USD,
                   [instant(f"sum(polo_action_monthly_savings_usd{{{ACCOUNT}}})")], link=("actions", "Actions")),
        stat_panel("Findings", "Open cleanup findings (polo_action_info) in the selected accounts.", COUNT,
                   [instant(f"count(polo_action_info{{{ACCOUNT}}}) or vector(0)")], link=("actions", "Actions")),
        stat_panel("Failing collectors", "Collector tasks (account, region, collector) whose last listing "
                   "failed. Their resources keep their last known state. Red when any fails.", COUNT,
                   [instant(f"count(polo_collector_up{{{ACCOUNT}}} == 0) or vector(0)")],
                   thresholds=green_red(1), link=("exporter", "Exporter health")),
        stat_panel("Unreachable accounts", "Accounts whose role Polo could not assume in the last sweep. "
                   "Red when any.", COUNT, [instant(f"count(polo_account_up{{{ACCOUNT}}} == 0) or vector(0)")],
                   thresholds=green_red(1), link=("exporter", "Exporter health")),
    ]
    for panel in panels:
        board = board.with_panel(panel)
    return board
