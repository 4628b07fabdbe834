"""Budget and cost arithmetic over daily costs: pure functions, no AWS, checkable by hand.

Daily costs are `{day: {(account_id, service): usd}}`. "Complete" days are the days before
today (UTC); today's partial figure is fetched but never summed into a total.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping

DailyCosts = Mapping[dt.date, Mapping[tuple[str, str], float]]


def daily_target(monthly_target: float) -> float:
    """The monthly target spread over an average month (365/12 = 30.42 days), so that a year of
    daily targets adds up to exactly twelve monthly targets. v1's monthly/30 (2,639 for 79,167)
    would allow 12.17 months of spend a year."""
    return monthly_target * 12 / 365


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month_start(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def previous_month_start(day: dt.date) -> dt.date:
    return month_start(month_start(day) - dt.timedelta(days=1))


def history_horizon(today: dt.date) -> dt.date:
    """The oldest day Cost Explorer serves by default: 13 months back plus the current month."""
    months = today.year * 12 + today.month - 1 - 13
    return dt.date(months // 12, months % 12 + 1, 1)


def days_in_month(day: dt.date) -> int:
    return (next_month_start(day) - month_start(day)).days


def midnight_utc(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()


@dataclass(frozen=True)
class CostSummary:
    """Everything the cost metrics show, computed once per refresh."""

    last_complete_day: dt.date | None       # latest day before today with any cost data
    daily: dict[tuple[str, str], float]     # that day, by (account_id, service)
    month_to_date: dict[tuple[str, str], float]  # 1st of this month .. yesterday
    previous_month: dict[str, float]        # by account_id
    golden_date: dict[str, float]           # the baseline day, by account_id
    since_golden_date: dict[str, float]     # golden date .. yesterday, by account_id
    month_to_date_total: float
    days_elapsed: int                       # complete days of this month (0 on the 1st)
    last_complete_day_total: float


def summarise(days: DailyCosts, today: dt.date, golden: dt.date, accounts: Iterable[str]) -> CostSummary:
    """Fold daily costs into the figures the metrics show. `accounts` (the configured ones)
    always get per-account figures, zero when they spent nothing; other accounts appear
    as soon as they spend. Without the golden date itself (not fetched yet, or older than
    Cost Explorer's history) there is no baseline and no since-golden figure."""
    this_month, last_month = month_start(today), previous_month_start(today)
    complete = sorted(day for day, costs in days.items() if day < today and costs)
    last_day = complete[-1] if complete else None

    month_to_date: dict[tuple[str, str], float] = defaultdict(float)
    previous: dict[str, float] = dict.fromkeys(accounts, 0.0)
    baseline, since = dict(previous), dict(previous)
    for day, costs in days.items():
        if day > today:
            continue
        for (account, service), usd in costs.items():
            if day == today:  # the partial day only names the month's series
                month_to_date[(account, service)] += 0.0
                continue
            if day >= this_month:
                month_to_date[(account, service)] += usd
            elif day >= last_month:
                previous[account] = previous.get(account, 0.0) + usd
            if day >= golden:
                since[account] = since.get(account, 0.0) + usd
            if day == golden:
                baseline[account] = baseline.get(account, 0.0) + usd

    daily = dict(days[last_day]) if last_day else {}
    return CostSummary(
        last_complete_day=last_day,
        daily=daily,
        month_to_date=dict(month_to_date),
        previous_month=previous,
        golden_date=baseline if golden in days and golden < today else {},
        since_golden_date=since if golden in days else {},
        month_to_date_total=sum(month_to_date.values()),
        days_elapsed=(today - this_month).days,
        last_complete_day_total=sum(daily.values()),
    )


def linear_month_forecast(summary: CostSummary, today: dt.date) -> float:
    """Month-to-date spread over the whole month at the same daily rate. On the 1st there is
    no complete day of the month yet, so the last complete day's total sets the rate."""
    if summary.days_elapsed:
        return summary.month_to_date_total / summary.days_elapsed * days_in_month(today)
    return summary.last_complete_day_total * days_in_month(today)
