"""Budget (v1 /budget): this month's spend against a pace line to the monthly target, the
forecast and the method behind it, the projected overrun, the day the target would be used up,
and each account's share (Cost Explorer, organisation-wide); then the per-team budgets of the
billing export (`budgets:`), one selected by the `budget` variable, and all of them side by side."""
from __future__ import annotations

from grafana_foundation_sdk.models import common as cm

from boards.common import (
    DATE_MS,
    PERCENT,
    USD,
    daily_cost,
    green_red,
    bar_gauge_panel,
    instant,
    new_dashboard,
    query_variable,
    override,
    pie_panel,
    series,
    stat_panel,
    timeseries_panel,
)

DAILY = daily_cost('account=~".*"')
TARGET = "scalar(polo_budget_monthly_target_usd)"
FORECAST = "sum(polo_cost_month_forecast_usd)"
SELECTED_SPEND = 'polo_budget_spend_month_to_date_usd{budget="$budget"}'
SELECTED_TARGET = 'polo_budget_target_usd{budget="$budget"}'
# Midnight UTC of the 1st of this month, in seconds (time() is the evaluation time).
MONTH_START = "(time() - time() % 86400 - (day_of_month() - 1) * 86400)"


def build():
    board = new_dashboard(
        "budget", "Budget", "This month against the monthly target (budget.monthly_target_usd): month to date "
        "against the pace line, the forecast and its method, the overrun it projects and when the target "
        "would be used up; then each per-team budget from the billing export.", "now/M", ["costs"],
        [query_variable("budget", "Budget", "label_values(polo_budget_target_usd, budget)", multi=False)])
    panels = [
        timeseries_panel(
            "Month to date against the pace line", "Spend from the 1st to yesterday (polo_cost_month_to_date_usd) "
            "against the pace line: the monthly target spread evenly over the month's complete days. Above "
            "the line, the month is running ahead of its budget.", USD,
            [series("sum(polo_cost_month_to_date_usd)", "month to date", ref="A"),
             series(f"{TARGET} * (day_of_month() - 1) / days_in_month()", "pace to the target", ref="B"),
             series("sum(polo_budget_monthly_target_usd)", "monthly target", ref="C")],
            width=16, height=10),
        stat_panel("Month-end forecast", "The organisation's forecast for this month. The label says which "
                   "method produced it: cost_explorer (month to date + Cost Explorer's forecast of the rest) or "
                   "linear (month to date projected at its daily rate, when Cost Explorer has no forecast).",
                   USD, [instant(FORECAST + " by (method)", "{{method}}")],
                   text_mode=cm.BigValueTextMode.VALUE_AND_NAME, width=8, height=5),
        stat_panel("Projected overrun", "Forecast minus the monthly target: dollars over budget at month end "
                   "(negative: under). Red when positive.", USD, [instant(f"{FORECAST} - {TARGET}")],
                   thresholds=green_red(0.01), width=8, height=5),
        stat_panel("Target used up on", "The day the monthly target is spent if the month goes as forecast "
                   "(1st of the month + target / forecast daily rate).",
                   DATE_MS, [instant(f"({MONTH_START} + {TARGET} / ({FORECAST} / days_in_month()) * 86400) * 1000")],
                   width=8, height=5),
        stat_panel("Forecast against the target", "Month-end forecast as a share of the monthly target.",
                   PERCENT, [instant(f"{FORECAST} / {TARGET}")], thresholds=green_red(1.0, 0.95), width=8, height=5),
        stat_panel("Monthly target", "budget.monthly_target_usd; the daily target is monthly * 12 / 365.",
                   USD, [instant("sum(polo_budget_monthly_target_usd)")], width=8, height=5),
        pie_panel("Each account's share of the month", "Month to date per account (on the 1st: the previous "
                  "month, as this month has no complete day yet).", USD,
                  [instant("sum by (account) (polo_cost_month_to_date_usd) > 0 or sum by (account) "
                           "(polo_cost_previous_month_usd)", "{{account}}")], width=8, height=10),
        override(timeseries_panel(
            "Daily cost against the daily target", "Spend per UTC day this month (bars, each covering its day) "
            "against the daily target (monthly * 12 / 365).", USD,
            [series(f"sum({DAILY})", "daily cost", ref="A", interval="1d"),
             series("sum(polo_budget_daily_target_usd)", "daily target", ref="B")],
            width=24, height=9), "daily cost", **{"custom.drawStyle": "bars", "custom.barAlignment": -1,
                                                   "custom.fillOpacity": 80}),
        timeseries_panel(
            "Budget $budget: month to date against its pace", "The selected budget's billed spend from the 1st "
            "to yesterday (polo_budget_spend_month_to_date_usd, from the billing export) against its pace line "
            "and its monthly target.", USD,
            [series(f"max({SELECTED_SPEND})", "month to date", ref="A"),
             series('budget:polo_budget_pace_usd:month_to_date{budget="$budget"}', "pace to the target", ref="B"),
             series(f"max({SELECTED_TARGET})", "monthly target", ref="C")],
            width=16, height=10),
        stat_panel("Budget $budget: forecast against its target", "The selected budget's month-end forecast "
                   "(month to date at its daily rate) as a share of its target.", PERCENT,
                   [instant('budget:polo_budget_forecast_usd_per_target:ratio{budget="$budget"}')],
                   thresholds=green_red(1.0, 0.95), width=8, height=5),
        stat_panel("Budget $budget: projected overrun", "What the selected budget's forecast exceeds its target by "
                   "(0 within it).", USD, [instant('budget:polo_budget_overrun_usd:forecast{budget="$budget"}')],
                   thresholds=green_red(0.01), width=8, height=5),
        bar_gauge_panel("Every budget: forecast against its target", "Each budget's month-end forecast as a share "
                        "of its target; organisation is the whole bill against budget.monthly_target_usd.", PERCENT,
                        [instant("sort_desc(budget:polo_budget_forecast_usd_per_target:ratio)", "{{budget}}")],
                        thresholds=green_red(1.0, 0.95), width=24, height=8),
    ]
    for panel in panels:
        board = board.with_panel(panel)
    return board
